"""Training records (P11-09): who is trained on which procedure. CDMO staff read them; admin and QA record them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import Field

from opencdmo import domain
from opencdmo.api.deps import ApplicationDep, Caller, CurrentIdentity, location
from opencdmo.api.schemas import Body, Name60, Printable, Public, error_responses
from opencdmo.domain import Action
from opencdmo.errors import Forbidden
from opencdmo.services import training

router = APIRouter(tags=["training"], responses=error_responses(401, 403))

MAY_RECORD = (Action.MANAGE_USERS, Action.REVIEW_QUALITY)
"""A role with any of these actions may record training (administrators and QA)."""

ProcedureCode = Annotated[str, Field(min_length=2, max_length=60, pattern=r"^[A-Z0-9][A-Z0-9._-]+$"), Printable]


def staff(identity: CurrentIdentity, application: ApplicationDep) -> Caller:
    """Any CDMO staff member: training records name staff and procedures, never a sponsor's business."""
    if identity.role is domain.Role.SPONSOR:
        raise Forbidden("training records are for CDMO staff only")
    return Caller(identity=identity, application=application)


def recorder(caller: Annotated[Caller, Depends(staff)]) -> Caller:
    """Staff whose role may record training."""
    if not any(caller.identity.can(action) for action in MAY_RECORD):
        raise Forbidden(f"the role {caller.identity.role.value!r} may not record training")
    return caller


StaffCaller = Annotated[Caller, Depends(staff)]
Recorder = Annotated[Caller, Depends(recorder)]


class TrainingPublic(Public):
    username: str
    procedure: str
    trained_on: date
    valid_until: date
    """The first day the training is no longer valid."""
    recorded_by: str
    recorded_at: datetime
    status: str

    @classmethod
    def from_domain(cls, record: domain.TrainingRecord, on: date) -> TrainingPublic:
        return cls(
            username=record.username,
            procedure=record.procedure,
            trained_on=record.trained_on,
            valid_until=record.valid_until,
            recorded_by=record.recorded_by,
            recorded_at=record.recorded_at,
            status=record.status(on).value,
        )


class TrainingStandingPublic(Public):
    """Where a user stands on a procedure: the record that counts, and its status on the day asked."""

    username: str
    role: str
    active: bool
    procedure: str
    trained_on: date
    valid_until: date
    status: str
    current: bool

    @classmethod
    def of(cls, row: training.MatrixRow) -> TrainingStandingPublic:
        return cls(
            username=row.username,
            role=row.role,
            active=row.active,
            procedure=row.procedure,
            trained_on=row.trained_on,
            valid_until=row.valid_until,
            status=row.status.value,
            current=row.current,
        )


class TrainingCreate(Body):
    """A training that took place. Give its end of validity as ``valid_until`` or ``months`` (12 if neither)."""

    username: Name60
    procedure: ProcedureCode
    trained_on: date | None = Field(default=None, description="The day of the training; today (UTC) if left out.")
    valid_until: date | None = Field(default=None, description="The first day the training is no longer valid.")
    months: Annotated[int, Field(strict=True, ge=1, le=training.MAX_MONTHS)] | None = None


Username = Annotated[str, Path(max_length=60), Printable]


@router.get("/training", responses=error_responses(404, 422))
def list_training(
    caller: StaffCaller,
    user: Annotated[str | None, Query(max_length=60, description="Only this user's."), Printable] = None,
    on: Annotated[date | None, Query(description="The day to judge the status on; today (UTC) if left out.")] = None,
) -> list[TrainingStandingPublic]:
    """Each user's standing on each procedure they were trained on."""
    rows = training.matrix(caller.unit_of_work(), on or training.today(), username=user)
    return [TrainingStandingPublic.of(row) for row in rows]


@router.get("/training/{username}", responses=error_responses(404, 422))
def user_training(username: Username, caller: StaffCaller) -> list[TrainingPublic]:
    """Every training record of a user (the history), by procedure."""
    today = training.today()
    return [TrainingPublic.from_domain(record, today) for record in training.of_user(caller.unit_of_work(), username)]


@router.post("/training", status_code=status.HTTP_201_CREATED, responses=error_responses(404, 409, 422))
def record_training(body: TrainingCreate, caller: Recorder, response: Response) -> TrainingPublic:
    """Record a training (administrators and QA)."""
    trained_on = body.trained_on or training.today()
    record = training.grant(
        caller.unit_of_work(),
        body.username,
        body.procedure,
        trained_on=trained_on,
        valid_until=training.valid_until(trained_on, until=body.valid_until, months=body.months),
        actor=caller.identity.username,
    )
    response.headers["Location"] = location("training", record.username)
    return TrainingPublic.from_domain(record, training.today())
