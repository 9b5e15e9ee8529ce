"""The CDMO's own network: sites, suites, their downtime and their changeover (cleaning) rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from opencdmo.domain import _rules
from opencdmo.domain.families import ProductFamily
from opencdmo.errors import DomainError


class SuiteKind(StrEnum):
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"
    SYNTHESIS = "synthesis"
    FORMULATION = "formulation"
    FILL_FINISH = "fill-finish"
    PACKAGING = "packaging"
    CELL_THERAPY = "cell-therapy"
    QC_LAB = "qc-lab"


class ScaleUnit(StrEnum):
    LITRE = "L"
    KILOGRAM = "kg"
    UNITS = "units"


class Construction(StrEnum):
    SINGLE_USE = "single-use"
    STAINLESS = "stainless"


@dataclass(eq=False)
class DowntimeWindow:
    """Planned time a suite cannot run batches (maintenance, requalification, shutdown)."""

    start: datetime
    end: datetime
    reason: str
    id: int | None = None

    def __post_init__(self) -> None:
        self.start = _rules.to_the_minute(_rules.utc(self.start, "start"), "start")
        self.end = _rules.to_the_minute(_rules.utc(self.end, "end"), "end")
        self.reason = _rules.text(self.reason, "reason", max_length=200)
        if self.end <= self.start:
            raise DomainError("must be after start", field="end")

    def overlaps(self, other: DowntimeWindow) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(eq=False)
class ChangeoverRule:
    """Cleaning time in a suite between a batch of ``from_family`` and a batch of ``to_family``."""

    from_family: ProductFamily
    to_family: ProductFamily
    hours: int
    id: int | None = None

    def __post_init__(self) -> None:
        self.hours = _rules.whole(self.hours, "hours")


@dataclass(eq=False)
class Suite:
    """A room or line that runs one batch stage at a time (a QC lab runs many tests, limited by analysts).

    Changeovers: ``same_product_hours`` between two batches of the same product (a campaign),
    ``changeovers`` for named family pairs, ``default_changeover_hours`` for any other pair.
    """

    name: str
    kind: SuiteKind
    scale: float
    scale_unit: ScaleUnit
    capabilities: frozenset[str] = frozenset()
    construction: Construction | None = None
    qc_analysts: int = 0
    same_product_hours: int = 0
    default_changeover_hours: int = 0
    changeovers: list[ChangeoverRule] = field(default_factory=list)
    downtime: list[DowntimeWindow] = field(default_factory=list)
    id: int | None = None

    def __post_init__(self) -> None:
        self.name = _rules.text(self.name, "name", max_length=60)
        self.kind = _rules.choice(SuiteKind, self.kind, "kind")
        self.scale = _rules.positive_number(self.scale, "scale")
        self.scale_unit = _rules.choice(ScaleUnit, self.scale_unit, "scale_unit")
        self.capabilities = _rules.labels(self.capabilities, "capabilities")
        if self.construction is not None:
            self.construction = _rules.choice(Construction, self.construction, "construction")
        self.qc_analysts = _rules.whole(self.qc_analysts, "qc_analysts")
        if self.kind is SuiteKind.QC_LAB and self.qc_analysts < 1:
            raise DomainError("a QC lab needs at least one analyst", field="qc_analysts")
        if self.kind is not SuiteKind.QC_LAB and self.qc_analysts:
            raise DomainError("only QC labs have analysts", field="qc_analysts")
        self.same_product_hours = _rules.whole(self.same_product_hours, "same_product_hours")
        self.default_changeover_hours = _rules.whole(self.default_changeover_hours, "default_changeover_hours")
        self._check_campaign_is_shortest(self.default_changeover_hours, "default_changeover_hours")
        rules, windows = list(self.changeovers), list(self.downtime)
        self.changeovers, self.downtime = [], []
        for rule in rules:
            self.add_changeover(rule)
        for window in windows:
            self.add_downtime(window)

    def _check_campaign_is_shortest(self, hours: int, field_name: str) -> None:
        if hours < self.same_product_hours:
            raise DomainError(
                f"cleaning between different products ({hours} h) cannot be shorter than between batches "
                f"of the same product ({self.same_product_hours} h)",
                field=field_name,
            )

    def add_changeover(self, rule: ChangeoverRule) -> None:
        """Add a family-to-family cleaning time; one rule per ordered pair of families."""
        for existing in self.changeovers:
            if existing.from_family is rule.from_family and existing.to_family is rule.to_family:
                raise DomainError(
                    f"a changeover from {rule.from_family.name!r} to {rule.to_family.name!r} is already set",
                    field="changeovers",
                )
        self._check_campaign_is_shortest(rule.hours, "changeovers")
        self.changeovers.append(rule)

    def add_downtime(self, window: DowntimeWindow) -> None:
        """Add a planned downtime window; windows of one suite may not overlap."""
        for existing in self.downtime:
            if existing.overlaps(window):
                raise DomainError(
                    f"downtime {window.start:%Y-%m-%d %H:%M}–{window.end:%Y-%m-%d %H:%M} overlaps "
                    f"{existing.start:%Y-%m-%d %H:%M}–{existing.end:%Y-%m-%d %H:%M}",
                    field="downtime",
                )
        self.downtime.append(window)
        self.downtime.sort(key=lambda item: item.start)

    def changeover_hours(self, previous: ProductFamily, following: ProductFamily, *, same_product: bool) -> int:
        """Hours of cleaning needed between a batch of ``previous`` and one of ``following``."""
        if same_product:
            return self.same_product_hours
        for rule in self.changeovers:
            if rule.from_family is previous and rule.to_family is following:
                return rule.hours
        return self.default_changeover_hours

    def can_run(self, kind: SuiteKind, capabilities: frozenset[str]) -> bool:
        return self.kind is kind and capabilities <= self.capabilities

    def __repr__(self) -> str:
        return f"Suite({self.name!r}, {self.kind.value})"


@dataclass(eq=False)
class Site:
    """A manufacturing site with its inspections, biosafety level and suites."""

    name: str
    region: str
    biosafety_level: int = 1
    certifications: frozenset[str] = frozenset()
    suites: list[Suite] = field(default_factory=list)
    id: int | None = None

    def __post_init__(self) -> None:
        self.name = _rules.text(self.name, "name", max_length=60)
        self.region = _rules.text(self.region, "region", max_length=60)
        self.biosafety_level = _rules.whole(self.biosafety_level, "biosafety_level", minimum=1, maximum=4)
        self.certifications = _rules.labels(self.certifications, "certifications")
        suites = list(self.suites)
        self.suites = []
        for suite in suites:
            self.add_suite(suite)

    def add_suite(self, suite: Suite) -> None:
        if any(existing.name == suite.name for existing in self.suites):
            raise DomainError(f"suite {suite.name!r} already exists at this site", field="suites")
        self.suites.append(suite)

    def __repr__(self) -> str:
        return f"Site({self.name!r})"
