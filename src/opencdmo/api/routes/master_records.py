"""Master batch records: the versions of each process's master record, drafts written by planners and QA, and
approval by the quality unit's electronic signature.

Master records are CDMO staff data: a sponsor user gets 403. Reading needs VIEW_BATCH_RECORDS or
AUTHOR_MASTER_RECORDS; writing a draft AUTHOR_MASTER_RECORDS; approving REVIEW_QUALITY (and not being the author).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from opencdmo import domain
from opencdmo.api.deps import ApplicationDep, Caller, CurrentIdentity, location, require
from opencdmo.api.gmp_schemas_execution import (
    ApprovalCreate,
    MasterRecordCreate,
    MasterRecordPublic,
    MasterRecordUpdate,
    steps_of,
)
from opencdmo.api.schemas import Printable, error_responses
from opencdmo.api.signing import credentials_from
from opencdmo.domain import Action
from opencdmo.errors import Forbidden
from opencdmo.services import master_records
from opencdmo.services.editing import KEEP

router = APIRouter(tags=["master batch records"], responses=error_responses(401, 403))

READERS = (Action.VIEW_BATCH_RECORDS, Action.AUTHOR_MASTER_RECORDS)


def _reader(identity: CurrentIdentity, application: ApplicationDep) -> Caller:
    if identity.role is domain.Role.SPONSOR or not any(identity.can(action) for action in READERS):
        raise Forbidden(f"the role {identity.role.value!r} may not view master batch records")
    return Caller(identity=identity, application=application)


Reader = Annotated[Caller, Depends(_reader)]
Author = Annotated[Caller, Depends(require(Action.AUTHOR_MASTER_RECORDS))]
Approver = Annotated[Caller, Depends(require(Action.REVIEW_QUALITY))]
ProcessName = Annotated[str, Path(max_length=120), Printable]
Version = Annotated[int, Path(ge=1, le=1_000_000)]
NOT_FOUND = error_responses(404, 422)


def _location(record: domain.MasterBatchRecord) -> str:
    return location("master-records", record.process.name, "versions", str(record.version))


@router.get("/master-records")
def list_master_records(caller: Reader) -> list[MasterRecordPublic]:
    """Every version of every process's master record, by process and version, with their signatures."""
    return [MasterRecordPublic.from_view(view) for view in master_records.list_records(caller.unit_of_work())]


@router.get("/master-records/{process}/versions/{version}", responses=NOT_FOUND)
def get_master_record(process: ProcessName, version: Version, caller: Reader) -> MasterRecordPublic:
    return MasterRecordPublic.from_view(master_records.get(caller.unit_of_work(), process, version))


@router.post("/master-records", status_code=status.HTTP_201_CREATED, responses=error_responses(404, 409, 422))
def draft_master_record(body: MasterRecordCreate, caller: Author, response: Response) -> MasterRecordPublic:
    """Write the next version of a process's master record as a draft (steps copied from the approved version
    when not given). A process has one draft at a time (409)."""
    record = master_records.draft(
        caller.unit_of_work(),
        body.process,
        procedure=body.procedure,
        title=body.title,
        steps=None if body.steps is None else steps_of(body.steps),
        actor=caller.identity.username,
    )
    response.headers["Location"] = _location(record)
    return MasterRecordPublic.from_view(master_records.get(caller.unit_of_work(), record.process.name, record.version))


@router.patch("/master-records/{process}/versions/{version}", responses=NOT_FOUND)
def update_master_record(
    process: ProcessName, version: Version, body: MasterRecordUpdate, caller: Author
) -> MasterRecordPublic:
    """Change a draft (an approved or superseded version never changes: 422)."""
    given = body.given()
    changes = master_records.DraftChanges(
        procedure=given.get("procedure", KEEP),
        title=given.get("title", KEEP),
        steps=steps_of(given["steps"]) if "steps" in given else KEEP,
    )
    master_records.update_draft(caller.unit_of_work(), process, version, changes, actor=caller.identity.username)
    return MasterRecordPublic.from_view(master_records.get(caller.unit_of_work(), process, version))


@router.post("/master-records/{process}/versions/{version}/approve", responses=NOT_FOUND)
def approve_master_record(
    process: ProcessName, version: Version, body: ApprovalCreate, caller: Approver, request: Request
) -> MasterRecordPublic:
    """Approve a draft by electronic signature (meaning *approved*); the version approved before it is superseded.
    The author cannot approve their own master record; the signer must be trained on its procedure (403). The
    first signing with a token needs ``signature.username`` as well as the password (401 without it)."""
    master_records.approve(
        caller.unit_of_work(),
        process,
        version,
        signer=caller.identity.username,
        credentials=credentials_from(request, body.signature),
        comment=body.comment,
    )
    return MasterRecordPublic.from_view(master_records.get(caller.unit_of_work(), process, version))
