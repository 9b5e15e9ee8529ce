"""Edit use cases shared by the API and the web forms: the network (sites, suites, downtime), sponsors, programs
and orders.

Records are named, never numbered by database id: sites and suites by name, sponsors by name, programs by
sponsor and name, orders by number, batches by lot number. Every use case is for CDMO staff only (a sponsor
user may view its work, never edit it) and commits once, or changes nothing.

Errors speak the language of a form: a value the domain refuses raises :class:`DomainError` whose ``field``
is the name of the draft's (or change set's) attribute, so a form shows the message beside that field; a
name in a draft that names nothing (an unknown sponsor of a new order) is such a field error too. The record a
use case acts on, when unknown, raises :class:`NotFound`; a name or number already taken raises
:class:`Conflict`.

A change set (``XChanges``) names only what changes: every attribute left at :data:`KEEP` stays as it is.

Every use case writes the audit trail in its own transaction (P11-05, P11-11): a ``create`` event with the new
record's values, one ``change`` event per field whose value changed, a ``delete`` event with the removed values;
``actor`` is the username of who made the change (:data:`audit.SYSTEM` from the command line).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any, Final, TypeVar

from opencdmo import domain
from opencdmo.domain.audit import AuditAction
from opencdmo.domain.batches import LOT_NUMBER_MAX_LENGTH
from opencdmo.errors import Conflict, DomainError, Forbidden, NotFound
from opencdmo.services import audit
from opencdmo.services._names import can_name_a_record
from opencdmo.services.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


class Keep(Enum):
    """The value of a change set's attribute that leaves the record's value as it is."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


def _changed(changes: DataclassInstance) -> dict[str, Any]:
    """The attributes of a change set that are not :data:`KEEP`."""
    return {item.name: value for item in fields(changes) if (value := getattr(changes, item.name)) is not KEEP}


def _require_staff(uow: UnitOfWork, action: str) -> None:
    if uow.sponsor_id is not None:
        raise Forbidden(f"only CDMO staff may {action}")


def _choice(enum: type[E], value: E | str, field: str) -> E:
    """A member of ``enum`` given as itself or its value (a form sends the value)."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise DomainError(f"{value!r} is not one of: {allowed}", field=field) from None


def _unknown(kind: str, name: str, field: str) -> DomainError:
    return DomainError(f"there is no {kind} named {name!r}", field=field)


def _audit_created(uow: UnitOfWork, actor: str, record_type: str, record_id: str, values: dict[str, Any]) -> None:
    audit.record(uow, actor=actor, action=AuditAction.CREATE, record_type=record_type, record_id=record_id, new=values)


SITE_FIELDS = ("region", "biosafety_level", "certifications")
SUITE_FIELDS = (
    "kind",
    "scale",
    "scale_unit",
    "capabilities",
    "construction",
    "qc_analysts",
    "same_product_hours",
    "default_changeover_hours",
)
ORDER_FIELDS = (
    "sponsor",
    "program",
    "batch_count",
    "release_date",
    "due_date",
    "priority",
    "late_penalty_per_day",
    "price_per_batch",
)


def _named(name: str, find: Callable[[str], T | None]) -> T | None:
    """The record ``find`` finds by ``name``; None without a query when no record could have that name."""
    return find(name) if can_name_a_record(name) else None


# The network -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteDraft:
    name: str
    region: str
    biosafety_level: int = 1
    certifications: Collection[str] = ()


@dataclass(frozen=True)
class SiteChanges:
    """A site's name identifies it and does not change."""

    region: str | Keep = KEEP
    biosafety_level: int | Keep = KEEP
    certifications: Collection[str] | Keep = KEEP


@dataclass(frozen=True)
class SuiteDraft:
    name: str
    kind: domain.SuiteKind | str
    scale: float
    scale_unit: domain.ScaleUnit | str
    capabilities: Collection[str] = ()
    construction: domain.Construction | str | None = None
    qc_analysts: int = 0
    same_product_hours: int = 0
    default_changeover_hours: int = 0


@dataclass(frozen=True)
class SuiteChanges:
    """A suite's name and kind do not change: stages, plans and changeover rules rely on them."""

    scale: float | Keep = KEEP
    scale_unit: domain.ScaleUnit | str | Keep = KEEP
    capabilities: Collection[str] | Keep = KEEP
    construction: domain.Construction | str | Keep | None = KEEP
    qc_analysts: int | Keep = KEEP
    same_product_hours: int | Keep = KEEP
    default_changeover_hours: int | Keep = KEEP


def add_site(uow: UnitOfWork, draft: SiteDraft, *, actor: str = audit.SYSTEM) -> domain.Site:
    with uow:
        _require_staff(uow, "edit the network")
        site = domain.Site(
            name=draft.name,
            region=draft.region,
            biosafety_level=draft.biosafety_level,
            certifications=_labels(draft.certifications, "certifications"),
        )
        if uow.sites.get(site.name) is not None:
            raise Conflict(f"a site named {site.name!r} already exists")
        uow.sites.add(site)
        _audit_created(uow, actor, "site", site.name, audit.snapshot(site, SITE_FIELDS))
        uow.commit()
        return site


def update_site(uow: UnitOfWork, name: str, changes: SiteChanges, *, actor: str = audit.SYSTEM) -> domain.Site:
    with uow:
        _require_staff(uow, "edit the network")
        site = _named(name, uow.sites.get)
        if site is None:
            raise NotFound("site", name)
        wanted = {
            "region": site.region,
            "biosafety_level": site.biosafety_level,
            "certifications": site.certifications,
            **_changed(changes),
        }
        # The domain checks the new values on a site of its own, so a refused change leaves the stored one alone.
        checked = domain.Site(
            name=site.name,
            region=wanted["region"],
            biosafety_level=wanted["biosafety_level"],
            certifications=_labels(wanted["certifications"], "certifications"),
        )
        audit.record_changes(
            uow,
            actor=actor,
            record_type="site",
            record_id=site.name,
            before=audit.snapshot(site, SITE_FIELDS),
            after=audit.snapshot(checked, SITE_FIELDS),
        )
        site.region, site.biosafety_level, site.certifications = (
            checked.region,
            checked.biosafety_level,
            checked.certifications,
        )
        uow.commit()
        return site


def _suite(draft: SuiteDraft | dict[str, Any]) -> domain.Suite:
    values = draft if isinstance(draft, dict) else {item.name: getattr(draft, item.name) for item in fields(draft)}
    return domain.Suite(
        name=values["name"],
        kind=values["kind"],
        scale=values["scale"],
        scale_unit=values["scale_unit"],
        capabilities=_labels(values["capabilities"], "capabilities"),
        construction=values["construction"],
        qc_analysts=values["qc_analysts"],
        same_product_hours=values["same_product_hours"],
        default_changeover_hours=values["default_changeover_hours"],
    )


def _labels(values: Collection[str], field: str) -> frozenset[str]:
    if isinstance(values, str):
        raise DomainError("must be a list of labels, not a single text", field=field)
    return frozenset(values)


def add_suite(uow: UnitOfWork, site_name: str, draft: SuiteDraft, *, actor: str = audit.SYSTEM) -> domain.Suite:
    with uow:
        _require_staff(uow, "edit the network")
        site = _named(site_name, uow.sites.get)
        if site is None:
            raise NotFound("site", site_name)
        suite = _suite(draft)
        holder = uow.sites.of_suite(suite.name)
        if holder is not None:
            raise Conflict(f"a suite named {suite.name!r} already exists at {holder.name}")
        site.add_suite(suite)
        _audit_created(uow, actor, "suite", suite.name, {"site": site.name, **audit.snapshot(suite, SUITE_FIELDS)})
        uow.commit()
        return suite


def _find_suite(uow: UnitOfWork, name: str) -> tuple[domain.Site, domain.Suite]:
    site = _named(name, uow.sites.of_suite)
    suite = None if site is None else next((suite for suite in site.suites if suite.name == name), None)
    if site is None or suite is None:
        raise NotFound("suite", name)
    return site, suite


def update_suite(uow: UnitOfWork, suite_name: str, changes: SuiteChanges, *, actor: str = audit.SYSTEM) -> domain.Suite:
    with uow:
        _require_staff(uow, "edit the network")
        _site, suite = _find_suite(uow, suite_name)
        current = {
            "name": suite.name,
            "kind": suite.kind,
            "scale": suite.scale,
            "scale_unit": suite.scale_unit,
            "capabilities": suite.capabilities,
            "construction": suite.construction,
            "qc_analysts": suite.qc_analysts,
            "same_product_hours": suite.same_product_hours,
            "default_changeover_hours": suite.default_changeover_hours,
        }
        checked = _suite({**current, **_changed(changes)})
        for rule in suite.changeovers:
            if rule.hours < checked.same_product_hours:
                raise DomainError(
                    f"the changeover from {rule.from_family.name!r} to {rule.to_family.name!r} takes {rule.hours} h: "
                    "cleaning between batches of the same product cannot take longer",
                    field="same_product_hours",
                )
        _check_stages_still_run(uow, suite, checked)
        audit.record_changes(
            uow,
            actor=actor,
            record_type="suite",
            record_id=suite.name,
            before=audit.snapshot(suite, SUITE_FIELDS),
            after=audit.snapshot(checked, SUITE_FIELDS),
        )
        for name in current:
            setattr(suite, name, getattr(checked, name))
        uow.commit()
        return suite


def _check_stages_still_run(uow: UnitOfWork, suite: domain.Suite, checked: domain.Suite) -> None:
    """A stage with a duration of its own in the suite must still be able to run there."""
    for process in uow.processes.list():
        for stage in process.stages:
            if any(duration.suite is suite for duration in stage.suite_durations) and not stage.runs_in(checked):
                needs = ", ".join(sorted(stage.capabilities)) or "no capability"
                raise DomainError(
                    f"stage {stage.name!r} of process {process.name!r} runs in this suite and needs {needs}",
                    field="capabilities",
                )


def add_downtime(
    uow: UnitOfWork, suite_name: str, start: datetime, end: datetime, reason: str, *, actor: str = audit.SYSTEM
) -> domain.DowntimeWindow:
    """Add a planned downtime window to a suite; windows of one suite may not overlap."""
    with uow:
        _require_staff(uow, "edit the network")
        _site, suite = _find_suite(uow, suite_name)
        window = domain.DowntimeWindow(start=start, end=end, reason=reason)
        try:
            suite.add_downtime(window)
        except DomainError as error:
            # The clash is with another window: show it beside the new window's start.
            raise DomainError(error.message, field="start" if error.field == "downtime" else error.field) from None
        _audit_created(uow, actor, "downtime", _downtime_id(suite, window), _downtime_values(window))
        uow.commit()
        return window


def _downtime_id(suite: domain.Suite, window: domain.DowntimeWindow) -> str:
    return f"{suite.name} from {window.start.astimezone(UTC).isoformat()}"


def _downtime_values(window: domain.DowntimeWindow) -> dict[str, Any]:
    return {"start": window.start, "end": window.end, "reason": window.reason}


def remove_downtime(uow: UnitOfWork, suite_name: str, start: datetime, *, actor: str = audit.SYSTEM) -> None:
    """Remove the suite's downtime window that starts at ``start``."""
    with uow:
        _require_staff(uow, "edit the network")
        _site, suite = _find_suite(uow, suite_name)
        if start.tzinfo is None or start.utcoffset() is None:
            raise DomainError("must carry a time zone (times are kept in UTC)", field="start")
        window = next((window for window in suite.downtime if window.start == start), None)
        if window is None:
            raise NotFound("downtime window", f"{suite_name} from {start.isoformat()}")
        suite.downtime.remove(window)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.DELETE,
            record_type="downtime",
            record_id=_downtime_id(suite, window),
            old=_downtime_values(window),
        )
        uow.commit()


# Sponsors and programs -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SponsorDraft:
    name: str
    size: domain.SponsorSize | str = domain.SponsorSize.SMALL


@dataclass(frozen=True)
class ProgramDraft:
    """A program of ``sponsor`` (a name), made of ``product_family`` with ``process`` (names too)."""

    sponsor: str
    name: str
    modality: domain.Modality | str
    phase: domain.Phase | str
    product_family: str
    process: str


def add_sponsor(uow: UnitOfWork, draft: SponsorDraft, *, actor: str = audit.SYSTEM) -> domain.Sponsor:
    with uow:
        _require_staff(uow, "edit sponsors")
        sponsor = domain.Sponsor(name=draft.name, size=_choice(domain.SponsorSize, draft.size, "size"))
        if uow.sponsors.get(sponsor.name) is not None:
            raise Conflict(f"a sponsor named {sponsor.name!r} already exists")
        uow.sponsors.add(sponsor)
        _audit_created(uow, actor, "sponsor", sponsor.name, {"size": sponsor.size})
        uow.commit()
        return sponsor


def add_program(uow: UnitOfWork, draft: ProgramDraft, *, actor: str = audit.SYSTEM) -> domain.Program:
    with uow:
        _require_staff(uow, "edit sponsors")
        sponsor = _named(draft.sponsor, uow.sponsors.get)
        if sponsor is None:
            raise _unknown("sponsor", draft.sponsor, "sponsor")
        family = next((item for item in uow.product_families.list() if item.name == draft.product_family), None)
        if family is None:
            raise _unknown("product family", draft.product_family, "product_family")
        process = _named(draft.process, uow.processes.get)
        if process is None:
            raise _unknown("process", draft.process, "process")
        program = domain.Program(
            sponsor=sponsor,
            name=draft.name,
            modality=_choice(domain.Modality, draft.modality, "modality"),
            phase=_choice(domain.Phase, draft.phase, "phase"),
            product_family=family,
            process=process,
        )
        if any(existing.sponsor is sponsor for existing in uow.programs.named(program.name)):
            raise Conflict(f"{sponsor.name} already has a program named {program.name!r}")
        uow.programs.add(program)
        values = audit.snapshot(program, ("modality", "phase", "product_family", "process"))
        _audit_created(uow, actor, "program", f"{sponsor.name}/{program.name}", values)
        uow.commit()
        return program


# Orders ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderDraft:
    """An order of ``sponsor`` (a name) for ``batch_count`` batches of its program named ``program``."""

    number: str
    sponsor: str
    program: str
    batch_count: int
    release_date: date
    due_date: date
    priority: int = 3
    late_penalty_per_day: Decimal = Decimal("0.00")
    price_per_batch: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class OrderChanges:
    """An order's number, sponsor and program do not change.

    ``batch_count`` may go up only while no batch of the order has started (planned batches are added); it may
    go down by cancelling batches that have not started, newest first. ``release_date`` may change only while no
    batch has started either: the materials are already in use.
    """

    batch_count: int | Keep = KEEP
    release_date: date | Keep = KEEP
    due_date: date | Keep = KEEP
    priority: int | Keep = KEEP
    late_penalty_per_day: Decimal | Keep = KEEP
    price_per_batch: Decimal | Keep = KEEP


NOT_STARTED = frozenset({domain.BatchStatus.PLANNED, domain.BatchStatus.SCHEDULED})


def create_order(uow: UnitOfWork, draft: OrderDraft, *, actor: str = audit.SYSTEM) -> domain.Order:
    """Store a new order with its ``batch_count`` planned batches, numbered ``<order number>-001`` onwards."""
    with uow:
        _require_staff(uow, "edit orders")
        sponsor = _named(draft.sponsor, uow.sponsors.get)
        if sponsor is None:
            raise _unknown("sponsor", draft.sponsor, "sponsor")
        named = uow.programs.named(draft.program) if can_name_a_record(draft.program) else []
        program = next((item for item in named if item.sponsor is sponsor), None)
        if program is None:
            raise _unknown(f"program of {sponsor.name}", draft.program, "program")
        order = domain.Order(
            number=draft.number,
            sponsor=sponsor,
            program=program,
            batch_count=draft.batch_count,
            release_date=draft.release_date,
            due_date=draft.due_date,
            priority=draft.priority,
            late_penalty_per_day=draft.late_penalty_per_day,
            price_per_batch=draft.price_per_batch,
        )
        if uow.orders.get(order.number) is not None:
            raise Conflict(f"an order numbered {order.number!r} already exists")
        for lot in _new_lots(uow, order, order.batch_count):
            order.add_batch(lot)
        uow.orders.add(order)
        values = audit.snapshot(order, ORDER_FIELDS)
        _audit_created(uow, actor, "order", order.number, {**values, "batches": [b.lot_number for b in order.batches]})
        uow.commit()
        return order


def update_order(uow: UnitOfWork, number: str, changes: OrderChanges, *, actor: str = audit.SYSTEM) -> domain.Order:
    with uow:
        _require_staff(uow, "edit orders")
        order = _named(number, uow.orders.get)
        if order is None:
            raise NotFound("order", number)
        changed = _changed(changes)
        started = [batch for batch in order.active_batches if batch.status not in NOT_STARTED]
        if started and "release_date" in changed and changed["release_date"] != order.release_date:
            raise DomainError(
                f"batch {started[0].lot_number} has started: the release date can no longer change",
                field="release_date",
            )
        # The domain checks the new values on an order of its own, so a refused change leaves the stored one alone.
        checked = domain.Order(
            number=order.number,
            sponsor=order.sponsor,
            program=order.program,
            **{
                "batch_count": order.batch_count,
                "release_date": order.release_date,
                "due_date": order.due_date,
                "priority": order.priority,
                "late_penalty_per_day": order.late_penalty_per_day,
                "price_per_batch": order.price_per_batch,
                **changed,
            },
        )
        audit.record_changes(
            uow,
            actor=actor,
            record_type="order",
            record_id=order.number,
            before=audit.snapshot(order, ORDER_FIELDS),
            after=audit.snapshot(checked, ORDER_FIELDS),
        )
        if checked.batch_count != order.batch_count:
            _change_batch_count(uow, order, checked.batch_count, started)
        order.release_date, order.due_date, order.priority = checked.release_date, checked.due_date, checked.priority
        order.late_penalty_per_day = checked.late_penalty_per_day
        order.price_per_batch = checked.price_per_batch
        uow.commit()
        return order


def _change_batch_count(uow: UnitOfWork, order: domain.Order, count: int, started: list[domain.Batch]) -> None:
    """More batches: add as many planned ones. Fewer: cancel active batches beyond ``count``, newest first."""
    if count > order.batch_count:
        if started:
            raise DomainError(
                f"batch {started[0].lot_number} has started: no batch can be added to the order any more",
                field="batch_count",
            )
        added = count - order.batch_count
        order.batch_count = count
        for lot in _new_lots(uow, order, added):
            order.add_batch(lot)
        return
    active = order.active_batches
    waiting = [batch for batch in active if batch.status in NOT_STARTED]
    surplus = len(active) - count
    if surplus > len(waiting):
        raise DomainError(
            f"{len(active) - len(waiting)} batch(es) of the order have started: it cannot be for fewer",
            field="batch_count",
        )
    for batch in waiting[len(waiting) - surplus :] if surplus > 0 else []:
        batch.cancel(f"order {order.number} reduced to {count} batch(es)")
    order.batch_count = count


def _new_lots(uow: UnitOfWork, order: domain.Order, count: int) -> list[str]:
    """``count`` unused lot numbers ``<order number>-NNN``, the order number shortened to fit when needed."""
    widest = f"-{len(order.batches) + count + 999:03d}"
    stem = order.number[: LOT_NUMBER_MAX_LENGTH - len(widest)]
    taken = uow.batches.lots_starting_with(stem) | {batch.lot_number for batch in order.batches}
    lots: list[str] = []
    sequence = 0
    while len(lots) < count:
        sequence += 1
        suffix = f"-{sequence:03d}"
        lot = order.number[: LOT_NUMBER_MAX_LENGTH - len(suffix)] + suffix
        if lot not in taken:
            lots.append(lot)
            taken.add(lot)
    return lots
