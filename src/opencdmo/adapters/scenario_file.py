"""Scenario files: a whole network and order book in one YAML document (see docs/scenario-format.md).

Reading goes in three passes, each of which reports the place in the document where it failed:

1. YAML syntax (line and column);
2. shape and types, with Pydantic (``sites[2].suites[0].kind``);
3. references and business rules, by building the domain objects (``orders[4].program``).

Writing is canonical: the same scenario always gives the same bytes, so export → import → export is stable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from opencdmo import domain
from opencdmo.errors import DomainError, ScenarioFileError

FORMAT_VERSION = 1

T = TypeVar("T")

Hours = Annotated[int, Field(strict=True, ge=0)]
PositiveHours = Annotated[int, Field(strict=True, ge=1)]
Amount = Annotated[Decimal, Field(ge=0, decimal_places=2)]


def _text_only(value: object) -> object:
    """Dates and times must be written as text; a bare number would otherwise count from 1970."""
    if not isinstance(value, str):
        raise ValueError("must be written as text, such as 2027-03-01 or 2027-03-01T06:00:00Z")
    return value


def _number_only(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return value


Day = Annotated[date, BeforeValidator(_text_only)]
Instant = Annotated[AwareDatetime, BeforeValidator(_text_only)]
Scale = Annotated[float, BeforeValidator(_number_only), Field(gt=0, allow_inf_nan=False)]
Labels = list[str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FamilyModel(_Model):
    name: str
    description: str = ""


class StageModel(_Model):
    name: str
    suite_kind: domain.SuiteKind
    capabilities: Labels = []
    duration_hours: PositiveHours
    max_hold_hours: Hours | None = None
    suite_durations: dict[str, PositiveHours] = {}


class ProcessModel(_Model):
    name: str
    qc_release_hours: Hours = 0
    qc_analysts: Hours = 1
    stages: list[StageModel] = Field(min_length=1)


class ChangeoverRuleModel(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_family: str = Field(alias="from")
    to_family: str = Field(alias="to")
    hours: Hours


class ChangeoversModel(_Model):
    same_product_hours: Hours = 0
    default_hours: Hours = 0
    rules: list[ChangeoverRuleModel] = []


class DowntimeModel(_Model):
    start: Instant
    end: Instant
    reason: str


class SuiteModel(_Model):
    name: str
    kind: domain.SuiteKind
    capabilities: Labels = []
    scale: Scale
    scale_unit: domain.ScaleUnit
    construction: domain.Construction | None = None
    qc_analysts: Hours = 0
    changeovers: ChangeoversModel = ChangeoversModel()
    downtime: list[DowntimeModel] = []


class SiteModel(_Model):
    name: str
    region: str
    biosafety_level: Annotated[int, Field(strict=True, ge=1, le=4)] = 1
    certifications: Labels = []
    suites: list[SuiteModel] = []


class ProgramModel(_Model):
    name: str
    modality: domain.Modality
    phase: domain.Phase
    product_family: str
    process: str


class SponsorModel(_Model):
    name: str
    size: domain.SponsorSize = domain.SponsorSize.SMALL
    programs: list[ProgramModel] = []


class BatchModel(_Model):
    lot_number: str
    status: domain.BatchStatus = domain.BatchStatus.PLANNED
    cancel_reason: str | None = None


class OrderModel(_Model):
    number: str
    sponsor: str
    program: str
    batch_count: Annotated[int, Field(strict=True, ge=1)]
    release_date: Day
    due_date: Day
    priority: Annotated[int, Field(strict=True, ge=1, le=5)] = 3
    late_penalty_per_day: Amount = Decimal("0")
    price_per_batch: Amount = Decimal("0")
    batches: list[BatchModel] = []


class ScenarioModel(_Model):
    opencdmo_scenario: Literal[1]
    product_families: list[FamilyModel] = []
    processes: list[ProcessModel] = []
    sites: list[SiteModel] = []
    sponsors: list[SponsorModel] = []
    orders: list[OrderModel] = []


# --- reading ---------------------------------------------------------------------------------------------

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe YAML, stricter than YAML itself.

    - No implicit timestamps: dates stay text until the schema parses them, so a datetime without a time
      zone is refused instead of silently read as local time.
    - No duplicate keys: YAML would keep the last one and silently drop the rest (a second `orders:`).
    - No aliases: a few hundred bytes of nested aliases expand to gigabytes ("billion laughs").
    """

    def construct_document(self, node: yaml.Node) -> Any:
        _refuse_aliases(node)
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def _refuse_aliases(root: yaml.Node) -> None:
    """Walk the composed document once; a node reached twice was referenced through an alias."""
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            raise yaml.constructor.ConstructorError(
                None, None, "anchors and aliases (&name, *name) are not allowed; write the values out", node.start_mark
            )
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                pending.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def _location(parts: tuple[int | str, ...] | list[int | str]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_scenario(text: str, source: str = "<scenario>") -> domain.Scenario:
    """Read a scenario document; raise :class:`ScenarioFileError` naming ``source`` and the place at fault."""
    try:
        document = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from the safe loader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioFileError(source, where, f"not valid YAML: {error.problem}") from None
    except yaml.YAMLError as error:
        raise ScenarioFileError(source, "", f"not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise ScenarioFileError(source, "", "expected a mapping with the key 'opencdmo_scenario: 1' at the top")
    try:
        model = ScenarioModel.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        location = _location(list(first["loc"]))
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against docs/scenario-format.md)"
        more = f" (and {error.error_count() - 1} more problem(s))" if error.error_count() > 1 else ""
        raise ScenarioFileError(source, location, f"{message}{more}") from None
    return _Builder(source).build(model)


def read_scenario(path: Path) -> domain.Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioFileError(str(path), "", "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioFileError(str(path), "", f"cannot read the file: {error}") from None
    return parse_scenario(text, str(path))


class _Builder:
    """Turns the validated document into domain objects, resolving names and reporting where rules break."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.families: dict[str, domain.ProductFamily] = {}
        self.processes: dict[str, domain.ProcessTemplate] = {}
        self.suites: dict[str, domain.Suite] = {}
        self.sponsors: dict[str, domain.Sponsor] = {}
        self.programs: dict[str, dict[str, domain.Program]] = {}  # sponsor name → program name → program
        self.lots: dict[str, str] = {}
        self.order_numbers: set[str] = set()

    def fail(self, location: str, problem: str) -> ScenarioFileError:
        return ScenarioFileError(self.source, location, problem)

    @contextmanager
    def at(self, location: str) -> Iterator[None]:
        """Report a domain rule broken inside the block at ``location`` (plus the field the rule names)."""
        try:
            yield
        except DomainError as error:
            where = f"{location}.{error.field}" if error.field else location
            raise self.fail(where, error.message) from None

    def unique(self, seen: dict[str, T], name: str, location: str, what: str) -> None:
        if name in seen:
            raise self.fail(location, f"{what} {name!r} is defined twice")

    def lookup(self, table: dict[str, T], name: str, location: str, what: str) -> T:
        try:
            return table[name]
        except KeyError:
            known = ", ".join(sorted(table)[:8]) or "none defined"
            raise self.fail(location, f"unknown {what} {name!r} (known: {known})") from None

    def build(self, model: ScenarioModel) -> domain.Scenario:
        scenario = domain.Scenario()
        for i, family_model in enumerate(model.product_families):
            here = f"product_families[{i}]"
            self.unique(self.families, family_model.name, f"{here}.name", "product family")
            with self.at(here):
                family = domain.ProductFamily(name=family_model.name, description=family_model.description)
            self.families[family.name] = family
            scenario.product_families.append(family)
        for i, site_model in enumerate(model.sites):
            scenario.sites.append(self.site(site_model, f"sites[{i}]", scenario))
        for i, process_model in enumerate(model.processes):
            scenario.processes.append(self.process(process_model, f"processes[{i}]", scenario.sites))
        for i, sponsor_model in enumerate(model.sponsors):
            self.sponsor(sponsor_model, f"sponsors[{i}]", scenario)
        for i, order_model in enumerate(model.orders):
            scenario.orders.append(self.order(order_model, f"orders[{i}]"))
        return scenario

    def site(self, model: SiteModel, here: str, scenario: domain.Scenario) -> domain.Site:
        if any(site.name == model.name for site in scenario.sites):
            raise self.fail(f"{here}.name", f"site {model.name!r} is defined twice")
        with self.at(here):
            site = domain.Site(
                name=model.name,
                region=model.region,
                biosafety_level=model.biosafety_level,
                certifications=frozenset(model.certifications),
            )
        for j, suite_model in enumerate(model.suites):
            suite_here = f"{here}.suites[{j}]"
            self.unique(self.suites, suite_model.name, f"{suite_here}.name", "suite")
            suite = self.suite(suite_model, suite_here)
            with self.at(here):
                site.add_suite(suite)
            self.suites[suite.name] = suite
        return site

    def suite(self, model: SuiteModel, here: str) -> domain.Suite:
        with self.at(here):
            suite = domain.Suite(
                name=model.name,
                kind=model.kind,
                capabilities=frozenset(model.capabilities),
                scale=model.scale,
                scale_unit=model.scale_unit,
                construction=model.construction,
                qc_analysts=model.qc_analysts,
                same_product_hours=model.changeovers.same_product_hours,
                default_changeover_hours=model.changeovers.default_hours,
            )
        for k, rule_model in enumerate(model.changeovers.rules):
            rule_here = f"{here}.changeovers.rules[{k}]"
            rule = domain.ChangeoverRule(
                from_family=self.lookup(self.families, rule_model.from_family, f"{rule_here}.from", "product family"),
                to_family=self.lookup(self.families, rule_model.to_family, f"{rule_here}.to", "product family"),
                hours=rule_model.hours,
            )
            with self.at(rule_here):
                try:
                    suite.add_changeover(rule)
                except DomainError as error:
                    raise DomainError(error.message, field="hours") from None
        for k, window_model in enumerate(model.downtime):
            with self.at(f"{here}.downtime[{k}]"):
                window = domain.DowntimeWindow(
                    start=window_model.start, end=window_model.end, reason=window_model.reason
                )
                try:
                    suite.add_downtime(window)
                except DomainError as error:
                    raise DomainError(error.message, field="start") from None
        return suite

    def process(self, model: ProcessModel, here: str, sites: list[domain.Site]) -> domain.ProcessTemplate:
        self.unique(self.processes, model.name, f"{here}.name", "process")
        stages = []
        for j, stage_model in enumerate(model.stages):
            stage_here = f"{here}.stages[{j}]"
            with self.at(stage_here):
                stage = domain.Stage(
                    name=stage_model.name,
                    suite_kind=stage_model.suite_kind,
                    duration_hours=stage_model.duration_hours,
                    capabilities=frozenset(stage_model.capabilities),
                    max_hold_hours=stage_model.max_hold_hours,
                )
            if not domain.suites_able_to_run(stage, sites):
                needs = ", ".join(sorted(stage.capabilities))
                raise self.fail(
                    stage_here,
                    f"no suite in the network can run stage {stage.name!r} "
                    f"(needs a {stage.suite_kind.value} suite{' with ' + needs if needs else ''})",
                )
            for suite_name, hours in stage_model.suite_durations.items():
                duration_here = f"{stage_here}.suite_durations.{suite_name}"
                suite = self.lookup(self.suites, suite_name, duration_here, "suite")
                with self.at(duration_here):
                    try:
                        stage.set_duration_in(suite, hours)
                    except DomainError as error:
                        raise DomainError(error.message) from None
            stages.append(stage)
        with self.at(here):
            process = domain.ProcessTemplate(
                name=model.name,
                stages=stages,
                qc_release_hours=model.qc_release_hours,
                qc_analysts=model.qc_analysts,
            )
        if process.qc_release_hours and not domain.qc_labs_able_to_release(process, sites):
            raise self.fail(
                f"{here}.qc_analysts",
                f"no QC lab in the network has {process.qc_analysts} analyst(s) for the release testing of "
                f"process {process.name!r}",
            )
        self.processes[process.name] = process
        return process

    def sponsor(self, model: SponsorModel, here: str, scenario: domain.Scenario) -> None:
        self.unique(self.sponsors, model.name, f"{here}.name", "sponsor")
        with self.at(here):
            sponsor = domain.Sponsor(name=model.name, size=model.size)
        self.sponsors[sponsor.name] = sponsor
        self.programs[sponsor.name] = programs = {}
        scenario.sponsors.append(sponsor)
        for j, program_model in enumerate(model.programs):
            program_here = f"{here}.programs[{j}]"
            if program_model.name in programs:
                raise self.fail(f"{program_here}.name", f"program {program_model.name!r} is defined twice")
            family = self.lookup(
                self.families,
                program_model.product_family,
                f"{program_here}.product_family",
                "product family",
            )
            process = self.lookup(self.processes, program_model.process, f"{program_here}.process", "process")
            with self.at(program_here):
                program = domain.Program(
                    sponsor=sponsor,
                    name=program_model.name,
                    modality=program_model.modality,
                    phase=program_model.phase,
                    product_family=family,
                    process=process,
                )
            programs[program.name] = program
            scenario.programs.append(program)

    def order(self, model: OrderModel, here: str) -> domain.Order:
        if model.number in self.order_numbers:
            raise self.fail(f"{here}.number", f"order {model.number!r} is defined twice")
        self.order_numbers.add(model.number)
        sponsor = self.lookup(self.sponsors, model.sponsor, f"{here}.sponsor", "sponsor")
        program = self.lookup(
            self.programs[sponsor.name], model.program, f"{here}.program", f"program of {sponsor.name!r}"
        )
        with self.at(here):
            order = domain.Order(
                number=model.number,
                sponsor=sponsor,
                program=program,
                batch_count=model.batch_count,
                release_date=model.release_date,
                due_date=model.due_date,
                priority=model.priority,
                late_penalty_per_day=model.late_penalty_per_day,
                price_per_batch=model.price_per_batch,
            )
        for j, batch_model in enumerate(model.batches):
            batch_here = f"{here}.batches[{j}]"
            if batch_model.lot_number in self.lots:
                raise self.fail(
                    f"{batch_here}.lot_number",
                    f"lot number {batch_model.lot_number!r} is already used at {self.lots[batch_model.lot_number]}",
                )
            with self.at(batch_here):
                try:
                    order.add_batch(batch_model.lot_number, batch_model.status, batch_model.cancel_reason)
                except DomainError as error:
                    # The order's own rule (too many batches) is about this batch's place in the list.
                    raise DomainError(error.message, field=None if error.field == "batches" else error.field) from None
            self.lots[batch_model.lot_number] = batch_here
        return order


# --- writing ---------------------------------------------------------------------------------------------


def _amount(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _drop_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None}


def scenario_document(scenario: domain.Scenario) -> dict[str, Any]:
    """The scenario as plain data in the file's canonical order and shape."""
    sorted_labels: Callable[[frozenset[str]], list[str]] = sorted
    return {
        "opencdmo_scenario": FORMAT_VERSION,
        "product_families": [
            {"name": family.name, "description": family.description} for family in scenario.product_families
        ],
        "processes": [
            {
                "name": process.name,
                "qc_release_hours": process.qc_release_hours,
                "qc_analysts": process.qc_analysts,
                "stages": [
                    _drop_none(
                        {
                            "name": stage.name,
                            "suite_kind": stage.suite_kind.value,
                            "capabilities": sorted_labels(stage.capabilities),
                            "duration_hours": stage.duration_hours,
                            "max_hold_hours": stage.max_hold_hours,
                            "suite_durations": {d.suite.name: d.hours for d in stage.suite_durations},
                        }
                    )
                    for stage in process.stages
                ],
            }
            for process in scenario.processes
        ],
        "sites": [
            {
                "name": site.name,
                "region": site.region,
                "biosafety_level": site.biosafety_level,
                "certifications": sorted_labels(site.certifications),
                "suites": [
                    _drop_none(
                        {
                            "name": suite.name,
                            "kind": suite.kind.value,
                            "capabilities": sorted_labels(suite.capabilities),
                            "scale": int(suite.scale) if suite.scale.is_integer() else suite.scale,
                            "scale_unit": suite.scale_unit.value,
                            "construction": suite.construction.value if suite.construction else None,
                            "qc_analysts": suite.qc_analysts,
                            "changeovers": {
                                "same_product_hours": suite.same_product_hours,
                                "default_hours": suite.default_changeover_hours,
                                "rules": [
                                    {
                                        "from": rule.from_family.name,
                                        "to": rule.to_family.name,
                                        "hours": rule.hours,
                                    }
                                    for rule in suite.changeovers
                                ],
                            },
                            "downtime": [
                                {"start": _instant(w.start), "end": _instant(w.end), "reason": w.reason}
                                for w in suite.downtime
                            ],
                        }
                    )
                    for suite in site.suites
                ],
            }
            for site in scenario.sites
        ],
        "sponsors": [
            {
                "name": sponsor.name,
                "size": sponsor.size.value,
                "programs": [
                    {
                        "name": program.name,
                        "modality": program.modality.value,
                        "phase": program.phase.value,
                        "product_family": program.product_family.name,
                        "process": program.process.name,
                    }
                    for program in scenario.programs_of(sponsor)
                ],
            }
            for sponsor in scenario.sponsors
        ],
        "orders": [
            {
                "number": order.number,
                "sponsor": order.sponsor.name,
                "program": order.program.name,
                "batch_count": order.batch_count,
                "release_date": order.release_date.isoformat(),
                "due_date": order.due_date.isoformat(),
                "priority": order.priority,
                "late_penalty_per_day": _amount(order.late_penalty_per_day),
                "price_per_batch": _amount(order.price_per_batch),
                "batches": [
                    _drop_none(
                        {
                            "lot_number": b.lot_number,
                            "status": b.status.value,
                            "cancel_reason": b.cancel_reason,
                        }
                    )
                    for b in order.batches
                ],
            }
            for order in scenario.orders
        ],
    }


_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

HEADER = "# OpenCDMO scenario: a CDMO network and its order book. Format: docs/scenario-format.md\n"


def dump_scenario(scenario: domain.Scenario) -> str:
    body = yaml.dump(
        scenario_document(scenario),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,
        width=110,
    )
    return HEADER + body


def write_scenario(scenario: domain.Scenario, path: Path) -> None:
    """Write atomically: a crash mid-write never leaves half a file behind under the final name."""
    text = dump_scenario(scenario)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
