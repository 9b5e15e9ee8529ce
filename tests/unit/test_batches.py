"""The batch life cycle: every allowed move works, every other move is refused with a domain error."""

from __future__ import annotations

import itertools

import pytest

from opencdmo import domain
from opencdmo.domain import BatchStatus
from opencdmo.errors import DomainError, InvalidTransition
from tests import factories

ALLOWED = {
    (BatchStatus.PLANNED, BatchStatus.SCHEDULED),
    (BatchStatus.SCHEDULED, BatchStatus.IN_PROGRESS),
    (BatchStatus.IN_PROGRESS, BatchStatus.COMPLETED),
    (BatchStatus.COMPLETED, BatchStatus.IN_QC),
    (BatchStatus.IN_QC, BatchStatus.RELEASED),
    (BatchStatus.IN_QC, BatchStatus.REJECTED),
    (BatchStatus.PLANNED, BatchStatus.CANCELLED),
    (BatchStatus.SCHEDULED, BatchStatus.CANCELLED),
    (BatchStatus.IN_PROGRESS, BatchStatus.CANCELLED),
}


def batch_in(status: BatchStatus) -> domain.Batch:
    reason = "sponsor request" if status is BatchStatus.CANCELLED else None
    return factories.order().add_batch("L-1", status, reason)


def test_the_transition_table_is_the_documented_life_cycle() -> None:
    table = {(current, following) for current, nexts in domain.TRANSITIONS.items() for following in nexts}
    assert table == ALLOWED
    assert {BatchStatus.RELEASED, BatchStatus.REJECTED, BatchStatus.CANCELLED} == domain.FINAL_STATUSES


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED - {(s, BatchStatus.CANCELLED) for s in BatchStatus}))
def test_allowed_moves_change_the_status(current: BatchStatus, target: BatchStatus) -> None:
    batch = batch_in(current)
    batch.move_to(target)
    assert batch.status is target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (current, target)
        for current, target in itertools.product(BatchStatus, BatchStatus)
        if (current, target) not in ALLOWED and target is not BatchStatus.CANCELLED
    ],
)
def test_illegal_moves_raise_and_leave_the_status(current: BatchStatus, target: BatchStatus) -> None:
    batch = batch_in(current)
    with pytest.raises(InvalidTransition) as raised:
        batch.move_to(target)
    assert batch.status is current
    assert raised.value.current == current.value
    assert raised.value.requested == target.value
    assert "L-1" in str(raised.value)


def test_the_happy_path_reaches_released() -> None:
    batch = batch_in(BatchStatus.PLANNED)
    for step in (batch.schedule, batch.start, batch.complete, batch.send_to_qc, batch.release):
        step()
    assert batch.status is BatchStatus.RELEASED
    assert batch.is_final


def test_a_batch_in_qc_can_be_rejected() -> None:
    batch = batch_in(BatchStatus.IN_QC)
    batch.reject()
    assert batch.status is BatchStatus.REJECTED


@pytest.mark.parametrize("status", [BatchStatus.PLANNED, BatchStatus.SCHEDULED, BatchStatus.IN_PROGRESS])
def test_cancel_records_the_reason(status: BatchStatus) -> None:
    batch = batch_in(status)
    batch.cancel("raw material recalled")
    assert batch.status is BatchStatus.CANCELLED
    assert batch.cancel_reason == "raw material recalled"
    assert not batch.is_active


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_cancel_needs_a_reason(reason: str | None) -> None:
    batch = batch_in(BatchStatus.PLANNED)
    with pytest.raises(DomainError, match="cancel_reason"):
        batch.cancel(reason)  # type: ignore[arg-type]
    assert batch.status is BatchStatus.PLANNED


def test_cancelling_through_move_to_is_refused_because_it_needs_a_reason() -> None:
    batch = batch_in(BatchStatus.PLANNED)
    with pytest.raises(DomainError, match="reason"):
        batch.move_to(BatchStatus.CANCELLED)
    assert batch.status is BatchStatus.PLANNED


@pytest.mark.parametrize(
    "status",
    [BatchStatus.COMPLETED, BatchStatus.IN_QC, BatchStatus.RELEASED, BatchStatus.REJECTED, BatchStatus.CANCELLED],
)
def test_cancel_is_refused_once_production_is_over(status: BatchStatus) -> None:
    batch = batch_in(status)
    with pytest.raises(InvalidTransition):
        batch.cancel("too late")
    assert batch.status is status


def test_a_cancelled_batch_must_say_why_and_only_it_may() -> None:
    order = factories.order()
    with pytest.raises(DomainError, match="cancel_reason"):
        order.add_batch("L-1", BatchStatus.CANCELLED)
    with pytest.raises(DomainError, match="cancel_reason"):
        order.add_batch("L-2", BatchStatus.PLANNED, "not cancelled")
    assert order.batches == []


def test_unknown_status_is_refused() -> None:
    with pytest.raises(DomainError, match="not one of"):
        factories.order().add_batch("L-1", "shipped")  # type: ignore[arg-type]


@pytest.mark.parametrize("lot", ["", " L-1", "L" * 41])
def test_lot_numbers_are_checked(lot: str) -> None:
    with pytest.raises(DomainError, match="lot_number"):
        factories.order().add_batch(lot)


def test_a_batch_belongs_to_the_sponsor_of_its_order() -> None:
    order = factories.order()
    with pytest.raises(DomainError, match="sponsor"):
        domain.Batch(order=order, sponsor=factories.sponsor("Someone Else"), lot_number="L-1")
