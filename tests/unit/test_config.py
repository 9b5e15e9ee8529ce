"""Settings and database URLs."""

from __future__ import annotations

import pytest

from opencdmo.adapters import db
from opencdmo.config import Settings
from opencdmo.errors import ConfigurationError


def test_the_default_is_an_sqlite_file_under_var() -> None:
    assert Settings.from_environment({}).database_url == "sqlite:///var/opencdmo.sqlite3"


def test_the_data_dir_moves_the_sqlite_file() -> None:
    settings = Settings.from_environment({"OPENCDMO_DATA_DIR": "/srv/opencdmo"})
    assert settings.database_url == "sqlite:////srv/opencdmo/opencdmo.sqlite3"


def test_the_database_url_always_wins() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    settings = Settings.from_environment({"OPENCDMO_DATABASE_URL": url, "OPENCDMO_DATA_DIR": "/srv/opencdmo"})
    assert settings.database_url == url


def test_a_blank_database_url_falls_back_to_the_default() -> None:
    assert Settings.from_environment({"OPENCDMO_DATABASE_URL": "  "}).database_url.startswith("sqlite:///")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/test", "unsupported database 'mysql'"),
        ("not a url", "cannot read the database URL"),
    ],
)
def test_unusable_urls_are_configuration_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        db.parse_url(url)


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    assert db.parse_url("postgresql://postgres@127.0.0.1/test").drivername == "postgresql+psycopg"


def test_describing_a_database_hides_its_password() -> None:
    engine = db.make_engine("postgresql+psycopg://planner:s3cret@127.0.0.1:5432/test")
    assert "s3cret" not in db.describe(engine)
    engine.dispose()
