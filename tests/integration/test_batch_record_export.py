"""The batch record export built from storage, on SQLite and PostgreSQL: every part of the record, signatures checked
against the current content (a direct database change shows them BROKEN: P11-14/P11-15), the sponsor's view of
its own released batch, the batch's audit trail and the chain verdict; and the audit trail's CSV and JSON export."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import Connection, text

from opencdmo.adapters import exports, scenario_file
from opencdmo.adapters.repositories import Scope
from opencdmo.bootstrap import App
from opencdmo.errors import Forbidden, NotFound
from opencdmo.services import audit, batch_record_export, deviations, disposition, qc, scenarios
from opencdmo.services.record_views import BatchRecordView
from tests import gmp_batches
from tests.gmp_batches import LOT


@pytest.fixture
def gmp(app: App, sample_text: str) -> App:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    gmp_batches.add_staff(app)
    return app


def _scope(app: App, sponsor: str) -> Scope:
    with app.unit_of_work() as uow:
        found = uow.sponsors.get(sponsor)
    assert found is not None
    assert found.id is not None
    return Scope(sponsor_id=found.id)


def _full_record(app: App) -> str:
    """A released batch with a correction, a closed deviation, a voided and a verified QC result; the deviation."""
    gmp_batches.approve_master(app)
    number = gmp_batches.execute(app, ph="7.5")
    assert number is not None
    gmp_batches.specify_qc(app)
    voided = gmp_batches.pass_qc(app, value="96.0")
    qc.void_result(app.unit_of_work(), voided, "wrong sample", actor="qc1")
    gmp_batches.pass_qc(app)
    gmp_batches.close_deviation(app, number)
    gmp_batches.review(app)
    gmp_batches.release(app)
    return number


def _execute(connection: Connection, statement: str) -> None:
    connection.execute(text(statement))


def test_the_export_holds_every_part_of_the_record(gmp: App) -> None:
    number = _full_record(gmp)
    view = batch_record_export.build(gmp.unit_of_work(), LOT, viewer="qa1")

    assert (view.lot_number, view.sponsor, view.order_number, view.process) == (
        LOT,
        "Helix Vaccines",
        "PO-2027-003",
        "mAb fed-batch 2000 L",
    )
    assert (view.master_record, view.status, view.generated_by) == ("mAb fed-batch v1", "released", "qa1")
    assert [(line.username, line.meaning, line.intact) for line in view.master_approval] == [("qa2", "approved", True)]
    assert [(entry.parameter, entry.value, entry.in_spec) for entry in view.entries] == [
        ("vial id", "WCB-0042", None),
        ("done", "yes", True),
        ("pH", "7.5", False),
    ]
    ph = view.entries[2]
    assert ph.critical
    assert ph.spec == "6.8 - 7.2 pH"
    assert ph.step_title == "Inoculate"
    assert ph.verification is not None
    assert (ph.verification.username, ph.verification.intact) == ("op2", True)
    [deviation] = view.deviations
    assert (deviation.number, deviation.status, deviation.root_cause) == (number, "closed", "pH probe drift")
    assert [(action.owner, action.status) for action in deviation.capa] == [("qa1", "done")]
    assert deviation.closure is not None
    assert (deviation.closure.username, deviation.closure.intact) == ("qa1", True)
    assert [(line.value, line.voided_reason, line.passed) for line in view.qc] == [
        ("96", "wrong sample", True),
        ("97.2", None, True),
    ]
    verification = view.qc[1].verification
    assert verification is not None
    assert (verification.printed_name, verification.intact) == ("Caleb Ng", True)
    assert [(line.meaning, line.username, line.intact) for line in view.signatures] == [
        ("reviewed", "qa1", True),
        ("released", "qp1", True),
    ]
    assert view.broken_signatures == 0
    assert view.audit_chain_intact
    ids = {line.record_id for line in view.audit_trail}
    assert {LOT, f"{LOT}/{number}", f"{LOT}/audit-review", f"{LOT}/step-2/pH"} <= ids
    assert all(record_id == LOT or record_id.startswith(f"{LOT}/") for record_id in ids)
    sequences = [line.sequence for line in view.audit_trail]
    assert sequences == sorted(sequences)
    document = json.loads(exports.to_json(view))
    assert document["broken_signatures"] == 0
    assert document["lot_number"] == LOT


def _broken(view: BatchRecordView) -> list[str]:
    return [f"{line.meaning}:{line.username}" for line in view.all_signatures() if not line.intact]


def test_a_signed_value_changed_in_the_database_shows_broken_signatures(gmp: App) -> None:
    gmp_batches.approve_master(gmp)
    gmp_batches.execute(gmp)
    gmp_batches.specify_qc(gmp)
    gmp_batches.pass_qc(gmp)
    gmp_batches.review(gmp)
    gmp_batches.release(gmp)
    assert _broken(batch_record_export.build(gmp.unit_of_work(), LOT, viewer="qa1")) == []

    with gmp.engine.begin() as connection:  # the step entry's value, after its verification
        _execute(connection, "UPDATE step_entries SET value = '6.9' WHERE parameter = 'pH'")
    view = batch_record_export.build(gmp.unit_of_work(), LOT, viewer="qa1")
    assert _broken(view) == ["verified:op2", "released:qp1"]

    with gmp.engine.begin() as connection:  # the QC result's value, after the release
        _execute(connection, "UPDATE qc_results SET value = 99.9")
    view = batch_record_export.build(gmp.unit_of_work(), LOT, viewer="qa1")
    assert _broken(view) == ["verified:op2", "verified:qc2", "released:qp1"]
    assert view.broken_signatures == 3
    assert "BROKEN" in exports.to_html(view)
    assert json.loads(exports.to_json(view))["broken_signatures"] == 3
    shown = disposition.get(gmp.unit_of_work(), LOT).signatures
    assert [(view.meaning.value, view.intact) for view in shown] == [("reviewed", True), ("released", False)]


def test_a_sponsor_exports_its_own_batch_once_released_and_never_another_sponsors(gmp: App) -> None:
    gmp_batches.ready_for_release(gmp)
    helix, northwind = _scope(gmp, "Helix Vaccines"), _scope(gmp, "Northwind Biologics")
    with pytest.raises(NotFound):  # in QC: not yet the sponsor's to read
        batch_record_export.build(gmp.unit_of_work(helix), LOT, viewer="hx")
    gmp_batches.release(gmp)

    own = batch_record_export.build(gmp.unit_of_work(helix), LOT, viewer="hx")
    staff = batch_record_export.build(gmp.unit_of_work(), LOT, viewer="qa1")
    assert own.audit_trail == staff.audit_trail
    assert own.audit_chain_intact
    assert own.signatures == staff.signatures
    assert own.entries == staff.entries
    with pytest.raises(NotFound):
        batch_record_export.build(gmp.unit_of_work(northwind), LOT, viewer="nw")
    # The repository refuses another sponsor's trail even when asked directly.
    with pytest.raises(Forbidden), gmp.unit_of_work(northwind) as uow:
        audit.batch_events(uow, LOT)
    with pytest.raises(Forbidden):
        audit.search(gmp.unit_of_work(helix), audit.AuditQuery(record_id=LOT))


def test_a_broken_chain_is_reported_to_staff_and_sponsor_alike(gmp: App) -> None:
    gmp_batches.ready_for_release(gmp)
    gmp_batches.release(gmp)
    with gmp.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            _execute(connection, "DROP TRIGGER audit_events_no_update")
        else:
            _execute(connection, "DROP TRIGGER audit_events_no_update_or_delete ON audit_events")
        _execute(connection, "UPDATE audit_events SET reason = 'forged' WHERE sequence = 1")
    assert not batch_record_export.build(gmp.unit_of_work(), LOT, viewer="qa1").audit_chain_intact
    helix = _scope(gmp, "Helix Vaccines")
    assert not batch_record_export.build(gmp.unit_of_work(helix), LOT, viewer="hx").audit_chain_intact


def test_a_batch_without_a_batch_record_exports_what_it_has_and_says_so(gmp: App) -> None:
    deviation = deviations.open(
        gmp.unit_of_work(), lot="NWB220-27-001", severity="minor", title="Label misprint", description="x", actor="qa1"
    )
    view = batch_record_export.build(gmp.unit_of_work(), "NWB220-27-001", viewer="qa1")
    assert (view.master_record, view.entries, view.master_approval) == (batch_record_export.NO_BATCH_RECORD, (), ())
    assert (view.status, view.started_at) == ("released", None)
    assert [line.number for line in view.deviations] == [deviation.number]
    assert [line.record_id for line in view.audit_trail] == [deviation.record_id]
    northwind = _scope(gmp, "Northwind Biologics")
    assert batch_record_export.build(gmp.unit_of_work(northwind), "NWB220-27-001", viewer="nw").sponsor == (
        "Northwind Biologics"
    )
    with pytest.raises(NotFound):
        batch_record_export.build(gmp.unit_of_work(), "NO-SUCH-LOT", viewer="qa1")


def test_the_batch_trail_is_the_lot_and_what_is_under_it_only(gmp: App) -> None:
    with gmp.unit_of_work() as uow:
        for record_id in (LOT, f"{LOT}/x", f"{LOT}1/y", "HXV7-27-00", "other"):
            audit.record(uow, actor="qa1", action="change", record_type="test", record_id=record_id)
        uow.commit()
    assert [event.record_id for event in audit.for_batch(gmp.unit_of_work(), LOT)] == [LOT, f"{LOT}/x"]
    tree = audit.search(gmp.unit_of_work(), audit.AuditQuery(record_id=LOT, record_tree=True, newest_first=True))
    assert [event.record_id for event in tree] == [f"{LOT}/x", LOT]
    page = audit.search(gmp.unit_of_work(), audit.AuditQuery(record_id=LOT, record_tree=True, before=tree[0].sequence))
    assert [event.record_id for event in page] == [LOT]


def test_audit_events_export_as_csv_and_json(gmp: App) -> None:
    with gmp.unit_of_work() as uow:
        audit.record(
            uow, actor="qa1", action="change", record_type="test", record_id="r1", new=-5, reason="=HYPERLINK()"
        )
        audit.record(uow, actor="qa1", action="change", record_type="test", record_id="r2", old="é", new="ü")
        uow.commit()
    events = audit.search(gmp.unit_of_work(), audit.AuditQuery(record_type="test"))

    rows = list(csv.reader(io.StringIO(audit.export_csv(events))))
    assert rows[0] == list(audit.EXPORT_COLUMNS)
    assert [row[5] for row in rows[1:]] == ["r1", "r2"]
    assert rows[1][8] == "-5"  # a negative number stays a number
    assert rows[1][9] == "'=HYPERLINK()"  # a formula is not run by a spreadsheet
    assert rows[2][7:9] == ['"é"', '"ü"']

    document = json.loads(audit.export_json(events))
    assert document["schema"] == "opencdmo.audit-trail/1"
    assert [event["record_id"] for event in document["events"]] == ["r1", "r2"]
    assert document["events"][0]["hash"] == events[0].hash
    assert document["events"][0]["occurred_at"].endswith("+00:00")
