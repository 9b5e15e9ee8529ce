"""Who may read a batch's GMP records: CDMO staff always; its sponsor once the batch is released.

Every read of a batch record, its deviations, QC results or export goes through :func:`require_visible`, so the
rule lives in one place. A record the caller may not see answers NotFound, like a missing one.
"""

from __future__ import annotations

from opencdmo import domain
from opencdmo.errors import NotFound
from opencdmo.services.unit_of_work import UnitOfWork


def visible_batch(uow: UnitOfWork, lot_number: str) -> domain.Batch:
    """The batch whose GMP records the caller may read, or NotFound (inside an open unit of work)."""
    batch = uow.batches.get(lot_number)  # a sponsor's scope finds only its own batches
    if batch is None or (uow.sponsor_id is not None and batch.status is not domain.BatchStatus.RELEASED):
        raise NotFound("batch record", lot_number)
    return batch
