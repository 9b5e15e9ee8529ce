"""Quality control: the instrument register, release specifications, the QC worklist and a batch's results.

Results are recorded by QC analysts (RECORD_QC_RESULTS) on a registered instrument calibrated on the day, verified
by a second analyst's electronic signature, and voided with a reason (analysts or QA). The register, the
specifications and the worklist are CDMO staff data; a sponsor user reads the results of its own released
batches only (others answer 404 like a missing batch).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from opencdmo.api.deps import ApplicationDep, Caller, CurrentIdentity, location
from opencdmo.api.deps import require as require_action
from opencdmo.api.gmp_schemas_quality import (
    BatchResultsPublic,
    CalibrationIn,
    InstrumentCreate,
    InstrumentPublic,
    ResultCreate,
    ResultPublic,
    SpecificationIn,
    SpecificationPublic,
    VerificationIn,
    VoidIn,
    WorklistRowPublic,
)
from opencdmo.api.schemas import Printable, error_responses
from opencdmo.api.signing import credentials_from
from opencdmo.domain import Action
from opencdmo.errors import Forbidden
from opencdmo.services import qc
from opencdmo.services.qc import ResultLine

router = APIRouter(tags=["quality control"], responses=error_responses(401, 403))

Reader = Annotated[Caller, Depends(require_action(Action.VIEW_BATCH_RECORDS))]
InstrumentKeeper = Annotated[Caller, Depends(require_action(Action.MANAGE_INSTRUMENTS))]
Reviewer = Annotated[Caller, Depends(require_action(Action.REVIEW_QUALITY))]
Analyst = Annotated[Caller, Depends(require_action(Action.RECORD_QC_RESULTS))]
InstrumentCode = Annotated[str, Path(min_length=1, max_length=60), Printable]
ProcessName = Annotated[str, Path(min_length=1, max_length=80), Printable]
Lot = Annotated[str, Path(min_length=1, max_length=40), Printable]
ResultId = Annotated[int, Path(ge=1, le=2**31 - 1)]
NOT_FOUND = error_responses(404, 422)
WRITE = error_responses(404, 409, 422)
MAY_VOID = (Action.RECORD_QC_RESULTS, Action.REVIEW_QUALITY)


def voider(identity: CurrentIdentity, application: ApplicationDep) -> Caller:
    """QC analysts and QA void results."""
    if not any(identity.can(action) for action in MAY_VOID):
        raise Forbidden(f"the role {identity.role.value!r} may not void QC results")
    return Caller(identity=identity, application=application)


Voider = Annotated[Caller, Depends(voider)]


def _today() -> datetime:
    return datetime.now(UTC)


# Instruments -----------------------------------------------------------------------------------------------------


@router.get("/instruments")
def list_instruments(caller: Reader) -> list[InstrumentPublic]:
    """Every registered instrument, retired ones too, with its calibration status today (UTC)."""
    today = _today().date()
    return [InstrumentPublic.of(item, today) for item in qc.instruments(caller.unit_of_work())]


@router.post("/instruments", status_code=status.HTTP_201_CREATED, responses=WRITE)
def register_instrument(body: InstrumentCreate, caller: InstrumentKeeper, response: Response) -> InstrumentPublic:
    item = qc.register(
        caller.unit_of_work(),
        body.code,
        body.name,
        body.kind,
        body.calibrated_on,
        body.calibration_due,
        actor=caller.identity.username,
    )
    response.headers["Location"] = location("instruments", item.code)
    return InstrumentPublic.of(item, _today().date())


@router.post("/instruments/{code}/calibration", responses=WRITE)
def recalibrate_instrument(code: InstrumentCode, body: CalibrationIn, caller: InstrumentKeeper) -> InstrumentPublic:
    item = qc.recalibrate(
        caller.unit_of_work(), code, body.calibrated_on, body.calibration_due, actor=caller.identity.username
    )
    return InstrumentPublic.of(item, _today().date())


# Release specifications ------------------------------------------------------------------------------------------


@router.get("/qc/specifications/{process}", responses=NOT_FOUND)
def get_specification(process: ProcessName, caller: Reader) -> SpecificationPublic:
    return SpecificationPublic.from_domain(qc.specification(caller.unit_of_work(), process))


@router.put("/qc/specifications/{process}", responses=WRITE)
def set_specification(process: ProcessName, body: SpecificationIn, caller: Reviewer) -> SpecificationPublic:
    """Set the release tests of a process (QA). Results already recorded keep the limits they were recorded under."""
    tests = [test.to_domain() for test in body.tests]
    specification = qc.set_specification(caller.unit_of_work(), process, tests, actor=caller.identity.username)
    return SpecificationPublic.from_domain(specification)


# Results ---------------------------------------------------------------------------------------------------------


@router.get("/qc/worklist")
def worklist(caller: Reader) -> list[WorklistRowPublic]:
    """Every batch completed or in QC, with the tests still to record and the results still to verify."""
    return [WorklistRowPublic.of(row) for row in qc.worklist(caller.unit_of_work())]


@router.get("/qc/batches/{lot}/results", responses=NOT_FOUND)
def batch_results(lot: Lot, caller: Reader) -> BatchResultsPublic:
    return BatchResultsPublic.of(qc.results(caller.unit_of_work(), lot))


@router.post("/qc/batches/{lot}/results", status_code=status.HTTP_201_CREATED, responses=WRITE)
def record_result(lot: Lot, body: ResultCreate, caller: Analyst, response: Response) -> ResultPublic:
    """Record a result; refused on an instrument whose calibration is not valid today, without current training on
    the test's method, or while the test has a result that is not void. A failing result opens a deviation, named
    in ``deviation``."""
    value = body.value if isinstance(body.value, str) else repr(body.value)
    recorded = qc.record_result(
        caller.unit_of_work(), lot, body.test, value, body.instrument, actor=caller.identity.username
    )
    response.headers["Location"] = location("qc", "batches", lot, "results")
    return ResultPublic.of(ResultLine(result=recorded.result, signatures=[], deviation=recorded.deviation))


@router.post("/qc/results/{result_id}/verification", responses=WRITE)
def verify_result(result_id: ResultId, body: VerificationIn, caller: Analyst, request: Request) -> ResultPublic:
    """A second analyst verifies the result by electronic signature (meaning ``verified``)."""
    qc.verify_result(
        caller.unit_of_work(),
        result_id,
        signer=caller.identity.username,
        credentials=credentials_from(request, body.signature),
    )
    return ResultPublic.of(qc.result(caller.unit_of_work(), result_id))


@router.post("/qc/results/{result_id}/void", responses=WRITE)
def void_result(result_id: ResultId, body: VoidIn, caller: Voider) -> ResultPublic:
    qc.void_result(caller.unit_of_work(), result_id, body.reason, actor=caller.identity.username)
    return ResultPublic.of(qc.result(caller.unit_of_work(), result_id))
