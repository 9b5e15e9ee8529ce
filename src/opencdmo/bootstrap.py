"""The composition root: settings → engine → session factory → unit of work. Nothing connects at import."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from opencdmo.adapters import db, orm
from opencdmo.adapters.repositories import Scope
from opencdmo.adapters.unit_of_work import SqlAlchemyUnitOfWork
from opencdmo.config import Settings


@dataclass(frozen=True)
class App:
    """What an entrypoint needs: the engine (for migrations and status) and a unit-of-work factory."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]

    def unit_of_work(self, scope: Scope | None = None) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.session_factory, scope)

    def close(self) -> None:
        """Release every pooled database connection."""
        self.engine.dispose()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def bootstrap(settings: Settings | None = None, engine: Engine | None = None) -> App:
    """Build the application from settings (the environment by default); tests pass their own engine."""
    settings = settings or Settings.from_environment()
    orm.start_mappers()
    engine = engine or db.make_engine(settings.database_url)
    session_factory = sessionmaker(bind=engine, expire_on_commit=False)
    return App(settings=settings, engine=engine, session_factory=session_factory)
