"""Deviations with CAPA, and QC with instruments: the use cases on SQLite and PostgreSQL, audited and signed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from opencdmo import domain
from opencdmo.adapters import scenario_file
from opencdmo.adapters.repositories import Scope
from opencdmo.bootstrap import App
from opencdmo.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorized
from opencdmo.services import accounts, audit, deviations, qc, scenarios, training
from opencdmo.services.signatures import Credentials
from opencdmo.services.unit_of_work import UnitOfWork

AT = datetime(2027, 3, 1, 8, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
IN_QC = "NWB220-27-002"  # Vial fill 10 mL, in QC
RELEASED = "NWB220-27-001"  # Vial fill 10 mL, released
IN_PROGRESS = "NWB101-27-001"
FILL = "Vial fill 10 mL"
ASSAY = domain.QcTest("Assay", "QCM-HPLC-ASSAY", "%", low=95.0, high=105.0)
ENDOTOXIN = domain.QcTest("Endotoxin", "QCM-LAL", "EU/mL", high=0.5)


def clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


@dataclass
class Lab:
    app: App

    def uow(self, sponsor: str | None = None) -> UnitOfWork:
        if sponsor is None:
            return self.app.unit_of_work()
        with self.app.unit_of_work() as uow:
            found = uow.sponsors.get(sponsor)
            assert found is not None
            sponsor_id = found.id
        return self.app.unit_of_work(Scope(sponsor_id=sponsor_id))

    def credentials(self, username: str, password: str = PASSWORD) -> Credentials:
        return Credentials(password=password, username=username)

    def events(self, record_id: str) -> list[tuple[str, str, str | None, str | None, str | None]]:
        found = audit.search(self.app.unit_of_work(), audit.AuditQuery(record_id=record_id))
        return [(event.username, event.action, event.field, event.old_value, event.new_value) for event in found]

    def record(self, test: str, value: str, instrument: str = "HPLC-01", actor: str = "qc1") -> qc.RecordedResult:
        return qc.record_result(self.uow(), IN_QC, test, value, instrument, actor=actor, now=clock(AT))


@pytest.fixture
def lab(app: App, sample_text: str) -> Lab:
    """The sample network, two trained QC analysts, QA, an operator, instruments and the fill's specification."""
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    before = clock(AT - timedelta(days=10))
    for username, role in (
        ("qc1", domain.Role.QC_ANALYST),
        ("qc2", domain.Role.QC_ANALYST),
        ("qc3", domain.Role.QC_ANALYST),
        ("qa1", domain.Role.QA),
        ("op1", domain.Role.OPERATOR),
    ):
        accounts.add_user(app.unit_of_work(), username, role, password=PASSWORD, now=before)
    accounts.add_user(
        app.unit_of_work(), "nw", domain.Role.SPONSOR, sponsor_name="Northwind Biologics", password=PASSWORD, now=before
    )
    for username in ("qc1", "qc2"):
        for method in ("QCM-HPLC-ASSAY", "QCM-LAL"):
            training.grant(
                app.unit_of_work(),
                username,
                method,
                trained_on=date(2027, 1, 1),
                valid_until=date(2028, 1, 1),
                actor="qa1",
                now=before,
            )
    qc.register(
        app.unit_of_work(), "HPLC-01", "Agilent 1260", "HPLC", date(2027, 1, 1), date(2027, 12, 31), actor="qa1"
    )
    qc.register(app.unit_of_work(), "LAL-01", "Endosafe", "LAL reader", date(2026, 1, 1), date(2027, 2, 1), actor="qa1")
    qc.set_specification(app.unit_of_work(), FILL, [ASSAY, ENDOTOXIN], actor="qa1", now=before)
    return Lab(app)


# Instruments -----------------------------------------------------------------------------------------------------


def test_an_instrument_is_registered_once_and_its_recalibration_is_audited_old_to_new(lab: Lab) -> None:
    with pytest.raises(Conflict, match="HPLC-01 is already registered"):
        qc.register(lab.uow(), "HPLC-01", "Another", "HPLC", date(2027, 1, 1), date(2027, 6, 1), actor="qa1")
    qc.recalibrate(lab.uow(), "LAL-01", date(2027, 3, 1), date(2028, 3, 1), actor="qc1", now=clock(AT))
    instrument = qc.instrument(lab.uow(), "LAL-01")
    assert (instrument.calibrated_on, instrument.calibration_due) == (date(2027, 3, 1), date(2028, 3, 1))
    assert lab.events("LAL-01")[1:] == [
        ("qc1", "change", "calibrated_on", '"2026-01-01"', '"2027-03-01"'),
        ("qc1", "change", "calibration_due", '"2027-02-01"', '"2028-03-01"'),
    ]
    assert lab.events("LAL-01")[0][:2] == ("qa1", "create")
    with pytest.raises(DomainError, match="falls due after"):
        qc.recalibrate(lab.uow(), "LAL-01", date(2027, 3, 1), date(2027, 3, 1), actor="qc1")
    qc.retire(lab.uow(), "LAL-01", reason="broken lamp", actor="qa1")
    assert lab.events("LAL-01")[-1] == ("qa1", "change", "active", "true", "false")
    with pytest.raises(DomainError, match="retired"):
        qc.recalibrate(lab.uow(), "LAL-01", date(2027, 4, 1), date(2028, 4, 1), actor="qc1")
    with pytest.raises(NotFound):
        qc.recalibrate(lab.uow(), "NOPE-1", date(2027, 4, 1), date(2028, 4, 1), actor="qc1")


def test_the_calibration_status_says_valid_due_soon_expired_and_retired() -> None:
    instrument = domain.Instrument("PH-01", "pH meter", "pH", date(2027, 1, 1), date(2027, 6, 30))
    assert qc.calibration_status(instrument, date(2027, 3, 1)) is qc.CalibrationStatus.VALID
    assert qc.calibration_status(instrument, date(2027, 6, 1)) is qc.CalibrationStatus.DUE_SOON
    assert qc.calibration_status(instrument, date(2027, 6, 30)) is qc.CalibrationStatus.DUE_SOON
    assert qc.calibration_status(instrument, date(2027, 7, 1)) is qc.CalibrationStatus.EXPIRED
    assert qc.calibration_status(instrument, date(2026, 12, 31)) is qc.CalibrationStatus.NOT_YET
    instrument.retire()
    assert qc.calibration_status(instrument, date(2027, 3, 1)) is qc.CalibrationStatus.RETIRED


def test_a_sponsor_cannot_see_or_touch_the_instrument_register(lab: Lab) -> None:
    with pytest.raises(Forbidden):
        qc.instruments(lab.uow("Northwind Biologics"))
    with pytest.raises(Forbidden):
        qc.register(lab.uow("Northwind Biologics"), "X-1", "X", "X", date(2027, 1, 1), date(2027, 2, 1), actor="nw")
    assert [item.code for item in qc.instruments(lab.uow())] == ["HPLC-01", "LAL-01"]


# Specifications --------------------------------------------------------------------------------------------------


def test_a_specification_is_set_and_changed_with_its_audit_trail(lab: Lab) -> None:
    assert [test.name for test in qc.specification(lab.uow(), FILL).tests] == ["Assay", "Endotoxin"]
    tighter = domain.QcTest("Assay", "QCM-HPLC-ASSAY", "%", low=98.0, high=102.0)
    qc.set_specification(lab.uow(), FILL, [tighter], actor="qa1", now=clock(AT))
    assert qc.specification(lab.uow(), FILL).tests == [tighter]
    [created, changed] = lab.events(FILL)
    assert created[:2] == ("qa1", "create")
    assert changed[:3] == ("qa1", "change", "tests")
    assert changed[3] is not None
    assert "105" in changed[3]
    assert "Endotoxin" in changed[3]
    assert changed[4] is not None
    assert "102" in changed[4]
    assert "Endotoxin" not in changed[4]
    with pytest.raises(DomainError, match="at least one test"):
        qc.set_specification(lab.uow(), FILL, [], actor="qa1")
    with pytest.raises(DomainError, match="Assay twice"):
        qc.set_specification(lab.uow(), FILL, [ASSAY, ASSAY], actor="qa1")
    with pytest.raises(NotFound):
        qc.set_specification(lab.uow(), "No such process", [ASSAY], actor="qa1")
    with pytest.raises(NotFound):
        qc.specification(lab.uow(), "mAb fed-batch 2000 L")


# Recording results -----------------------------------------------------------------------------------------------


def test_a_result_on_an_instrument_whose_calibration_expired_is_refused_with_the_reason(lab: Lab) -> None:
    with pytest.raises(DomainError, match=r"instrument LAL-01's calibration expired on 2027-02-01"):
        lab.record("Endotoxin", "0.1", instrument="LAL-01")
    with pytest.raises(DomainError, match="no instrument 'NOPE-1' is registered"):
        lab.record("Endotoxin", "0.1", instrument="NOPE-1")
    with lab.uow() as uow:
        assert uow.qc.results(IN_QC) == []
    assert lab.events(f"{IN_QC}/qc/Endotoxin#1") == []  # a refused result leaves no trace


def test_a_result_is_refused_unless_the_batch_is_completed_or_in_qc(lab: Lab) -> None:
    for lot in (IN_PROGRESS, RELEASED):
        with pytest.raises(DomainError, match="while it is completed or in QC"):
            qc.record_result(lab.uow(), lot, "Assay", "99", "HPLC-01", actor="qc1", now=clock(AT))
    with pytest.raises(NotFound):
        qc.record_result(lab.uow(), "NOPE-1", "Assay", "99", "HPLC-01", actor="qc1", now=clock(AT))


def test_a_result_needs_a_test_of_the_specification_and_a_number(lab: Lab) -> None:
    with pytest.raises(DomainError, match="no test 'pH'"):
        lab.record("pH", "7")
    with pytest.raises(DomainError, match="is not a number"):
        lab.record("Assay", "ninety")


def test_an_analyst_without_current_training_on_the_method_is_refused(lab: Lab) -> None:
    with pytest.raises(Forbidden, match="qc3 has no training on QCM-HPLC-ASSAY"):
        lab.record("Assay", "99.1", actor="qc3")
    later = AT.replace(year=2028)
    qc.recalibrate(lab.uow(), "HPLC-01", date(2028, 1, 1), date(2028, 12, 31), actor="qc1")
    with pytest.raises(Forbidden, match="expired on 2028-01-01"):
        qc.record_result(lab.uow(), IN_QC, "Assay", "99", "HPLC-01", actor="qc1", now=clock(later))


def test_a_passing_result_is_recorded_audited_and_a_second_one_refused_until_the_first_is_voided(lab: Lab) -> None:
    recorded = lab.record("Assay", "99.4")
    result = recorded.result
    assert (result.passed, result.analyst, result.instrument.code, recorded.deviation) == (True, "qc1", "HPLC-01", None)
    assert result.record_id == f"{IN_QC}/qc/Assay#{result.id}"
    [created] = lab.events(result.record_id)
    assert created[:3] == ("qc1", "create", "value")
    assert created[4] is not None
    assert '"passed": true' in created[4]
    with pytest.raises(Conflict, match="void it"):
        lab.record("Assay", "99.9")
    with pytest.raises(DomainError, match="reason"):
        qc.void_result(lab.uow(), result.id or 0, " ", actor="qc1")
    voided = qc.void_result(lab.uow(), result.id or 0, "wrong dilution", actor="qc1")
    assert voided.is_void
    assert lab.events(result.record_id)[-1] == ("qc1", "void", "status", '"valid"', '"void"')
    again = lab.record("Assay", "99.9")
    assert again.result.id != result.id
    shown = qc.results(lab.uow(), IN_QC)
    assert [(line.result.value, line.result.is_void) for line in shown.results] == [(99.4, True), (99.9, False)]
    assert [(line.test.name, line.state) for line in shown.tests] == [
        ("Assay", "to verify"),
        ("Endotoxin", "to record"),
    ]


def test_a_failing_result_opens_a_major_deviation_in_the_same_transaction_and_names_it(lab: Lab) -> None:
    qc.recalibrate(lab.uow(), "LAL-01", date(2027, 2, 15), date(2028, 2, 15), actor="qc1")
    recorded = lab.record("Endotoxin", "0.8", instrument="LAL-01")
    assert not recorded.result.passed
    assert recorded.deviation == "DEV-2027-0001"
    detail = deviations.get(lab.uow(), "DEV-2027-0001")
    deviation = detail.deviation
    assert (deviation.severity, deviation.title, deviation.source, deviation.opened_by) == (
        domain.Severity.MAJOR,
        "Endotoxin out of specification",
        "QC Endotoxin",
        "qc1",
    )
    assert deviation.batch is not None
    assert deviation.batch.lot_number == IN_QC
    assert "0.8 EU/mL" in deviation.description
    [line] = qc.results(lab.uow(), IN_QC).results
    assert line.deviation == "DEV-2027-0001"
    assert lab.events(f"{IN_QC}/DEV-2027-0001")[0][:2] == ("qc1", "create")


# Verification ----------------------------------------------------------------------------------------------------


def test_a_second_trained_analyst_verifies_by_signature_and_a_changed_result_shows_it_broken(lab: Lab) -> None:
    result = lab.record("Assay", "99.4").result
    result_id = result.id or 0
    with pytest.raises(DomainError, match="second analyst"):
        qc.verify_result(lab.uow(), result_id, signer="qc1", credentials=lab.credentials("qc1"), now=clock(AT))
    with pytest.raises(Unauthorized):
        qc.verify_result(lab.uow(), result_id, signer="qc2", credentials=lab.credentials("qc2", "wrong"), now=clock(AT))
    with pytest.raises(Forbidden, match="another user"):
        qc.verify_result(lab.uow(), result_id, signer="qc2", credentials=lab.credentials("qc1"), now=clock(AT))
    with pytest.raises(Forbidden, match="qc3 has no training"):
        qc.verify_result(lab.uow(), result_id, signer="qc3", credentials=lab.credentials("qc3"), now=clock(AT))
    verified = qc.verify_result(lab.uow(), result_id, signer="qc2", credentials=lab.credentials("qc2"), now=clock(AT))
    assert (verified.verified_by, verified.verified_at) == ("qc2", AT)
    [line] = qc.results(lab.uow(), IN_QC).results
    [signature] = line.signatures
    assert (signature.username, signature.meaning, signature.intact) == ("qc2", domain.Meaning.VERIFIED, True)
    assert [event[:2] for event in lab.events(result.record_id)] == [
        ("qc1", "create"),
        ("qc2", "verify"),
        ("qc2", "sign"),
    ]
    with pytest.raises(DomainError, match="already verified"):
        qc.verify_result(lab.uow(), result_id, signer="qc2", credentials=lab.credentials("qc2"), now=clock(AT))

    with lab.app.engine.begin() as connection:  # tampering behind the application's back
        connection.execute(text("UPDATE qc_results SET value = 101.0 WHERE id = :id"), {"id": result_id})
    [line] = qc.results(lab.uow(), IN_QC).results
    assert line.signatures[0].intact is False


# Release checks and the worklist ---------------------------------------------------------------------------------


def test_release_checks_name_every_qc_reason_until_there_is_none(lab: Lab) -> None:
    def checks() -> list[str]:
        with lab.uow() as uow:
            return qc.release_checks(uow, IN_QC)

    assert checks() == ["QC test Assay has no result", "QC test Endotoxin has no result"]
    qc.recalibrate(lab.uow(), "LAL-01", date(2027, 2, 15), date(2028, 2, 15), actor="qc1")
    assay = lab.record("Assay", "99.4").result
    endotoxin = lab.record("Endotoxin", "0.9", instrument="LAL-01").result
    assert checks() == [
        "the QC result of Assay is not verified",
        "the QC result of Endotoxin is not verified",
        "the QC result of Endotoxin failed: 0.9 EU/mL against the specification <= 0.5 EU/mL",
    ]
    qc.verify_result(lab.uow(), assay.id or 0, signer="qc2", credentials=lab.credentials("qc2"), now=clock(AT))
    qc.void_result(lab.uow(), endotoxin.id or 0, "sample contaminated in handling", actor="qa1")
    assert checks() == ["QC test Endotoxin has no result"]
    retest = lab.record("Endotoxin", "0.2", instrument="LAL-01").result
    assert checks() == ["the QC result of Endotoxin is not verified"]
    qc.verify_result(lab.uow(), retest.id or 0, signer="qc2", credentials=lab.credentials("qc2"), now=clock(AT))
    assert checks() == []
    with lab.uow() as uow:
        assert qc.release_checks(uow, "NWB101-27-002") == [
            "the process mAb fed-batch 2000 L has no release specification"
        ]


def test_the_worklist_lists_batches_in_qc_with_what_is_left_to_record_and_verify(lab: Lab) -> None:
    lab.record("Assay", "99.4")
    rows = {row.lot: row for row in qc.worklist(lab.uow())}
    assert set(rows) == {IN_QC}  # the only batch completed or in QC in the sample
    row = rows[IN_QC]
    assert (row.process, row.to_record, row.to_verify, row.failed, row.done) == (
        FILL,
        ["Endotoxin"],
        ["Assay"],
        [],
        False,
    )
    with pytest.raises(Forbidden):
        qc.worklist(lab.uow("Northwind Biologics"))


def test_a_sponsor_reads_the_results_of_its_own_released_batches_only(lab: Lab) -> None:
    lab.record("Assay", "99.4")
    sponsor = lab.uow("Northwind Biologics")
    with pytest.raises(NotFound):
        qc.results(sponsor, IN_QC)  # its own, but not released
    shown = qc.results(lab.uow("Northwind Biologics"), RELEASED)
    assert (shown.batch.lot_number, shown.open_for_results) == (RELEASED, False)
    accounts.add_user(lab.uow(), "hx", domain.Role.SPONSOR, sponsor_name="Helix Vaccines", password=PASSWORD)
    with pytest.raises(NotFound):
        qc.results(lab.uow("Helix Vaccines"), RELEASED)
    with pytest.raises(Forbidden):
        qc.record_result(lab.uow("Northwind Biologics"), IN_QC, "Assay", "99", "HPLC-01", actor="nw")


# Deviations and CAPA ---------------------------------------------------------------------------------------------


def _open(lab: Lab, severity: str = "major", lot: str | None = IN_QC) -> str:
    deviation = deviations.open(
        lab.uow(),
        lot=lot,
        severity=severity,
        title="Filter integrity test failed",
        description="Post-use integrity test of the sterile filter failed.\nRetest passed.",
        actor="op1",
        now=clock(AT),
    )
    return deviation.number


def test_a_deviation_goes_from_open_to_closed_by_qas_signature_through_capa(lab: Lab) -> None:
    number = _open(lab)
    assert number == "DEV-2027-0001"
    record_id = f"{IN_QC}/{number}"

    def close() -> domain.Deviation:
        return deviations.close(lab.uow(), number, signer="qa1", credentials=lab.credentials("qa1"), now=clock(AT))

    with pytest.raises(DomainError) as refused:
        close()
    assert "the investigation is not recorded" in str(refused.value)
    assert "the root cause is not recorded" in str(refused.value)
    assert "a major deviation needs at least one CAPA action" in str(refused.value)

    deviations.record_investigation(
        lab.uow(), number, "Filter wetted with the wrong fluid.", "Unclear work instruction", actor="qa1"
    )
    with pytest.raises(DomainError, match="not an active CDMO staff user"):
        deviations.add_capa(lab.uow(), number, "Rewrite WI-17", "nw", date(2027, 4, 1), actor="qa1")
    with pytest.raises(DomainError, match="not an active CDMO staff user"):
        deviations.add_capa(lab.uow(), number, "Rewrite WI-17", "nobody", date(2027, 4, 1), actor="qa1")
    deviations.add_capa(lab.uow(), number, "Rewrite WI-17", "op1", date(2027, 4, 1), actor="qa1")
    assert deviations.get(lab.uow(), number).blockers == ["CAPA action 1 is not done"]
    with pytest.raises(Forbidden, match="completed by its owner, op1, or by QA"):
        deviations.complete_capa(lab.uow(), number, 1, actor="qc1")
    with pytest.raises(DomainError, match="effectiveness is checked once it is done"):
        deviations.check_effectiveness(lab.uow(), number, 1, "Works", actor="qa1")
    deviations.complete_capa(lab.uow(), number, 1, actor="op1", now=clock(AT))
    with pytest.raises(DomainError, match="no CAPA action 2"):
        deviations.complete_capa(lab.uow(), number, 2, actor="qa1")
    deviations.check_effectiveness(lab.uow(), number, 1, "No recurrence in 20 batches", actor="qa1")
    assert deviations.get(lab.uow(), number).blockers == []

    with pytest.raises(Unauthorized):
        deviations.close(lab.uow(), number, signer="qa1", credentials=lab.credentials("qa1", "wrong"), now=clock(AT))
    assert deviations.get(lab.uow(), number).deviation.is_open  # a refused signature changes nothing
    with lab.uow() as uow:
        assert [deviation.number for deviation in deviations.open_on_batch(uow, IN_QC)] == [number]
    closed = close()
    assert (closed.status, closed.closed_at) == (domain.DeviationStatus.CLOSED, AT)
    with lab.uow() as uow:
        assert deviations.open_on_batch(uow, IN_QC) == []
    detail = deviations.get(lab.uow(), number)
    [signature] = detail.signatures
    assert (signature.username, signature.meaning, signature.intact) == ("qa1", domain.Meaning.APPROVED, True)
    assert [event[:3] for event in lab.events(record_id)] == [
        ("op1", "create", "severity"),
        ("qa1", "change", "investigation"),
        ("qa1", "change", "root_cause"),
        ("qa1", "change", "status"),
        ("qa1", "sign", "meaning"),
    ]
    assert [event[:3] for event in lab.events(f"{record_id}/capa-1")] == [
        ("qa1", "create", None),
        ("op1", "change", "status"),
        ("qa1", "change", "effectiveness"),
    ]
    with pytest.raises(DomainError, match="is closed"):
        deviations.record_investigation(lab.uow(), number, "Other", "Other", actor="qa1")
    with pytest.raises(DomainError, match="is closed"):
        deviations.add_capa(lab.uow(), number, "More", "op1", date(2027, 4, 1), actor="qa1")

    with lab.app.engine.begin() as connection:
        connection.execute(text("UPDATE deviations SET root_cause = 'something else' WHERE number = :n"), {"n": number})
    assert deviations.get(lab.uow(), number).signatures[0].intact is False


def test_a_minor_deviation_closes_without_capa_and_multiline_text_is_kept(lab: Lab) -> None:
    number = _open(lab, "minor", lot=None)
    deviations.record_investigation(lab.uow(), number, "Line one.\r\nLine two.", "Human error", actor="qa1")
    detail = deviations.get(lab.uow(), number)
    assert detail.deviation.investigation == "Line one.\nLine two."
    assert detail.deviation.batch is None
    assert detail.deviation.record_id == number
    deviations.close(lab.uow(), number, signer="qa1", credentials=lab.credentials("qa1"), now=clock(AT))
    assert [d.number for d in deviations.list(lab.uow(), status="closed")] == [number]
    assert deviations.list(lab.uow(), status="open") == []
    with pytest.raises(DomainError, match="is not one of"):
        deviations.list(lab.uow(), status="pending")


def test_opening_a_deviation_checks_the_batch_and_severity(lab: Lab) -> None:
    with pytest.raises(DomainError, match="there is no batch 'NOPE-1'"):
        _open(lab, lot="NOPE-1")
    with pytest.raises(DomainError, match="is not one of"):
        _open(lab, severity="huge")
    with pytest.raises(Forbidden):
        deviations.open(
            lab.uow("Northwind Biologics"), lot=RELEASED, severity="minor", title="t", description="d", actor="nw"
        )
    assert _open(lab) == "DEV-2027-0001"
    assert _open(lab, lot=None) == "DEV-2027-0002"


def test_a_sponsor_sees_the_deviations_of_its_own_released_batches_only(lab: Lab) -> None:
    unreleased = _open(lab, lot=IN_QC)
    released = _open(lab, lot=RELEASED)
    site = _open(lab, lot=None)
    accounts.add_user(lab.uow(), "hx", domain.Role.SPONSOR, sponsor_name="Helix Vaccines", password=PASSWORD)
    assert [d.number for d in deviations.list(lab.uow())] == [site, released, unreleased]
    assert [d.number for d in deviations.list(lab.uow("Northwind Biologics"))] == [released]
    assert deviations.get(lab.uow("Northwind Biologics"), released).deviation.number == released
    for number in (unreleased, site):
        with pytest.raises(NotFound):
            deviations.get(lab.uow("Northwind Biologics"), number)
    assert deviations.list(lab.uow("Helix Vaccines")) == []
    with pytest.raises(NotFound):
        deviations.get(lab.uow("Helix Vaccines"), released)
    with pytest.raises(NotFound):
        deviations.list(lab.uow("Northwind Biologics"), lot=IN_QC)
    assert [d.number for d in deviations.list(lab.uow(), lot=IN_QC)] == [unreleased]
    with pytest.raises(Forbidden):
        deviations.record_investigation(lab.uow("Northwind Biologics"), released, "x", "y", actor="nw")
