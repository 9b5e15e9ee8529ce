"""What a solve returns: a status, the schedule and the numbers that say how good it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ScheduledTask:
    """Where and when one task runs. An absent optional task has ``present=False`` (mode, start, end 0)."""

    task: int
    mode: int
    start: int
    end: int
    present: bool = True


@dataclass(frozen=True)
class Schedule:
    """One :class:`ScheduledTask` per task of the problem, in task order."""

    tasks: tuple[ScheduledTask, ...]

    @classmethod
    def of(cls, tasks: Sequence[ScheduledTask]) -> Schedule:
        return cls(tuple(sorted(tasks, key=lambda t: t.task)))

    def __len__(self) -> int:
        return len(self.tasks)

    def __getitem__(self, task: int) -> ScheduledTask:
        return self.tasks[task]

    @property
    def makespan(self) -> int:
        return max((t.end for t in self.tasks if t.present), default=0)


@dataclass(frozen=True)
class Progress:
    """Reported on every improving solution."""

    objective: int
    lower_bound: int
    seconds: float


@dataclass(frozen=True)
class Result:
    """The outcome of :func:`opencdmo.scheduling.solve`. Infeasible is a status, with ``reasons`` in words."""

    status: Status
    objective: int | None
    lower_bound: int | None
    runtime: float
    schedule: Schedule | None
    strategy: str
    reasons: tuple[str, ...] = field(default=())

    @property
    def gap(self) -> float | None:
        """Relative gap between objective and lower bound (0.0 when proven optimal)."""
        if self.objective is None or self.lower_bound is None:
            return None
        if self.objective == 0:
            return 0.0
        return max(0.0, (self.objective - self.lower_bound) / abs(self.objective))
