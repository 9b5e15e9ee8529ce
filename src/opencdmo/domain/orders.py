"""Sponsors' orders: how many batches of which program, when materials arrive and when they are due."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from opencdmo.domain import _rules
from opencdmo.domain.batches import Batch, BatchStatus
from opencdmo.domain.sponsors import Program, Sponsor
from opencdmo.errors import DomainError

HIGHEST_PRIORITY = 1
LOWEST_PRIORITY = 5


@dataclass(eq=False)
class Order:
    """A sponsor's order for ``batch_count`` batches of one program.

    ``release_date`` is when materials are available (no stage may start before it), ``due_date`` when the
    batches are contractually due released; each day late costs ``late_penalty_per_day``. Priority 1 is the
    highest, 5 the lowest. Amounts are in the network's currency.
    """

    number: str
    sponsor: Sponsor
    program: Program
    batch_count: int
    release_date: date
    due_date: date
    priority: int = 3
    late_penalty_per_day: Decimal = Decimal("0.00")
    price_per_batch: Decimal = Decimal("0.00")
    batches: list[Batch] = field(default_factory=list)
    id: int | None = None

    def __post_init__(self) -> None:
        self.number = _rules.text(self.number, "number", max_length=40)
        if self.program.sponsor is not self.sponsor:
            raise DomainError(
                f"program {self.program.name!r} belongs to another sponsor than {self.sponsor.name!r}",
                field="program",
            )
        self.batch_count = _rules.whole(self.batch_count, "batch_count", minimum=1, maximum=10_000)
        for name in ("release_date", "due_date"):
            value = getattr(self, name)
            if not isinstance(value, date) or hasattr(value, "hour"):
                raise DomainError(f"must be a date, not {value!r}", field=name)
        if self.due_date < self.release_date:
            raise DomainError("must not be before the release date", field="due_date")
        self.priority = _rules.whole(self.priority, "priority", minimum=HIGHEST_PRIORITY, maximum=LOWEST_PRIORITY)
        self.late_penalty_per_day = _rules.money(self.late_penalty_per_day, "late_penalty_per_day")
        self.price_per_batch = _rules.money(self.price_per_batch, "price_per_batch")
        batches = list(self.batches)
        self.batches = []
        for batch in batches:
            self._attach(batch)

    @property
    def active_batches(self) -> list[Batch]:
        return [batch for batch in self.batches if batch.is_active]

    def add_batch(
        self, lot_number: str, status: BatchStatus = BatchStatus.PLANNED, cancel_reason: str | None = None
    ) -> Batch:
        """Create the next batch of this order; an order never has more active batches than it ordered."""
        batch = Batch(
            order=self,
            sponsor=self.sponsor,
            lot_number=lot_number,
            status=status,
            cancel_reason=cancel_reason,
        )
        self._attach(batch)
        return batch

    def _attach(self, batch: Batch) -> None:
        if batch.order is not self:
            raise DomainError(f"batch {batch.lot_number} belongs to another order", field="batches")
        if any(existing.lot_number == batch.lot_number for existing in self.batches):
            raise DomainError(f"lot number {batch.lot_number!r} is already used", field="batches")
        if batch.is_active and len(self.active_batches) >= self.batch_count:
            raise DomainError(
                f"order {self.number} is for {self.batch_count} batch(es); cannot add another",
                field="batches",
            )
        self.batches.append(batch)

    @property
    def value(self) -> Decimal:
        return self.price_per_batch * self.batch_count

    def __repr__(self) -> str:
        return f"Order({self.number!r})"
