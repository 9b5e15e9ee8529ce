"""The audit trail on SQLite and PostgreSQL: written with the change, append-only in the database, tamper-evident."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from opencdmo import domain
from opencdmo.adapters import scenario_file
from opencdmo.adapters.repositories import Scope
from opencdmo.bootstrap import App
from opencdmo.domain.audit import AuditEvent, BreakKind
from opencdmo.errors import Conflict, DomainError, Forbidden
from opencdmo.services import accounts, audit, editing, scenarios
from opencdmo.services.unit_of_work import retry_on_race

PASSWORD = "correct horse battery staple"


@pytest.fixture
def app_with_network(app: App, sample_text: str) -> App:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    return app


def _events(app: App) -> list[AuditEvent]:
    return audit.search(app.unit_of_work(), audit.AuditQuery(limit=audit.MAX_SEARCH_RESULTS))


def _edit(app: App) -> None:
    """Six events: a site's region and biosafety level, a new sponsor, an order's priority, a user, a token."""
    editing.update_site(
        app.unit_of_work(), "Site B Leiden", editing.SiteChanges(region="NL", biosafety_level=3), actor="qa.lead"
    )
    editing.add_sponsor(app.unit_of_work(), editing.SponsorDraft("Orbit Therapeutics"), actor="planner")
    editing.update_order(app.unit_of_work(), "PO-2027-001", editing.OrderChanges(priority=2), actor="planner")
    accounts.add_user(app.unit_of_work(), "ana", domain.Role.PLANNER, password=PASSWORD)
    accounts.issue_token(app.unit_of_work(), "ana", actor="admin")


def test_edits_write_one_event_per_changed_field_with_who_old_and_new(app_with_network: App) -> None:
    app = app_with_network
    before = datetime.now(UTC)
    _edit(app)
    events = _events(app)
    assert [event.sequence for event in events] == [1, 2, 3, 4, 5, 6]
    summary = [(e.username, e.action, e.record_type, e.record_id, e.field, e.old_value, e.new_value) for e in events]
    assert summary[:2] == [
        ("qa.lead", "change", "site", "Site B Leiden", "region", '"EU"', '"NL"'),
        ("qa.lead", "change", "site", "Site B Leiden", "biosafety_level", "2", "3"),
    ]
    assert summary[2] == ("planner", "create", "sponsor", "Orbit Therapeutics", None, None, '{"size": "small"}')
    assert summary[3] == ("planner", "change", "order", "PO-2027-001", "priority", "1", "2")
    assert summary[4][:4] == ("system", "create", "user", "ana")
    assert json.loads(events[4].new_value or "") == {
        "role": "planner",
        "sponsor": None,
        "active": True,
        "full_name": "ana",
    }
    assert summary[5][:4] == ("admin", "issue-token", "user", "ana")
    assert all(before <= event.occurred_at <= datetime.now(UTC) for event in events)
    assert all(PASSWORD not in (event.new_value or "") for event in events)
    assert audit.verify(app.unit_of_work()).checked == 6


def test_search_filters_by_record_user_and_time(app_with_network: App) -> None:
    app = app_with_network
    _edit(app)

    def sequences(**filters: object) -> list[int]:
        found = audit.search(app.unit_of_work(), audit.AuditQuery(**filters))  # type: ignore[arg-type]
        return [event.sequence for event in found]

    assert sequences(record_type="site") == [1, 2]
    assert sequences(record_type="order", record_id="PO-2027-001") == [4]
    assert sequences(username="planner") == [3, 4]
    assert sequences(since=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert sequences(until=datetime.now(UTC) + timedelta(minutes=1)) == [1, 2, 3, 4, 5, 6]
    assert sequences(limit=2) == [1, 2]


def test_sponsor_users_may_not_read_the_trail(app_with_network: App) -> None:
    app = app_with_network
    _edit(app)
    with app.unit_of_work() as uow:
        helix = uow.sponsors.get("Helix Vaccines")
        assert helix is not None
        scope = Scope(sponsor_id=helix.id)
    with pytest.raises(Forbidden):
        audit.search(app.unit_of_work(scope), audit.AuditQuery())
    with pytest.raises(Forbidden):
        audit.verify(app.unit_of_work(scope))


def test_a_failed_edit_writes_no_event(app_with_network: App) -> None:
    app = app_with_network
    with pytest.raises(DomainError):
        editing.update_site(app.unit_of_work(), "Site B Leiden", editing.SiteChanges(biosafety_level=9))

    def add_a_taken_sponsor() -> None:
        with app.unit_of_work() as uow:
            audit.record(uow, actor="qa.lead", action="create", record_type="sponsor", record_id="Helix Vaccines")
            uow.sponsors.add(domain.Sponsor(name="Helix Vaccines"))
            uow.commit()

    # The event is appended, then the commit fails: both roll back together.
    with pytest.raises(Conflict):
        add_a_taken_sponsor()
    # An event appended but never committed is gone too.
    with app.unit_of_work() as uow:
        audit.record(uow, actor="qa.lead", action="create", record_type="site", record_id="nowhere")
    assert _events(app) == []
    editing.add_sponsor(app.unit_of_work(), editing.SponsorDraft("Orbit Therapeutics"))
    assert [event.sequence for event in _events(app)] == [1]


def test_events_appended_in_one_transaction_chain_on_each_other(app_with_network: App) -> None:
    app = app_with_network
    with app.unit_of_work() as uow:
        first = audit.record(uow, actor="a", action="change", record_type="site", record_id="x", old=1, new=2)
        second = audit.record(uow, actor="a", action="change", record_type="site", record_id="x", old=2, new=3)
        uow.commit()
    assert (first.sequence, second.sequence, second.previous_hash) == (1, 2, first.hash)
    with app.unit_of_work() as uow:
        third = audit.record(uow, actor="a", action="change", record_type="site", record_id="x", old=3, new=4)
        uow.commit()
    assert (third.sequence, third.previous_hash) == (3, second.hash)
    assert _events(app) == [first, second, third]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET new_value = '\"forged\"' WHERE sequence = 2",
        "UPDATE audit_events SET username = 'nobody'",
        "DELETE FROM audit_events WHERE sequence = 3",
        "DELETE FROM audit_events",
    ],
)
def test_the_database_refuses_to_change_or_delete_events(app_with_network: App, statement: str) -> None:
    app = app_with_network
    _edit(app)
    with pytest.raises(DBAPIError, match="append-only"), app.engine.begin() as connection:
        connection.execute(text(statement))
    assert len(_events(app)) == 6
    assert audit.verify(app.unit_of_work()).intact


def test_postgresql_refuses_truncate(app_with_network: App) -> None:
    app = app_with_network
    if app.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    _edit(app)
    with pytest.raises(DBAPIError, match="append-only"), app.engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_events"))
    assert len(_events(app)) == 6


def _drop_triggers(connection: Connection) -> None:
    """What a DBA could do: the triggers only stop honest mistakes and the application's own users."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("DROP TRIGGER audit_events_no_update"))
        connection.execute(text("DROP TRIGGER audit_events_no_delete"))
    else:
        connection.execute(text("DROP TRIGGER audit_events_no_update_or_delete ON audit_events"))


def _tamper(app: App, *statements: str) -> audit.ChainVerdict:
    with app.engine.begin() as connection:
        _drop_triggers(connection)
        for statement in statements:
            connection.execute(text(statement))
    return audit.verify(app.unit_of_work(), batch_size=2)


def test_a_changed_value_is_detected_at_its_event(app_with_network: App) -> None:
    app = app_with_network
    _edit(app)
    verdict = _tamper(app, "UPDATE audit_events SET new_value = '\"DE\"' WHERE sequence = 1")
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (1, BreakKind.CHANGED)
    assert verdict.checked == 0


def test_a_changed_user_is_detected(app_with_network: App) -> None:
    app = app_with_network
    _edit(app)
    verdict = _tamper(app, "UPDATE audit_events SET username = 'someone.else' WHERE sequence = 5")
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (5, BreakKind.CHANGED)


def test_a_deleted_event_is_detected(app_with_network: App) -> None:
    app = app_with_network
    _edit(app)
    verdict = _tamper(app, "DELETE FROM audit_events WHERE sequence = 3")
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (4, BreakKind.MISSING)
    assert verdict.checked == 2


def test_swapped_event_contents_are_detected_at_the_first_of_them(app_with_network: App) -> None:
    app = app_with_network
    _edit(app)
    # Events 2 and 4 trade places: each row keeps its own content and hash under the other's number.
    verdict = _tamper(
        app,
        "UPDATE audit_events SET sequence = 100 WHERE sequence = 2",
        "UPDATE audit_events SET sequence = 2 WHERE sequence = 4",
        "UPDATE audit_events SET sequence = 4 WHERE sequence = 100",
    )
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (2, BreakKind.CHANGED)
    assert verdict.checked == 1


def test_a_renumbered_tail_after_a_deletion_is_detected(app_with_network: App) -> None:
    app = app_with_network
    _edit(app)
    verdict = _tamper(
        app,
        "DELETE FROM audit_events WHERE sequence = 6",
        "UPDATE audit_events SET sequence = 6 WHERE sequence = 5",
        "DELETE FROM audit_events WHERE sequence = 4",
        "UPDATE audit_events SET sequence = 4 WHERE sequence = 6",
    )
    assert verdict.first_break is not None
    assert (verdict.first_break.sequence, verdict.first_break.kind) == (4, BreakKind.CHANGED)


def test_concurrent_writers_never_fork_the_chain(app_with_network: App) -> None:
    """PostgreSQL serialises appends with an advisory lock, so every writer succeeds. SQLite has one writer at a
    time: a writer that read the tail while another was writing fails as a whole (a WriteRace) and nothing of it
    is stored, so retry_on_race runs it again. Either way every write lands and the chain stays one line."""
    app = app_with_network
    writers, edits = 4, 8
    start = threading.Barrier(writers)
    succeeded: list[int] = []
    refused: list[BaseException] = []

    @retry_on_race
    def change(writer: int, edit: int) -> None:
        with app.unit_of_work() as uow:
            uow.sites.list()  # read first, as a use case does
            audit.record(uow, actor=f"w{writer}", action="change", record_type="site", record_id=str(edit))
            uow.commit()

    def write(writer: int) -> None:
        start.wait()
        for edit in range(edits):
            try:
                change(writer, edit)
                succeeded.append(writer)
            except (DBAPIError, Conflict) as error:
                refused.append(error)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    verdict = audit.verify(app.unit_of_work())
    assert verdict.intact
    assert verdict.checked == len(succeeded)
    assert len(succeeded) + len(refused) == writers * edits
    assert refused == []
