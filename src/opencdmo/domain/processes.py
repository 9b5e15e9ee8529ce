"""Process templates: the ordered stages a batch goes through, and the QC release at the end."""

from __future__ import annotations

from dataclasses import dataclass, field

from opencdmo.domain import _rules
from opencdmo.domain.network import Suite, SuiteKind
from opencdmo.errors import DomainError


@dataclass(eq=False)
class SuiteDuration:
    """A stage's duration in one particular suite, where it differs from the stage's usual duration."""

    suite: Suite
    hours: int
    id: int | None = None

    def __post_init__(self) -> None:
        self.hours = _rules.whole(self.hours, "hours", minimum=1)


@dataclass(eq=False)
class Stage:
    """One step of a process, run in one suite of ``suite_kind`` that has every one of ``capabilities``.

    ``max_hold_hours`` bounds the wait between the end of this stage and the start of the next one
    (None: the intermediate may wait indefinitely).
    """

    name: str
    suite_kind: SuiteKind
    duration_hours: int
    capabilities: frozenset[str] = frozenset()
    max_hold_hours: int | None = None
    suite_durations: list[SuiteDuration] = field(default_factory=list)
    id: int | None = None

    def __post_init__(self) -> None:
        self.name = _rules.text(self.name, "name", max_length=80)
        self.suite_kind = _rules.choice(SuiteKind, self.suite_kind, "suite_kind")
        if self.suite_kind is SuiteKind.QC_LAB:
            raise DomainError("QC testing is the process's QC release, not a stage", field="suite_kind")
        self.duration_hours = _rules.whole(self.duration_hours, "duration_hours", minimum=1)
        self.capabilities = _rules.labels(self.capabilities, "capabilities")
        if self.max_hold_hours is not None:
            self.max_hold_hours = _rules.whole(self.max_hold_hours, "max_hold_hours")
        durations = list(self.suite_durations)
        self.suite_durations = []
        for duration in durations:
            self.set_duration_in(duration.suite, duration.hours)

    def runs_in(self, suite: Suite) -> bool:
        return suite.can_run(self.suite_kind, self.capabilities)

    def set_duration_in(self, suite: Suite, hours: int) -> None:
        """Record that this stage takes ``hours`` in ``suite`` (which must be able to run it)."""
        if not self.runs_in(suite):
            raise DomainError(
                f"suite {suite.name!r} cannot run this stage (needs a {self.suite_kind.value} suite"
                + (f" with {', '.join(sorted(self.capabilities))}" if self.capabilities else "")
                + ")",
                field="suite_durations",
            )
        if any(existing.suite is suite for existing in self.suite_durations):
            raise DomainError(f"a duration in suite {suite.name!r} is already set", field="suite_durations")
        self.suite_durations.append(SuiteDuration(suite=suite, hours=hours))

    def duration_in(self, suite: Suite) -> int:
        for duration in self.suite_durations:
            if duration.suite is suite:
                return duration.hours
        return self.duration_hours


@dataclass(eq=False)
class ProcessTemplate:
    """The recipe of a product's batch: stages in order, then QC release.

    ``qc_release_hours`` is the elapsed time from the end of the last stage to the release decision;
    ``qc_analysts`` is how many analysts of a QC lab the release testing occupies meanwhile.
    """

    name: str
    stages: list[Stage] = field(default_factory=list)
    qc_release_hours: int = 0
    qc_analysts: int = 1
    id: int | None = None

    def __post_init__(self) -> None:
        self.name = _rules.text(self.name, "name", max_length=80)
        self.qc_release_hours = _rules.whole(self.qc_release_hours, "qc_release_hours")
        self.qc_analysts = _rules.whole(self.qc_analysts, "qc_analysts")
        if self.qc_release_hours and not self.qc_analysts:
            raise DomainError("QC release testing needs at least one analyst", field="qc_analysts")
        if not self.stages:
            raise DomainError("a process needs at least one stage", field="stages")
        names = [stage.name for stage in self.stages]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise DomainError(f"stage names must be unique, repeated: {', '.join(duplicates)}", field="stages")
        if self.stages[-1].max_hold_hours is not None:
            raise DomainError("the last stage has no next stage to hold for", field="stages")

    def __repr__(self) -> str:
        return f"ProcessTemplate({self.name!r})"
