"""Batches and their life cycle.

::

    planned ──► scheduled ──► in-progress ──► completed ──► in-qc ──► released
       │            │              │                          └─────► rejected
       └────────────┴──────────────┴──► cancelled (reason required)

Released, rejected and cancelled are final.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from opencdmo.domain import _rules
from opencdmo.errors import DomainError, InvalidTransition

if TYPE_CHECKING:
    from opencdmo.domain.orders import Order
    from opencdmo.domain.sponsors import Sponsor


class BatchStatus(StrEnum):
    PLANNED = "planned"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    IN_QC = "in-qc"
    RELEASED = "released"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


TRANSITIONS: dict[BatchStatus, tuple[BatchStatus, ...]] = {
    BatchStatus.PLANNED: (BatchStatus.SCHEDULED, BatchStatus.CANCELLED),
    BatchStatus.SCHEDULED: (BatchStatus.IN_PROGRESS, BatchStatus.CANCELLED),
    BatchStatus.IN_PROGRESS: (BatchStatus.COMPLETED, BatchStatus.CANCELLED),
    BatchStatus.COMPLETED: (BatchStatus.IN_QC,),
    BatchStatus.IN_QC: (BatchStatus.RELEASED, BatchStatus.REJECTED),
    BatchStatus.RELEASED: (),
    BatchStatus.REJECTED: (),
    BatchStatus.CANCELLED: (),
}

FINAL_STATUSES = frozenset(status for status, following in TRANSITIONS.items() if not following)

LOT_NUMBER_MAX_LENGTH = 40


@dataclass(eq=False)
class Batch:
    """One lot of an order. Create batches through :meth:`Order.add_batch` so sponsor and order agree."""

    order: Order
    sponsor: Sponsor
    lot_number: str
    status: BatchStatus = BatchStatus.PLANNED
    cancel_reason: str | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        self.lot_number = _rules.text(self.lot_number, "lot_number", max_length=LOT_NUMBER_MAX_LENGTH)
        self.status = _rules.choice(BatchStatus, self.status, "status")
        if self.sponsor is not self.order.sponsor:
            raise DomainError("a batch belongs to the sponsor of its order", field="sponsor")
        if self.status is BatchStatus.CANCELLED:
            self.cancel_reason = _rules.text(self.cancel_reason, "cancel_reason", max_length=500)
        elif self.cancel_reason is not None:
            raise DomainError("only a cancelled batch has a cancel reason", field="cancel_reason")

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_active(self) -> bool:
        """Counts against its order's batches (every status but cancelled)."""
        return self.status is not BatchStatus.CANCELLED

    def move_to(self, status: BatchStatus) -> None:
        """Move along the life cycle; cancelling goes through :meth:`cancel` since it needs a reason."""
        target = _rules.choice(BatchStatus, status, "status")
        if target is BatchStatus.CANCELLED:
            raise DomainError("cancelling a batch needs a reason: use cancel(reason)", field="cancel_reason")
        self._check_can_move(target)
        self.status = target

    def cancel(self, reason: str) -> None:
        self._check_can_move(BatchStatus.CANCELLED)
        self.cancel_reason = _rules.text(reason, "cancel_reason", max_length=500)
        self.status = BatchStatus.CANCELLED

    def schedule(self) -> None:
        self.move_to(BatchStatus.SCHEDULED)

    def start(self) -> None:
        self.move_to(BatchStatus.IN_PROGRESS)

    def complete(self) -> None:
        self.move_to(BatchStatus.COMPLETED)

    def send_to_qc(self) -> None:
        self.move_to(BatchStatus.IN_QC)

    def release(self) -> None:
        self.move_to(BatchStatus.RELEASED)

    def reject(self) -> None:
        self.move_to(BatchStatus.REJECTED)

    def _check_can_move(self, target: BatchStatus) -> None:
        allowed = TRANSITIONS[self.status]
        if target not in allowed:
            raise InvalidTransition(
                f"batch {self.lot_number}", self.status.value, target.value, tuple(s.value for s in allowed)
            )

    def __repr__(self) -> str:
        return f"Batch({self.lot_number!r}, {self.status.value})"
