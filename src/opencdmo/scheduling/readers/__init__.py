"""Readers for public instance formats: FJSPLIB, JSSP (OR-Library) and PyJobShop ProblemData JSON."""

from __future__ import annotations

from pathlib import Path

from opencdmo.scheduling.errors import ReaderError
from opencdmo.scheduling.problem import Problem
from opencdmo.scheduling.readers.fjsp import read_fjsp
from opencdmo.scheduling.readers.jssp import read_jssp
from opencdmo.scheduling.readers.pyjobshop_json import read_pyjobshop

FORMATS = ("fjsp", "jssp", "pyjobshop")
_BY_SUFFIX = {".fjs": "fjsp", ".txt": "fjsp", ".json": "pyjobshop", ".jss": "jssp", ".jsp": "jssp"}


def read_problem(path: Path, fmt: str | None = None) -> Problem:
    """Read an instance file; ``fmt`` is one of :data:`FORMATS`, guessed from the suffix when omitted.

    ``.txt`` is read as FJSPLIB (the benchmark folders use it); give ``jssp`` for OR-Library job shops.
    """
    chosen = fmt or _BY_SUFFIX.get(path.suffix.lower())
    if chosen is None:
        raise ReaderError(
            f"cannot tell the format from {path.suffix!r}; give one of {', '.join(FORMATS)}", path=str(path)
        )
    if chosen not in FORMATS:
        raise ReaderError(f"unknown format {chosen!r}; choose one of {', '.join(FORMATS)}", path=str(path))
    try:
        text_reader = {"fjsp": read_fjsp, "jssp": read_jssp, "pyjobshop": read_pyjobshop}[chosen]
        return text_reader(path)
    except OSError as exc:
        raise ReaderError(f"cannot read the file: {exc.strerror}", path=str(path)) from exc
