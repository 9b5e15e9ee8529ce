"""The SQLAlchemy unit of work: one session, one transaction, repositories bound to the caller's scope."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from opencdmo.adapters import repositories
from opencdmo.adapters.repositories import Scope
from opencdmo.errors import Conflict, WriteRace
from opencdmo.services.unit_of_work import UnitOfWork, commits


def _lost_a_write_race(error: DBAPIError) -> bool:
    """Whether SQLite refused this transaction because another writer went first: the database was locked, or
    two writers appended the same audit sequence number (each read the chain's tail before the other wrote)."""
    text = str(error.orig).lower()
    return "database is locked" in text or "audit_events.sequence" in text or "pk_audit_events" in text


class SqlAlchemyUnitOfWork(UnitOfWork):
    audit: repositories.AuditRepository

    def __init__(self, session_factory: sessionmaker[Session], scope: Scope | None = None) -> None:
        self.session_factory = session_factory
        self.scope = scope or Scope.staff()
        self.sponsor_id = self.scope.sponsor_id
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use it in a 'with' block")
        return self._session

    def __enter__(self) -> Self:
        session = self.session_factory()
        self._session = session
        self.product_families = repositories.ProductFamilyRepository(session, self.scope)
        self.processes = repositories.ProcessRepository(session, self.scope)
        self.sites = repositories.SiteRepository(session, self.scope)
        self.sponsors = repositories.SponsorRepository(session, self.scope)
        self.programs = repositories.ProgramRepository(session, self.scope)
        self.orders = repositories.OrderRepository(session, self.scope)
        self.batches = repositories.BatchRepository(session, self.scope)
        self.schedules = repositories.ScheduleRepository(session, self.scope)
        self.store = repositories.ScenarioStore(session, self.scope)
        self.users = repositories.UserRepository(session, self.scope)
        self.tokens = repositories.TokenRepository(session, self.scope)
        self.audit = repositories.AuditRepository(session, self.scope)
        self.training = repositories.TrainingRepository(session, self.scope)
        self.signatures = repositories.SignatureRepository(session, self.scope)
        self.master_records = repositories.MasterRecordRepository(session, self.scope)
        self.batch_records = repositories.BatchRecordRepository(session, self.scope)
        self.deviations = repositories.DeviationRepository(session, self.scope)
        self.instruments = repositories.InstrumentRepository(session, self.scope)
        self.qc = repositories.QcRepository(session, self.scope)
        return super().__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc, traceback)
        finally:
            self.session.close()
            self._session = None
        if isinstance(exc, DBAPIError) and _lost_a_write_race(exc):
            raise WriteRace from exc

    def reread(self) -> None:
        try:
            self.session.flush()
        except IntegrityError as error:
            self.session.rollback()
            raise Conflict(
                "the change clashes with stored data: a name or number that must be unique is taken"
            ) from error
        # Expired, every loaded object is read again from the database on its next access (in this transaction).
        self.session.expire_all()

    def commit(self) -> None:
        self.audit.forget_tail()
        try:
            self.session.commit()
        except IntegrityError as error:
            self.session.rollback()
            if _lost_a_write_race(error):
                raise WriteRace from error
            # The driver's text names tables and values, possibly another sponsor's: keep it out of the
            # message (it stays on the exception's cause for logs).
            raise Conflict(
                "the change clashes with stored data: a name or number that must be unique is taken"
            ) from error
        commits.bump()

    def rollback(self) -> None:
        # Detach first: a rollback would expire every loaded object, and the use case's caller still reads
        # them (an export, a summary) after the session is gone. Many-to-one links load eagerly and
        # collections are loaded by the repositories, so detached objects are complete.
        self.session.expunge_all()
        self.session.rollback()
        self.audit.forget_tail()
