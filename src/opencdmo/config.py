"""Settings, read from the environment once by :func:`opencdmo.bootstrap.bootstrap`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DATABASE_URL_VARIABLE = "OPENCDMO_DATABASE_URL"
DATA_DIR_VARIABLE = "OPENCDMO_DATA_DIR"
DEFAULT_DATA_DIR = Path("var")
DEFAULT_DATABASE_FILE = "opencdmo.sqlite3"


@dataclass(frozen=True)
class Settings:
    database_url: str

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """``OPENCDMO_DATABASE_URL`` always wins; otherwise an SQLite file in ``OPENCDMO_DATA_DIR`` (./var)."""
        env = os.environ if environ is None else environ
        url = env.get(DATABASE_URL_VARIABLE, "").strip()
        if url:
            return cls(database_url=url)
        data_dir = Path(env.get(DATA_DIR_VARIABLE, "").strip() or DEFAULT_DATA_DIR)
        return cls(database_url=f"sqlite:///{data_dir / DEFAULT_DATABASE_FILE}")
