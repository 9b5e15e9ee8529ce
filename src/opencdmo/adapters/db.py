"""Database engines and schema migrations for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from opencdmo.errors import ConfigurationError

SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def parse_url(database_url: str) -> URL:
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise ConfigurationError(f"cannot read the database URL {database_url!r}") from None
    if url.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ConfigurationError(
            f"unsupported database {url.get_backend_name()!r} in the database URL; "
            f"use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
        )
    if url.drivername == "postgresql":
        # Name the driver: SQLAlchemy's default for a bare "postgresql" differs between releases.
        url = url.set(drivername="postgresql+psycopg")
    return url


def _enforce_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    """Readers and the one writer no longer block each other, and a commit costs one sync of the log instead of
    several of a rollback journal; ``synchronous`` stays FULL, so a committed transaction survives a power cut."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def make_engine(database_url: str, **options: Any) -> Engine:
    """An engine for the URL. Creates the folder of an SQLite file; never connects by itself."""
    url = parse_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _enforce_sqlite_foreign_keys)
        if url.database and url.database != ":memory:":
            event.listen(engine, "connect", _write_ahead_log)
        return engine
    return create_engine(url, pool_pre_ping=True, **options)


def describe(engine: Engine) -> str:
    """The database in words, without its password."""
    return engine.url.render_as_string(hide_password=True)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("opencdmo") / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the newest by default); safe to run on an up-to-date database."""
    try:
        command.upgrade(alembic_config(engine), revision)
    except OperationalError as error:
        raise ConfigurationError(f"cannot reach the database {describe(engine)}: {error.orig}") from None


def schema_is_current(engine: Engine) -> bool:
    """Whether the database has been initialised with every migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return False
            current = MigrationContext.configure(connection).get_current_heads()
    except OperationalError as error:
        raise ConfigurationError(f"cannot reach the database {describe(engine)}: {error.orig}") from None
    return set(current) == set(script.get_heads())
