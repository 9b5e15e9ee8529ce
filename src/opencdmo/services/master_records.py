"""Use cases on master batch records: write a draft version, change it, approve it by electronic signature, and
read the versions of a process with their signatures.

A process's master record has numbered versions (see :mod:`opencdmo.domain.master_records`). :func:`draft`
writes the next version, its steps copied from the approved version unless given; :func:`update_draft` changes
a draft; :func:`approve` approves it by an electronic signature of meaning *approved* over
:meth:`MasterBatchRecord.content` (21 CFR Part 11 §11.50, §11.70), and the version approved before it is
superseded in the same transaction: a process has at most one approved version, the one new batches start on.

Rules of the quality unit enforced here (the entrypoints check the role's action, as for every use case):

- master records are CDMO staff data: a sponsor's unit of work is refused;
- a process has at most one draft at a time;
- the approver holds REVIEW_QUALITY, is not the version's author ("the author cannot approve their own master
  record", segregation of duties) and is currently trained on the master's procedure code.

Every change writes the audit trail in the same transaction: record type :data:`RECORD_TYPE`, record id
``PROCESS/vN`` (:attr:`MasterBatchRecord.record_id`).

Steps come in as plain data (a YAML document, a JSON body): :func:`steps_from_data` reads them, naming the step
and parameter at fault; :func:`steps_from_yaml` and :func:`steps_to_yaml` are the text form the command line and
the draft editor of the web page use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

from opencdmo import domain
from opencdmo.domain.audit import AuditAction
from opencdmo.domain.master_records import MasterBatchRecord, MasterRecordStatus, MasterStep, Parameter
from opencdmo.domain.signatures import Meaning, content_hash
from opencdmo.errors import Conflict, DomainError, Forbidden, NotFound
from opencdmo.services import audit, signatures, training
from opencdmo.services._names import can_name_a_record
from opencdmo.services.editing import KEEP, Keep
from opencdmo.services.signatures import Credentials, SignatureView
from opencdmo.services.unit_of_work import UnitOfWork, retry_on_race

Clock = Callable[[], datetime]

RECORD_TYPE = "master-batch-record"
"""How the audit trail and the signatures name a master batch record version."""

MAX_STEPS = 200
MAX_PARAMETERS = 50
MAX_YAML_LENGTH = 200_000
STEP_KEYS = ("position", "title", "instructions", "parameters")
PARAMETER_KEYS = ("name", "kind", "unit", "low", "high", "critical", "verify")
AUTHOR_CANNOT_APPROVE = "the author cannot approve their own master record"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _require_staff(uow: UnitOfWork) -> None:
    if uow.sponsor_id is not None:
        raise Forbidden("master batch records are for CDMO staff only")


# Steps as plain data -----------------------------------------------------------------------------------------


def _where(position: int, parameter: object = None) -> str:
    return f"step {position}" + (f", parameter {parameter!r}" if parameter is not None else "")


def _mapping(value: object, where: str, keys: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DomainError(f"{where}: expected a mapping with {', '.join(keys)}", field="steps")
    unknown = sorted(str(key) for key in value if key not in keys)
    if unknown:
        raise DomainError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(keys)}", field="steps")
    return value


def _parameter(value: object, position: int, index: int) -> Parameter:
    name = value.get("name", "") if isinstance(value, Mapping) else ""
    where = _where(position, name if isinstance(name, str) and name else index + 1)
    data = _mapping(value, where, PARAMETER_KEYS)
    kind = data.get("kind", domain.ParameterKind.NUMBER.value)
    kinds = [item.value for item in domain.ParameterKind]
    if kind not in kinds:
        raise DomainError(f"{where}: kind must be one of {', '.join(kinds)}, not {kind!r}", field="steps")
    for flag in ("critical", "verify"):
        if not isinstance(data.get(flag, False), bool):
            raise DomainError(f"{where}: {flag} is true or false", field="steps")
    try:
        return Parameter(
            name=name,
            kind=domain.ParameterKind(kind),
            unit=data.get("unit"),
            low=data.get("low"),
            high=data.get("high"),
            critical=data.get("critical", False),
            verify=data.get("verify", False),
        )
    except DomainError as error:
        raise DomainError(f"{where}: {error}", field="steps") from None


def _step(value: object, position: int) -> MasterStep:
    data = _mapping(value, _where(position), STEP_KEYS)
    given = data.get("position", position)
    if given != position:
        raise DomainError(f"{_where(position)}: is numbered {given!r}; steps are numbered 1, 2, 3...", field="steps")
    parameters = data.get("parameters")
    if not isinstance(parameters, list) or not parameters:
        raise DomainError(f"{_where(position)}: parameters must be a list of the values recorded", field="steps")
    if len(parameters) > MAX_PARAMETERS:
        raise DomainError(f"{_where(position)}: at most {MAX_PARAMETERS} parameters", field="steps")
    read = tuple(_parameter(item, position, index) for index, item in enumerate(parameters))
    try:
        return MasterStep(
            position=position,
            title=data.get("title", ""),
            instructions=data.get("instructions", ""),
            parameters=read,
        )
    except DomainError as error:
        raise DomainError(f"{_where(position)}: {error}", field="steps") from None


def steps_from_data(data: object) -> list[MasterStep]:
    """Steps from plain data: a list of ``{title, instructions, parameters: [{name, kind, unit, low, high,
    critical, verify}]}`` (``position`` optional, numbered from 1), or a mapping holding it under ``steps``.
    A DomainError on field ``steps`` names the step and parameter at fault."""
    if isinstance(data, Mapping) and set(data) == {"steps"}:
        data = data["steps"]
    if data is None:
        return []
    if not isinstance(data, list):
        raise DomainError("expected a list of steps", field="steps")
    if len(data) > MAX_STEPS:
        raise DomainError(f"at most {MAX_STEPS} steps", field="steps")
    return [_step(item, position) for position, item in enumerate(data, start=1)]


def steps_from_yaml(text: str) -> list[MasterStep]:
    """Steps from a YAML document (see :func:`steps_from_data`); a syntax error names its line."""
    if len(text) > MAX_YAML_LENGTH:
        raise DomainError(f"at most {MAX_YAML_LENGTH:,} characters", field="steps")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or "not valid YAML"
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise DomainError(f"{where}{problem}", field="steps") from None
    return steps_from_data(data)


def step_data(step: MasterStep) -> dict[str, Any]:
    """A step as the plain data :func:`steps_from_data` reads, defaults left out."""
    parameters = []
    for parameter in step.parameters:
        item: dict[str, Any] = {"name": parameter.name}
        if parameter.kind is not domain.ParameterKind.NUMBER:
            item["kind"] = parameter.kind.value
        for key in ("unit", "low", "high"):
            value = getattr(parameter, key)
            if value is not None:
                item[key] = int(value) if isinstance(value, float) and value.is_integer() else value
        for flag in ("critical", "verify"):
            if getattr(parameter, flag):
                item[flag] = True
        parameters.append(item)
    return {"title": step.title, "instructions": step.instructions, "parameters": parameters}


def steps_to_yaml(steps: Sequence[MasterStep]) -> str:
    """The steps as the YAML text :func:`steps_from_yaml` reads back to the same steps."""
    if not steps:
        return ""
    return yaml.safe_dump([step_data(step) for step in steps], sort_keys=False, allow_unicode=True, width=100)


# Writing -----------------------------------------------------------------------------------------------------


def _content_for_audit(record: MasterBatchRecord) -> dict[str, Any]:
    return {"procedure": record.procedure, "title": record.title, "steps": [s.as_dict() for s in record.steps]}


def _process(uow: UnitOfWork, name: str) -> domain.ProcessTemplate:
    process = uow.processes.get(name) if can_name_a_record(name) else None
    if process is None:
        raise NotFound("process", name)
    return process


def _version(uow: UnitOfWork, process: str, version: int) -> MasterBatchRecord:
    record = uow.master_records.get(process, version) if can_name_a_record(process) else None
    if record is None:
        raise NotFound("master batch record", f"{process} v{version}")
    return record


@retry_on_race
def draft(
    uow: UnitOfWork,
    process: str,
    *,
    procedure: str,
    title: str,
    steps: Sequence[MasterStep] | None,
    actor: str,
    now: Clock = utcnow,
) -> MasterBatchRecord:
    """Write the next version of ``process``'s master record as a draft; ``steps`` None copies the steps of the
    approved version (none when no version is approved yet). A process has one draft at a time."""
    moment = now()
    with uow:
        _require_staff(uow)
        template = _process(uow, process)
        versions = uow.master_records.versions(template.name)
        open_draft = next((item for item in versions if item.is_draft), None)
        if open_draft is not None:
            raise Conflict(f"{template.name} already has a draft, v{open_draft.version}: change or approve it first")
        approved = next((item for item in versions if item.status is MasterRecordStatus.APPROVED), None)
        chosen = list(steps) if steps is not None else (list(approved.steps) if approved is not None else [])
        record = MasterBatchRecord(
            process=template,
            version=max((item.version for item in versions), default=0) + 1,
            procedure=procedure,
            title=title,
            created_by=actor,
            created_at=moment,
            steps=chosen,
        )
        uow.master_records.add(record)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.CREATE,
            record_type=RECORD_TYPE,
            record_id=record.record_id,
            new={**_content_for_audit(record), "status": record.status.value},
            now=lambda: moment,
        )
        uow.commit()
        return record


@dataclass(frozen=True)
class DraftChanges:
    """What changes in a draft; attributes left at KEEP stay as they are."""

    procedure: str | Keep = KEEP
    title: str | Keep = KEEP
    steps: Sequence[MasterStep] | Keep = KEEP


@retry_on_race
def update_draft(
    uow: UnitOfWork, process: str, version: int, changes: DraftChanges, *, actor: str, now: Clock = utcnow
) -> MasterBatchRecord:
    """Change the procedure code, the title or the steps of a draft (audited field by field)."""
    moment = now()
    with uow:
        _require_staff(uow)
        record = _version(uow, process, version)
        if not record.is_draft:
            raise DomainError(
                f"{record.label} is {record.status.value} and can no longer change: write a new version",
                field="status",
            )
        # The domain checks the new values on a record of its own, so a refused change leaves the stored one alone.
        checked = MasterBatchRecord(
            process=record.process,
            version=record.version,
            procedure=record.procedure if isinstance(changes.procedure, Keep) else changes.procedure,
            title=record.title if isinstance(changes.title, Keep) else changes.title,
            created_by=record.created_by,
            created_at=record.created_at,
            steps=list(record.steps) if isinstance(changes.steps, Keep) else list(changes.steps),
        )
        audit.record_changes(
            uow,
            actor=actor,
            record_type=RECORD_TYPE,
            record_id=record.record_id,
            before=_content_for_audit(record),
            after=_content_for_audit(checked),
            now=lambda: moment,
        )
        record.procedure, record.title = checked.procedure, checked.title
        record.replace_steps(checked.steps)
        uow.commit()
        return record


@retry_on_race
def approve(
    uow: UnitOfWork,
    process: str,
    version: int,
    *,
    signer: str,
    credentials: Credentials,
    comment: str | None = None,
    now: Clock = utcnow,
) -> MasterBatchRecord:
    """Approve a draft by the electronic signature of ``signer`` (meaning *approved*); the version approved
    before it is superseded in the same transaction."""
    signatures.authenticate(uow, signer, credentials, now=now)
    moment = now()
    with uow:
        _require_staff(uow)
        user = uow.users.get(signer)
        if user is None or not user.can(domain.Action.REVIEW_QUALITY):
            raise Forbidden(f"{signer} may not approve master batch records (the quality unit approves them)")
        record = _version(uow, process, version)
        if record.created_by == signer:
            raise Forbidden(AUTHOR_CANNOT_APPROVE)
        training.require_current(uow, signer, record.procedure, on=moment.date())
        previous = uow.master_records.approved(record.process.name)
        record.approve(moment)
        audit.record(
            uow,
            actor=signer,
            action=AuditAction.CHANGE,
            record_type=RECORD_TYPE,
            record_id=record.record_id,
            field="status",
            old=MasterRecordStatus.DRAFT.value,
            new=record.status.value,
            now=lambda: moment,
        )
        if previous is not None and previous is not record:
            previous.supersede()
            audit.record(
                uow,
                actor=signer,
                action=AuditAction.CHANGE,
                record_type=RECORD_TYPE,
                record_id=previous.record_id,
                field="status",
                old=MasterRecordStatus.APPROVED.value,
                new=previous.status.value,
                reason=f"superseded by v{record.version}",
                now=lambda: moment,
            )
        signatures.seal(
            uow,
            signer=signer,
            meaning=Meaning.APPROVED,
            record_type=RECORD_TYPE,
            record_id=record.record_id,
            content=record.content(),
            comment=comment,
            now=lambda: moment,
        )
        uow.commit()
        return record


# Reading -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MasterRecordView:
    """A version with its signatures, each checked against the hash of the version's current content."""

    record: MasterBatchRecord
    signatures: list[SignatureView]

    @property
    def approval(self) -> SignatureView | None:
        """The (last) approval signature, if any."""
        approvals = [view for view in self.signatures if view.meaning is Meaning.APPROVED]
        return approvals[-1] if approvals else None


def current_hash(record: MasterBatchRecord) -> str:
    """The hash an approval signature of ``record`` must carry to be intact."""
    return content_hash(RECORD_TYPE, record.record_id, record.content())


def _views(uow: UnitOfWork, records: list[MasterBatchRecord]) -> list[MasterRecordView]:
    signed = uow.signatures.of_many(RECORD_TYPE, [record.record_id for record in records]) if records else {}
    return [
        MasterRecordView(record, signatures.views(signed.get(record.record_id, []), current_hash(record)))
        for record in records
    ]


def list_records(uow: UnitOfWork) -> list[MasterRecordView]:
    """Every version of every process's master record, by process and version."""
    with uow:
        _require_staff(uow)
        return _views(uow, uow.master_records.list())


def versions(uow: UnitOfWork, process: str) -> list[MasterRecordView]:
    """The versions of one process's master record, oldest first (NotFound for an unknown process)."""
    with uow:
        _require_staff(uow)
        template = _process(uow, process)
        return _views(uow, uow.master_records.versions(template.name))


def get(uow: UnitOfWork, process: str, version: int) -> MasterRecordView:
    with uow:
        _require_staff(uow)
        return _views(uow, [_version(uow, process, version)])[0]


def process_names(uow: UnitOfWork) -> list[str]:
    """The names of the processes a master record can be written for."""
    with uow:
        _require_staff(uow)
        return sorted(process.name for process in uow.processes.list())
