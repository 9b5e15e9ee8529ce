"""Deviations and CAPA: the domain rules (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from opencdmo import domain
from opencdmo.domain.deviations import MAX_TEXT, long_text
from opencdmo.errors import DomainError
from tests import factories

AT = datetime(2027, 3, 1, 8, tzinfo=UTC)


def _deviation(severity: domain.Severity = domain.Severity.MAJOR, with_batch: bool = True) -> domain.Deviation:
    batch = factories.order().add_batch("NWB101-27-001", domain.BatchStatus.IN_QC) if with_batch else None
    return domain.Deviation(
        number="DEV-2027-0001",
        severity=severity,
        title="pH out of range",
        description="pH 7.5 at inoculation",
        opened_by="op1",
        opened_at=AT,
        batch=batch,
    )


def _investigated(severity: domain.Severity = domain.Severity.MAJOR) -> domain.Deviation:
    deviation = _deviation(severity)
    deviation.record_investigation("Probe drift.", "Calibration interval too long")
    return deviation


def test_a_batch_deviation_is_named_under_its_lot_and_a_site_deviation_by_its_number() -> None:
    assert _deviation().record_id == "NWB101-27-001/DEV-2027-0001"
    assert _deviation(with_batch=False).record_id == "DEV-2027-0001"
    assert _deviation().sponsor is not None
    assert _deviation(with_batch=False).sponsor is None


def test_a_new_deviation_lists_everything_that_keeps_it_from_closing() -> None:
    assert _deviation().closure_blockers() == [
        "the investigation is not recorded",
        "the root cause is not recorded",
        "a major deviation needs at least one CAPA action",
    ]
    assert _deviation(domain.Severity.MINOR).closure_blockers() == [
        "the investigation is not recorded",
        "the root cause is not recorded",
    ]


def test_closing_is_refused_with_every_blocker_in_the_message() -> None:
    deviation = _deviation(domain.Severity.CRITICAL)
    with pytest.raises(DomainError) as refused:
        deviation.close(AT)
    message = str(refused.value)
    assert "the investigation is not recorded" in message
    assert "a critical deviation needs at least one CAPA action" in message
    assert deviation.is_open
    assert deviation.closed_at is None


def test_a_minor_deviation_closes_once_investigated_without_capa() -> None:
    deviation = _investigated(domain.Severity.MINOR)
    assert deviation.closure_blockers() == []
    deviation.close(AT)
    assert (deviation.status, deviation.closed_at) == (domain.DeviationStatus.CLOSED, AT)


def test_each_capa_action_must_be_done_and_checked_effective_before_closing() -> None:
    deviation = _investigated()
    first = deviation.add_capa("Shorten the calibration interval", "qa1", date(2027, 4, 1))
    deviation.add_capa("Retrain operators", "op1", date(2027, 4, 15))
    assert deviation.closure_blockers() == ["CAPA action 1 is not done", "CAPA action 2 is not done"]
    with pytest.raises(DomainError, match="once it is done"):
        first.check_effectiveness("works")
    first.complete(AT)
    assert first.status is domain.CapaStatus.DONE
    assert first.completed_at == AT
    with pytest.raises(DomainError, match="already done"):
        first.complete(AT)
    assert deviation.closure_blockers() == ["CAPA action 1 has no effectiveness check", "CAPA action 2 is not done"]
    first.check_effectiveness("No drift in 3 months")
    second = deviation.capa_action(2)
    second.complete(AT)
    second.check_effectiveness("All operators passed")
    assert deviation.closure_blockers() == []
    deviation.close(AT)
    assert not deviation.is_open


@pytest.mark.parametrize("index", [0, 2, -1, True])
def test_capa_actions_are_numbered_from_one(index: int) -> None:
    deviation = _investigated()
    deviation.add_capa("Shorten the calibration interval", "qa1", date(2027, 4, 1))
    with pytest.raises(DomainError, match="has no CAPA action"):
        deviation.capa_action(index)


def test_a_closed_deviation_never_changes() -> None:
    deviation = _investigated(domain.Severity.MINOR)
    deviation.close(AT)
    with pytest.raises(DomainError, match="is closed"):
        deviation.record_investigation("Other", "Other")
    with pytest.raises(DomainError, match="is closed"):
        deviation.add_capa("More", "qa1", date(2027, 4, 1))
    with pytest.raises(DomainError, match="is closed"):
        deviation.close(AT)


def test_a_capa_action_needs_a_date_not_a_datetime() -> None:
    with pytest.raises(DomainError, match="must be a date"):
        domain.CapaAction("Fix", "qa1", AT)


def test_the_signed_content_changes_when_the_investigation_changes() -> None:
    deviation = _investigated()
    before = deviation.content()
    assert before["lot"] == "NWB101-27-001"
    deviation.record_investigation("Probe drift, confirmed.", "Calibration interval too long")
    assert deviation.content() != before
    assert domain.content_hash("deviation", "x", before) != domain.content_hash("deviation", "x", deviation.content())


def test_long_texts_keep_line_breaks_and_refuse_other_control_characters() -> None:
    assert long_text("one\r\ntwo\rthree\n\tfour", "description") == "one\ntwo\nthree\n\tfour"
    for bad, message in (
        ("", "non-empty"),
        ("  ", "non-empty"),
        (" padded", "must not start or end"),
        ("bell\x07", "control characters"),
        ("x" * (MAX_TEXT + 1), "at most"),
        (42, "non-empty"),
    ):
        with pytest.raises(DomainError, match=message):
            long_text(bad, "description")
