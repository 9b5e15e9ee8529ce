"""Shared fixtures: the mapped domain, databases (SQLite always, PostgreSQL when configured) and scenarios.

PostgreSQL tests run whenever OPENCDMO_TEST_POSTGRES_URL is set (CI sets it); each test gets a schema of its
own, dropped afterwards, so tests never see each other's rows and the server's database stays clean.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine, text

from opencdmo.adapters import db, orm
from opencdmo.bootstrap import App, bootstrap
from opencdmo.config import Settings
from opencdmo.services import accounts

POSTGRES_URL_VARIABLE = "OPENCDMO_TEST_POSTGRES_URL"
REPOSITORY = Path(__file__).resolve().parent.parent
SAMPLE_SCENARIO = REPOSITORY / "docs" / "examples" / "small-network.yaml"

# Domain objects must be created after the mapping exists to be storable, so map once before any test.
orm.start_mappers()


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


def pytest_report_header(config: pytest.Config) -> str:
    if postgres_url():
        return f"PostgreSQL tests: on ({POSTGRES_URL_VARIABLE} is set)"
    return f"PostgreSQL tests: SKIPPED, set {POSTGRES_URL_VARIABLE} to run them (CI does)"


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def _postgres_schema_url(base_url: str, schema: str) -> str:
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend, as a URL (so CLI tests can pass it through the environment)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'opencdmo.sqlite3'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_URL_VARIABLE}")
    if "app" in request.fixturenames:
        # A migrated database is wanted: clone the session's migrated template (0.1 s instead of 1 s of DDL).
        yield from _clone_of(base, request.getfixturevalue("migrated_postgres_template"))
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(db.parse_url(base))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(base, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _database_url(base: str, name: str) -> str:
    return db.parse_url(base).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def migrated_postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated to the newest revision once per session (per xdist worker)."""
    base = postgres_url()
    assert base is not None
    name = f"tpl_{uuid.uuid4().hex[:12]}"
    admin = create_engine(db.parse_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = db.make_engine(_database_url(base, name))
    db.upgrade(engine)
    engine.dispose()  # a template database must have no connections while it is copied
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _clone_of(base: str, template: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(db.parse_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY WAL_LOG'))
    try:
        yield _database_url(base, name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def empty_engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to the newest revision once per session: copying it is much cheaper than
    running every migration for each test (SQLite rebuilds altered tables)."""
    path = tmp_path_factory.mktemp("template") / "migrated.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
    engine.dispose()
    return path


@pytest.fixture
def app(database_url: str, request: pytest.FixtureRequest) -> Iterator[App]:
    """The application on a migrated, empty database of each backend."""
    if database_url.startswith("sqlite:///"):
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), database_url.removeprefix("sqlite:///"))
    application = bootstrap(Settings(database_url=database_url))
    db.upgrade(application.engine)  # a no-op on the copied SQLite template; migrates a PostgreSQL schema
    yield application
    application.engine.dispose()


@pytest.fixture
def sample_text() -> str:
    return SAMPLE_SCENARIO.read_text(encoding="utf-8")


PRODUCTION_HASHES = "production_hashes"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{PRODUCTION_HASHES}: hash passwords with the production argon2 cost")


@pytest.fixture(autouse=True)
def cheap_password_hashes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 still, at its lowest cost: the suite hashes and verifies thousands of passwords, and the production
    cost (tens of milliseconds each, on purpose) would dominate its run time. Tests marked
    ``production_hashes`` keep the real hasher (one checks its parameters)."""
    if request.node.get_closest_marker(PRODUCTION_HASHES) is None:
        monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
