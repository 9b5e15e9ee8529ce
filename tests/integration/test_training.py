"""Training records (P11-09) and the checked import (A11-01) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from opencdmo import domain
from opencdmo.adapters import scenario_file
from opencdmo.adapters.repositories import Scope
from opencdmo.bootstrap import App
from opencdmo.errors import Conflict, DomainError, Forbidden
from opencdmo.services import accounts, audit, scenarios, training
from tests.conftest import SAMPLE_SCENARIO

PASSWORD = "correct horse battery staple"
NOW = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


def _clock() -> datetime:
    return NOW


@pytest.fixture
def app_with_users(app: App, sample_text: str) -> App:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    accounts.add_user(app.unit_of_work(), "op.jones", domain.Role.OPERATOR, password=PASSWORD)
    accounts.add_user(app.unit_of_work(), "qc.kim", domain.Role.QC_ANALYST, password=PASSWORD)
    accounts.add_user(app.unit_of_work(), "hx", domain.Role.SPONSOR, sponsor_name="Helix Vaccines", password=PASSWORD)
    return app


def _grant(app: App, username: str, procedure: str, trained_on: date, until: date) -> domain.TrainingRecord:
    return training.grant(
        app.unit_of_work(), username, procedure, trained_on=trained_on, valid_until=until, actor="qa.lead", now=_clock
    )


def test_training_is_stored_audited_and_checked(app_with_users: App) -> None:
    app = app_with_users
    _grant(app, "op.jones", "MBR-MAB-DS", date(2026, 1, 10), date(2026, 7, 10))
    _grant(app, "op.jones", "MBR-MAB-DS", date(2027, 1, 10), date(2028, 1, 10))
    _grant(app, "qc.kim", "QCM-HPLC-ASSAY", date(2026, 1, 10), date(2027, 2, 1))
    history = training.of_user(app.unit_of_work(), "op.jones")
    assert [(r.procedure, r.trained_on, r.valid_until, r.recorded_by) for r in history] == [
        ("MBR-MAB-DS", date(2026, 1, 10), date(2026, 7, 10), "qa.lead"),
        ("MBR-MAB-DS", date(2027, 1, 10), date(2028, 1, 10), "qa.lead"),
    ]
    assert history[0].recorded_at == NOW
    rows = training.matrix(app.unit_of_work(), date(2027, 3, 1))
    assert [(r.username, r.procedure, r.status.value) for r in rows] == [
        ("op.jones", "MBR-MAB-DS", "current"),
        ("qc.kim", "QCM-HPLC-ASSAY", "expired"),
    ]
    with app.unit_of_work() as uow:
        training.require_current(uow, "op.jones", "MBR-MAB-DS", on=date(2027, 3, 1))
        with pytest.raises(Forbidden, match=r"qc\.kim's training on QCM-HPLC-ASSAY expired on 2027-02-01"):
            training.require_current(uow, "qc.kim", "QCM-HPLC-ASSAY", on=date(2027, 3, 1))
        with pytest.raises(Forbidden, match=r"qc\.kim has no training on MBR-MAB-DS"):
            training.require_current(uow, "qc.kim", "MBR-MAB-DS", on=date(2027, 3, 1))
    events = audit.search(app.unit_of_work(), audit.AuditQuery(record_type="training"))
    assert [(e.username, e.action, e.record_id) for e in events] == [
        ("qa.lead", "create", "op.jones/MBR-MAB-DS"),
        ("qa.lead", "create", "op.jones/MBR-MAB-DS"),
        ("qa.lead", "create", "qc.kim/QCM-HPLC-ASSAY"),
    ]
    assert json.loads(events[2].new_value or "") == {"trained_on": "2026-01-10", "valid_until": "2027-02-01"}
    assert audit.verify(app.unit_of_work()).intact


def test_sponsors_neither_hold_nor_read_training(app_with_users: App) -> None:
    app = app_with_users
    with pytest.raises(DomainError, match="sponsor user"):
        _grant(app, "hx", "MBR-MAB-DS", date(2027, 1, 10), date(2028, 1, 10))
    with app.unit_of_work() as uow:
        helix = uow.sponsors.get("Helix Vaccines")
        assert helix is not None
        scope = Scope(sponsor_id=helix.id)
    with pytest.raises(Forbidden):
        training.matrix(app.unit_of_work(scope), date(2027, 3, 1))
    with pytest.raises(Forbidden):
        training.of_user(app.unit_of_work(scope), "op.jones")


@pytest.mark.parametrize(
    "statement",
    ["UPDATE training_records SET valid_until = '2099-01-01'", "DELETE FROM training_records"],
)
def test_the_database_refuses_to_change_or_delete_training_records(app_with_users: App, statement: str) -> None:
    app = app_with_users
    _grant(app, "op.jones", "MBR-MAB-DS", date(2027, 1, 10), date(2028, 1, 10))
    with pytest.raises(DBAPIError, match="never changed or deleted"), app.engine.begin() as connection:
        connection.execute(text(statement))
    assert [r.valid_until for r in training.of_user(app.unit_of_work(), "op.jones")] == [date(2028, 1, 10)]


# The checked import ------------------------------------------------------------------------------------------------


def _import(app: App, *, replace: bool = False) -> scenarios.ImportReport:
    return scenarios.import_checked(
        app.unit_of_work(),
        scenario_file.read_scenario(SAMPLE_SCENARIO),
        source=SAMPLE_SCENARIO.name,
        document=scenario_file.scenario_document,
        replace=replace,
        actor="ana",
    )


def test_a_checked_import_stores_counts_hashes_and_one_event(app: App) -> None:
    report = _import(app)
    expected = scenarios.fingerprint(scenario_file.scenario_document(scenario_file.read_scenario(SAMPLE_SCENARIO)))
    assert [(c.kind, c.stored_count, c.stored_sha256) for c in report.checks] == [
        (kind, *expected[kind]) for kind in scenarios.KINDS
    ]
    assert all(check.matches for check in report.checks)
    assert report.row_counts["suites"] == 6
    (event,) = audit.search(app.unit_of_work(), audit.AuditQuery())
    assert (event.username, event.action, event.record_type, event.record_id) == (
        "ana",
        "import",
        "scenario",
        "small-network.yaml",
    )
    evidence = json.loads(event.new_value or "")
    assert evidence == {
        "replace": False,
        "kinds": {kind: {"count": count, "sha256": digest} for kind, (count, digest) in expected.items()},
    }
    again = _import(app, replace=True)
    assert all(check.matches for check in again.checks)
    events = audit.search(app.unit_of_work(), audit.AuditQuery(record_type="scenario"))
    assert [json.loads(e.new_value or "")["replace"] for e in events] == [False, True]


def _corrupt_suites_on_insert(app: App) -> None:
    """A storage fault: the database doubles every suite's scale as it stores it."""
    with app.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER corrupt_suites AFTER INSERT ON suites "
                    "BEGIN UPDATE suites SET scale = scale * 2 WHERE id = NEW.id; END"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE FUNCTION corrupt_suites() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN NEW.scale := NEW.scale * 2; RETURN NEW; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER corrupt_suites BEFORE INSERT ON suites "
                    "FOR EACH ROW EXECUTE FUNCTION corrupt_suites()"
                )
            )


def test_a_checked_import_refuses_what_the_database_stored_differently(app: App) -> None:
    _corrupt_suites_on_insert(app)
    with pytest.raises(Conflict, match=r"differs from the file for suites \(suites: 6 in the file") as refused:
        _import(app)
    assert "small-network.yaml" in str(refused.value)
    with app.unit_of_work() as uow:
        assert uow.store.is_empty()
    assert audit.search(app.unit_of_work(), audit.AuditQuery()) == []
