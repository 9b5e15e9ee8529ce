"""Executed batch records: start one on a batch, record values step by step, correct them with a reason, verify
them by a second person's electronic signature, complete the record.

Reading needs VIEW_BATCH_RECORDS (a sponsor user reads its own batches' records once released; any other batch
answers 404 like a missing one); executing needs EXECUTE_BATCHES; verifying EXECUTE_BATCHES or REVIEW_QUALITY.
An out-of-specification value opens a deviation, named in the answer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from opencdmo.api.deps import ApplicationDep, Caller, CurrentIdentity, location, require
from opencdmo.api.gmp_schemas_execution import (
    BatchRecordLinePublic,
    BatchRecordPublic,
    BatchRecordStart,
    CorrectionCreate,
    EntryCreate,
    EntryPublic,
    RecordedPublic,
    VerificationCreate,
)
from opencdmo.api.schemas import Printable, error_responses
from opencdmo.api.signing import credentials_from
from opencdmo.domain import Action, BatchRecordStatus
from opencdmo.errors import Forbidden, NotFound
from opencdmo.services import batch_records
from opencdmo.services.unit_of_work import UnitOfWork

router = APIRouter(tags=["batch records"], responses=error_responses(401, 403))


def _verifier(identity: CurrentIdentity, application: ApplicationDep) -> Caller:
    if not any(identity.can(action) for action in batch_records.VERIFIERS):
        raise Forbidden(f"the role {identity.role.value!r} may not verify batch record values")
    return Caller(identity=identity, application=application)


Viewer = Annotated[Caller, Depends(require(Action.VIEW_BATCH_RECORDS))]
Executor = Annotated[Caller, Depends(require(Action.EXECUTE_BATCHES))]
Verifier = Annotated[Caller, Depends(_verifier)]
Lot = Annotated[str, Path(max_length=40), Printable]
EntryId = Annotated[int, Path(ge=1, le=2**31 - 1)]
NOT_FOUND = error_responses(404, 422)


def _entry(uow: UnitOfWork, lot: str, entry_id: int) -> EntryPublic:
    found = next((entry for entry in batch_records.get(uow, lot).entries if entry.id == entry_id), None)
    if found is None:  # pragma: no cover - the entry was just written in a committed transaction
        raise NotFound("value", f"{lot} #{entry_id}")
    return EntryPublic.from_view(found)


def _recorded(caller: Caller, lot: str, outcome: batch_records.Recorded, response: Response) -> RecordedPublic:
    assert outcome.entry.id is not None
    response.headers["Location"] = location("batch-records", lot)
    return RecordedPublic(entry=_entry(caller.unit_of_work(), lot, outcome.entry.id), deviation=outcome.deviation)


@router.get("/batch-records", responses=error_responses(422))
def list_batch_records(
    caller: Viewer,
    record_status: Annotated[
        BatchRecordStatus | None, Query(alias="status", description="Only records in this status.")
    ] = None,
) -> list[BatchRecordLinePublic]:
    """The batch records the caller may read, newest first."""
    lines = batch_records.list_records(caller.unit_of_work(), status=record_status)
    return [BatchRecordLinePublic.from_line(line) for line in lines]


@router.get("/batch-records/{lot}", responses=NOT_FOUND)
def get_batch_record(lot: Lot, caller: Viewer) -> BatchRecordPublic:
    """A batch's record: steps in order with what each still lacks, every value (originals and corrections) with
    its verification signature and the deviation it opened. ``status`` is ``not-started`` before it starts."""
    return BatchRecordPublic.from_view(batch_records.get(caller.unit_of_work(), lot))


@router.post("/batch-records", status_code=status.HTTP_201_CREATED, responses=error_responses(404, 409, 422))
def start_batch_record(body: BatchRecordStart, caller: Executor, response: Response) -> BatchRecordPublic:
    """Start a batch's record on its process's approved master record; the batch goes in progress. Refused
    (422) when no master record version is approved, 403 without current training on its procedure."""
    record = batch_records.start(caller.unit_of_work(), body.lot, actor=caller.identity.username)
    response.headers["Location"] = location("batch-records", record.lot_number)
    return BatchRecordPublic.from_view(batch_records.get(caller.unit_of_work(), record.lot_number))


@router.post("/batch-records/{lot}/entries", status_code=status.HTTP_201_CREATED, responses=NOT_FOUND)
def record_value(lot: Lot, body: EntryCreate, caller: Executor, response: Response) -> RecordedPublic:
    """Record a value of a step (steps in order; a value recorded once: change it with a correction)."""
    outcome = batch_records.record(
        caller.unit_of_work(), lot, body.step, body.parameter, body.value, actor=caller.identity.username
    )
    return _recorded(caller, lot, outcome, response)


@router.post(
    "/batch-records/{lot}/entries/{entry_id}/correction", status_code=status.HTTP_201_CREATED, responses=NOT_FOUND
)
def correct_value(
    lot: Lot, entry_id: EntryId, body: CorrectionCreate, caller: Executor, response: Response
) -> RecordedPublic:
    """Correct a value with a reason: the answer is the new entry; the original stays in the record, superseded."""
    outcome = batch_records.correct(
        caller.unit_of_work(), lot, entry_id, body.value, reason=body.reason, actor=caller.identity.username
    )
    return _recorded(caller, lot, outcome, response)


@router.post("/batch-records/{lot}/entries/{entry_id}/verification", responses=NOT_FOUND)
def verify_value(
    lot: Lot, entry_id: EntryId, body: VerificationCreate, caller: Verifier, request: Request
) -> EntryPublic:
    """A second person verifies a value by electronic signature (meaning *verified*); the person who recorded it
    cannot (422)."""
    batch_records.verify(
        caller.unit_of_work(),
        lot,
        entry_id,
        signer=caller.identity.username,
        credentials=credentials_from(request, body.signature),
        comment=body.comment,
    )
    return _entry(caller.unit_of_work(), lot, entry_id)


@router.post("/batch-records/{lot}/completion", responses=NOT_FOUND)
def complete_batch_record(lot: Lot, caller: Executor) -> BatchRecordPublic:
    """Complete a record whose every step is done (422 naming what is missing); the batch goes to QC."""
    batch_records.complete(caller.unit_of_work(), lot, actor=caller.identity.username)
    return BatchRecordPublic.from_view(batch_records.get(caller.unit_of_work(), lot))
