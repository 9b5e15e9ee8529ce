"""Deviations and their CAPA actions: open, investigate, plan and complete CAPA, check effectiveness, close by QA's
electronic signature. Staff with VIEW_BATCH_RECORDS read every deviation; a sponsor user reads those of its own
released batches (another's, or one not released, answers 404 like a missing one) and writes nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from opencdmo import domain
from opencdmo.api.deps import ApplicationDep, Caller, CurrentIdentity, location, require
from opencdmo.api.gmp_schemas_quality import (
    CapaCreate,
    ClosureIn,
    DeviationCreate,
    DeviationPublic,
    DeviationSummaryPublic,
    EffectivenessIn,
    InvestigationIn,
    LotNumber,
)
from opencdmo.api.schemas import Printable, error_responses
from opencdmo.api.signing import credentials_from
from opencdmo.domain import Action
from opencdmo.errors import Forbidden
from opencdmo.services import deviations

router = APIRouter(tags=["deviations"], responses=error_responses(401, 403))

Reader = Annotated[Caller, Depends(require(Action.VIEW_BATCH_RECORDS))]
Opener = Annotated[Caller, Depends(require(Action.OPEN_DEVIATIONS))]
Reviewer = Annotated[Caller, Depends(require(Action.REVIEW_QUALITY))]
Number = Annotated[str, Path(min_length=1, max_length=20), Printable]
Index = Annotated[int, Path(ge=1, le=10_000, description="The CAPA action's number within the deviation (1, 2, ...).")]
NOT_FOUND = error_responses(404, 422)
WRITE = error_responses(404, 409, 422)


def staff(identity: CurrentIdentity, application: ApplicationDep) -> Caller:
    """Any CDMO staff member (the use case decides further: a CAPA action is completed by its owner or by QA)."""
    if identity.role is domain.Role.SPONSOR:
        raise Forbidden("only CDMO staff may complete CAPA actions")
    return Caller(identity=identity, application=application)


StaffCaller = Annotated[Caller, Depends(staff)]


def _detail(caller: Caller, number: str) -> DeviationPublic:
    return DeviationPublic.of(deviations.get(caller.unit_of_work(), number))


@router.get("/deviations", responses=NOT_FOUND)
def list_deviations(
    caller: Reader,
    status: Annotated[domain.DeviationStatus | None, Query(description="Only open or only closed ones.")] = None,
    lot: Annotated[LotNumber | None, Query(description="Only those of this batch.")] = None,
) -> list[DeviationSummaryPublic]:
    """Newest first."""
    found = deviations.list(caller.unit_of_work(), status=status, lot=lot)
    return [DeviationSummaryPublic.from_domain(deviation) for deviation in found]


@router.post("/deviations", status_code=status.HTTP_201_CREATED, responses=WRITE)
def open_deviation(body: DeviationCreate, caller: Opener, response: Response) -> DeviationPublic:
    deviation = deviations.open(
        caller.unit_of_work(),
        lot=body.lot,
        severity=body.severity,
        title=body.title,
        description=body.description,
        actor=caller.identity.username,
    )
    response.headers["Location"] = location("deviations", deviation.number)
    return _detail(caller, deviation.number)


@router.get("/deviations/{number}", responses=NOT_FOUND)
def get_deviation(number: Number, caller: Reader) -> DeviationPublic:
    return _detail(caller, number)


@router.post("/deviations/{number}/investigation", responses=WRITE)
def record_investigation(number: Number, body: InvestigationIn, caller: Reviewer) -> DeviationPublic:
    deviations.record_investigation(
        caller.unit_of_work(), number, body.investigation, body.root_cause, actor=caller.identity.username
    )
    return _detail(caller, number)


@router.post("/deviations/{number}/capa", status_code=status.HTTP_201_CREATED, responses=WRITE)
def add_capa(number: Number, body: CapaCreate, caller: Reviewer) -> DeviationPublic:
    deviations.add_capa(
        caller.unit_of_work(), number, body.description, body.owner, body.due_date, actor=caller.identity.username
    )
    return _detail(caller, number)


@router.post("/deviations/{number}/capa/{index}/completion", responses=WRITE)
def complete_capa(number: Number, index: Index, caller: StaffCaller) -> DeviationPublic:
    """The action's owner, or QA, marks it done."""
    deviations.complete_capa(caller.unit_of_work(), number, index, actor=caller.identity.username)
    return _detail(caller, number)


@router.post("/deviations/{number}/capa/{index}/effectiveness", responses=WRITE)
def check_effectiveness(number: Number, index: Index, body: EffectivenessIn, caller: Reviewer) -> DeviationPublic:
    deviations.check_effectiveness(caller.unit_of_work(), number, index, body.finding, actor=caller.identity.username)
    return _detail(caller, number)


@router.post("/deviations/{number}/closure", responses=WRITE)
def close_deviation(number: Number, body: ClosureIn, caller: Reviewer, request: Request) -> DeviationPublic:
    """QA closes the deviation by electronic signature (meaning ``approved``); refused, listing every reason,
    while anything keeps it open. The first signing with a token needs ``username`` as well as ``password``."""
    deviations.close(
        caller.unit_of_work(),
        number,
        signer=caller.identity.username,
        credentials=credentials_from(request, body.signature),
        comment=body.comment,
    )
    return _detail(caller, number)
