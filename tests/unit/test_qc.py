"""Quality control: instruments and calibration, release tests, results (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from opencdmo import domain
from opencdmo.errors import DomainError
from tests import factories

AT = datetime(2027, 3, 1, 8, tzinfo=UTC)
ASSAY = domain.QcTest("Assay", "QCM-HPLC-ASSAY", "%", low=95.0, high=105.0)


def _instrument(**overrides: object) -> domain.Instrument:
    fields: dict[str, object] = {
        "code": "HPLC-01",
        "name": "Agilent 1260",
        "kind": "HPLC",
        "calibrated_on": date(2027, 1, 1),
        "calibration_due": date(2027, 6, 30),
    }
    fields.update(overrides)
    return domain.Instrument(**fields)  # type: ignore[arg-type]


def _batch() -> domain.Batch:
    return factories.order().add_batch("NWB101-27-001", domain.BatchStatus.IN_QC)


def test_an_instrument_is_accepted_only_inside_its_calibration_period() -> None:
    instrument = _instrument()
    assert instrument.refusal(date(2027, 1, 1)) is None
    assert instrument.refusal(date(2027, 6, 30)) is None
    assert instrument.refusal(date(2027, 7, 1)) == "instrument HPLC-01's calibration expired on 2027-06-30"
    assert instrument.refusal(date(2026, 12, 31)) == (
        "instrument HPLC-01 was calibrated on 2027-01-01, after the test date 2026-12-31"
    )
    assert instrument.calibration_valid(date(2027, 3, 1))
    instrument.retire()
    assert instrument.refusal(date(2027, 3, 1)) == "instrument HPLC-01 is retired"
    assert not instrument.calibration_valid(date(2027, 3, 1))


def test_a_calibration_period_ends_after_it_starts_and_takes_dates() -> None:
    with pytest.raises(DomainError, match="falls due after"):
        _instrument(calibration_due=date(2027, 1, 1))
    with pytest.raises(DomainError, match="must be a date"):
        _instrument(calibrated_on=AT)
    instrument = _instrument()
    with pytest.raises(DomainError, match="falls due after"):
        instrument.recalibrate(date(2027, 7, 1), date(2027, 6, 1))
    assert instrument.calibration_due == date(2027, 6, 30)  # a refused recalibration changes nothing
    instrument.recalibrate(date(2027, 7, 1), date(2028, 7, 1))
    assert (instrument.calibrated_on, instrument.calibration_due) == (date(2027, 7, 1), date(2028, 7, 1))


@pytest.mark.parametrize("code", ["hplc-01", "H", "HPLC 01", ""])
def test_an_instrument_code_is_a_procedure_style_code(code: str) -> None:
    with pytest.raises(DomainError):
        _instrument(code=code)


def test_a_release_test_has_a_method_and_at_least_one_limit() -> None:
    assert ASSAY.spec == "95 - 105 %"
    assert domain.QcTest("Endotoxin", "QCM-LAL", "EU/mL", high=0.5).spec == "<= 0.5 EU/mL"
    assert ASSAY.passes(95.0)
    assert ASSAY.passes(105.0)
    assert not ASSAY.passes(94.99)
    assert not ASSAY.passes(105.01)
    with pytest.raises(DomainError, match="at least one limit"):
        domain.QcTest("Appearance", "QCM-VISUAL")
    with pytest.raises(DomainError, match="lower limit"):
        domain.QcTest("Assay", "QCM-HPLC-ASSAY", low=105.0, high=95.0)
    assert domain.QcTest.from_dict(ASSAY.as_dict()) == ASSAY


def test_a_specification_names_each_test_once() -> None:
    with pytest.raises(DomainError, match="Assay twice"):
        domain.QcSpecification(process=factories.process(), tests=[ASSAY, ASSAY])
    spec = domain.QcSpecification(process=factories.process(), tests=[ASSAY])
    assert spec.test("Assay") is ASSAY
    with pytest.raises(DomainError, match="no test 'pH'"):
        spec.test("pH")


def test_a_result_on_an_expired_instrument_is_refused_with_the_reason() -> None:
    expired = _instrument(calibration_due=date(2027, 2, 1))
    with pytest.raises(DomainError, match=r"calibration expired on 2027-02-01: the result is refused"):
        domain.QcResult.record(_batch(), ASSAY, "99.1", expired, analyst="qc1", at=AT)


def test_pass_or_fail_is_computed_against_the_specification_the_result_keeps() -> None:
    passed = domain.QcResult.record(_batch(), ASSAY, "99,1", _instrument(), analyst="qc1", at=AT)
    failed = domain.QcResult.record(_batch(), ASSAY, "94.9", _instrument(), analyst="qc1", at=AT)
    assert (passed.value, passed.passed, passed.spec, passed.display_value) == (99.1, True, "95 - 105 %", "99.1 %")
    assert failed.passed is False
    with pytest.raises(DomainError, match="not a number"):
        domain.QcResult.record(_batch(), ASSAY, "high", _instrument(), analyst="qc1", at=AT)


def test_a_second_analyst_verifies_and_a_voided_result_is_not_verified() -> None:
    result = domain.QcResult.record(_batch(), ASSAY, "99.1", _instrument(), analyst="qc1", at=AT)
    with pytest.raises(DomainError, match="second analyst"):
        result.verify(by="qc1", at=AT)
    result.verify(by="qc2", at=AT)
    assert result.is_verified
    assert result.verified_by == "qc2"
    with pytest.raises(DomainError, match="already verified"):
        result.verify(by="qc3", at=AT)
    other = domain.QcResult.record(_batch(), ASSAY, "99.1", _instrument(), analyst="qc1", at=AT)
    with pytest.raises(DomainError):
        other.void(reason="", by="qc1")
    other.void(reason="wrong sample", by="qc1")
    assert other.is_void
    with pytest.raises(DomainError, match="already void"):
        other.void(reason="again", by="qc1")
    with pytest.raises(DomainError, match="voided result"):
        other.verify(by="qc2", at=AT)


def test_the_verified_content_covers_value_spec_instrument_and_analyst() -> None:
    result = domain.QcResult.record(_batch(), ASSAY, "99.1", _instrument(), analyst="qc1", at=AT)
    content = result.content()
    assert content == {
        "lot": "NWB101-27-001",
        "test": "Assay",
        "method": "QCM-HPLC-ASSAY",
        "spec": "95 - 105 %",
        "value": 99.1,
        "passed": True,
        "instrument": "HPLC-01",
        "analyst": "qc1",
        "recorded_at": "2027-03-01T08:00:00+00:00",
    }
    result.value = 101.0
    assert result.content() != content
