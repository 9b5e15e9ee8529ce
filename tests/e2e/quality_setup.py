"""Quality records for the sponsor walks of the API and the pages: a released Helix batch with a deviation, and a
deviation on a released Northwind batch (so each sponsor has a record of its own, and one of the other's exists)."""

from __future__ import annotations

from datetime import UTC, datetime

from opencdmo import domain
from opencdmo.bootstrap import App
from opencdmo.services import deviations

HELIX_LOT = "HXV7-27-002"
"""Planned in the sample: released here, so Helix has released batch records to read."""
NORTHWIND_LOT = "NWB220-27-001"
"""Released in the sample."""
HELIX_DEVIATION = "DEV-2027-0001"
NORTHWIND_DEVIATION = "DEV-2027-0002"
OPENED_AT = datetime(2027, 3, 1, 8, tzinfo=UTC)
LIFE = (
    domain.BatchStatus.SCHEDULED,
    domain.BatchStatus.IN_PROGRESS,
    domain.BatchStatus.COMPLETED,
    domain.BatchStatus.IN_QC,
    domain.BatchStatus.RELEASED,
)


def release(app: App, lot: str) -> None:
    """Move a batch along its life cycle to released (test set-up, not the disposition use case)."""
    with app.unit_of_work() as uow:
        batch = uow.batches.get(lot)
        assert batch is not None
        for status in LIFE:
            if status in domain.TRANSITIONS[batch.status]:
                batch.move_to(status)
        assert batch.status is domain.BatchStatus.RELEASED
        uow.commit()


def quality_records(app: App) -> None:
    """Release Helix's HXV7-27-002 and open :data:`HELIX_DEVIATION` on it and :data:`NORTHWIND_DEVIATION` on
    Northwind's released NWB220-27-001. Run once per database."""
    release(app, HELIX_LOT)
    for lot, expected in ((HELIX_LOT, HELIX_DEVIATION), (NORTHWIND_LOT, NORTHWIND_DEVIATION)):
        deviation = deviations.open(
            app.unit_of_work(),
            lot=lot,
            severity=domain.Severity.MINOR,
            title="Label misprint found at packaging",
            description="The batch label showed the wrong expiry date.",
            actor="system",
            now=lambda: OPENED_AT,
        )
        assert deviation.number == expected
