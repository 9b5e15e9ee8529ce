"""Problem data: plain, validated, immutable records. All times are integer minutes from the horizon origin.

Each record checks its own values on construction; :class:`Problem` checks the references between them. Every
invalid case raises :class:`ProblemDataError` whose ``field`` names the place (``tasks[3].modes[0].duration``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, TypeVar

from opencdmo.scheduling.errors import ProblemDataError

Window = tuple[int, int]
_R = TypeVar("_R")


def _tuple(record: object, name: str) -> None:
    """Store a sequence field as a tuple, so records stay immutable when callers pass lists."""
    value = getattr(record, name)
    if value is not None and not isinstance(value, tuple):
        object.__setattr__(record, name, tuple(value))


def _windows(windows: Sequence[Sequence[int]], where: str) -> tuple[Window, ...]:
    result: list[Window] = []
    for index, window in enumerate(windows):
        if len(window) != 2:
            raise ProblemDataError("a window is a pair (start, end)", field=f"{where}[{index}]")
        start, end = int(window[0]), int(window[1])
        if start < 0 or start >= end:
            raise ProblemDataError(f"needs 0 <= start < end, got ({start}, {end})", field=f"{where}[{index}]")
        result.append((start, end))
    result.sort()
    for (_, end), (start, _) in itertools.pairwise(result):
        if start < end:
            raise ProblemDataError("windows overlap", field=where)
    return tuple(result)


def _non_negative(value: int, where: str) -> None:
    if value < 0:
        raise ProblemDataError(f"must be >= 0, got {value}", field=where)


@dataclass(frozen=True)
class Job:
    """An order or batch: its tasks may not start before ``release``; ``deadline`` is hard, ``due`` is soft."""

    name: str = ""
    release: int = 0
    due: int | None = None
    deadline: int | None = None
    weight: int = 1

    def __post_init__(self) -> None:
        _non_negative(self.release, "release")
        _non_negative(self.weight, "weight")
        if self.deadline is not None and self.deadline < self.release:
            raise ProblemDataError(f"deadline {self.deadline} is before release {self.release}", field="deadline")


@dataclass(frozen=True)
class Machine:
    """Runs one task at a time (a suite, a line). ``setup[f][g]`` is the changeover from family f to g.

    ``breaks`` are downtime windows (maintenance): no task may overlap one unless it allows breaks, in which
    case it pauses. ``no_idle`` means tasks run back to back (only changeovers in between).
    """

    name: str = ""
    breaks: tuple[Window, ...] = ()
    setup: tuple[tuple[int, ...], ...] = ()
    no_idle: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "breaks", _windows(self.breaks, "breaks"))
        object.__setattr__(self, "setup", tuple(tuple(int(v) for v in row) for row in self.setup))
        size = len(self.setup)
        for index, row in enumerate(self.setup):
            if len(row) != size:
                raise ProblemDataError(
                    f"setup matrix must be square: row has {len(row)} entries, expected {size}",
                    field=f"setup[{index}]",
                )
            for column, value in enumerate(row):
                _non_negative(value, f"setup[{index}][{column}]")
        if self.breaks and self.no_idle:
            raise ProblemDataError("a machine that may not idle cannot have breaks", field="no_idle")

    @property
    def has_setups(self) -> bool:
        return any(any(row) for row in self.setup)

    def setup_time(self, family_from: int, family_to: int) -> int:
        if not self.setup:
            return 0
        return self.setup[family_from][family_to]


@dataclass(frozen=True)
class Renewable:
    """A resource with a capacity that tasks use while they run (QC analysts, operators)."""

    name: str = ""
    capacity: int = 1
    breaks: tuple[Window, ...] = ()

    def __post_init__(self) -> None:
        _non_negative(self.capacity, "capacity")
        object.__setattr__(self, "breaks", _windows(self.breaks, "breaks"))


@dataclass(frozen=True)
class Consumable:
    """A stock that tasks use up for good (a raw material lot): the sum of demands may not exceed capacity."""

    name: str = ""
    capacity: int = 0

    def __post_init__(self) -> None:
        _non_negative(self.capacity, "capacity")


Resource = Machine | Renewable | Consumable


@dataclass(frozen=True)
class Mode:
    """One way to run a task: the resources it uses, for how long, with what demand on each (default 1)."""

    resources: tuple[int, ...]
    duration: int
    demands: tuple[int, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        _tuple(self, "resources")
        _tuple(self, "demands")
        _non_negative(self.duration, "duration")
        if len(set(self.resources)) != len(self.resources):
            raise ProblemDataError("a resource is listed twice", field="resources")
        if not self.demands:
            object.__setattr__(self, "demands", tuple(1 for _ in self.resources))
        if len(self.demands) != len(self.resources):
            raise ProblemDataError(f"{len(self.demands)} demands for {len(self.resources)} resources", field="demands")
        for index, demand in enumerate(self.demands):
            _non_negative(demand, f"demands[{index}]")


@dataclass(frozen=True)
class Task:
    """A step of a job, run in exactly one of its modes.

    ``family`` is the setup family (row and column of the machines' setup matrices). ``fixed_start`` and
    ``fixed_mode`` lock a task that has started or that the planner pinned. ``allow_idle`` lets a task hold its
    resources after it finishes (blocking); ``allow_breaks`` lets it pause over downtime windows.
    """

    modes: tuple[Mode, ...]
    job: int | None = None
    name: str = ""
    family: int = 0
    earliest_start: int = 0
    latest_start: int | None = None
    earliest_end: int = 0
    latest_end: int | None = None
    optional: bool = False
    allow_idle: bool = False
    allow_breaks: bool = False
    fixed_start: int | None = None
    fixed_mode: int | None = None

    def __post_init__(self) -> None:
        _tuple(self, "modes")
        if not self.modes:
            raise ProblemDataError("a task needs at least one mode", field="modes")
        _non_negative(self.family, "family")
        _non_negative(self.earliest_start, "earliest_start")
        _non_negative(self.earliest_end, "earliest_end")
        if self.latest_start is not None and self.latest_start < self.earliest_start:
            raise ProblemDataError(
                f"latest_start {self.latest_start} is before earliest_start {self.earliest_start}",
                field="latest_start",
            )
        if self.latest_end is not None and self.latest_end < self.earliest_end:
            raise ProblemDataError(
                f"latest_end {self.latest_end} is before earliest_end {self.earliest_end}", field="latest_end"
            )
        if self.fixed_start is not None:
            _non_negative(self.fixed_start, "fixed_start")
        if self.fixed_mode is not None and not 0 <= self.fixed_mode < len(self.modes):
            raise ProblemDataError(
                f"mode {self.fixed_mode} does not exist (task has {len(self.modes)})", field="fixed_mode"
            )

    @property
    def is_fixed(self) -> bool:
        return self.fixed_start is not None

    def allowed_modes(self) -> range | tuple[int]:
        return range(len(self.modes)) if self.fixed_mode is None else (self.fixed_mode,)


class Point(StrEnum):
    START = "start"
    END = "end"


@dataclass(frozen=True)
class Precedence:
    """``min_lag <= point(after) - point(before) <= max_lag``; the default is end(before) <= start(after).

    A hold time is ``Precedence(a, b, max_lag=hold)``: b starts within ``hold`` minutes of a's end.
    """

    before: int
    after: int
    min_lag: int = 0
    max_lag: int | None = None
    before_point: Point = Point.END
    after_point: Point = Point.START

    def __post_init__(self) -> None:
        object.__setattr__(self, "before_point", Point(self.before_point))
        object.__setattr__(self, "after_point", Point(self.after_point))
        if self.before == self.after:
            raise ProblemDataError(f"task {self.before} cannot precede itself", field="after")
        if self.max_lag is not None and self.max_lag < self.min_lag:
            raise ProblemDataError(f"max_lag {self.max_lag} is below min_lag {self.min_lag}", field="max_lag")


@dataclass(frozen=True)
class TaskPair:
    """Two tasks, for the pairwise relations below."""

    task1: int
    task2: int

    def __post_init__(self) -> None:
        if self.task1 == self.task2:
            raise ProblemDataError("the two tasks must differ", field="task2")


class IdenticalResources(TaskPair):
    """Both tasks run on exactly the same set of resources."""


class DifferentResources(TaskPair):
    """The two tasks share no resource."""


class Consecutive(TaskPair):
    """On every machine both tasks use, task2 directly follows task1."""


@dataclass(frozen=True)
class SameSequence:
    """The tasks of machine1 run in the same relative order as their counterparts on machine2.

    ``tasks1[i]`` on machine1 corresponds to ``tasks2[i]`` on machine2; by default, all tasks that can use
    each machine, by ascending index.
    """

    machine1: int
    machine2: int
    tasks1: tuple[int, ...] | None = None
    tasks2: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        _tuple(self, "tasks1")
        _tuple(self, "tasks2")
        if (self.tasks1 is None) != (self.tasks2 is None):
            raise ProblemDataError("give both task lists or neither", field="tasks2")
        if self.tasks1 is not None and self.tasks2 is not None:
            if len(self.tasks1) != len(self.tasks2):
                raise ProblemDataError("tasks1 and tasks2 must have the same length", field="tasks2")
            for name in ("tasks1", "tasks2"):
                values = getattr(self, name)
                if len(set(values)) != len(values):
                    raise ProblemDataError("a task is listed twice", field=name)


@dataclass(frozen=True)
class ModeDependency:
    """If ``task`` runs in ``mode``, at least one of the ``(task, mode)`` pairs in ``then`` is selected."""

    task: int
    mode: int
    then: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "then", tuple((int(t), int(m)) for t, m in self.then))
        if not self.then:
            raise ProblemDataError("needs at least one (task, mode) pair", field="then")
        if all(task == self.task for task, _ in self.then):
            raise ProblemDataError("all pairs refer to the dependent task itself", field="then")


class SelectionKind(StrEnum):
    ALL_OR_NONE = "all_or_none"
    AT_LEAST_ONE = "at_least_one"
    EXACTLY_ONE = "exactly_one"


@dataclass(frozen=True)
class Selection:
    """Which optional tasks run: all or none, at least one, or exactly one of ``tasks``.

    With a ``condition`` task, the rule applies only when that task runs.
    """

    kind: SelectionKind
    tasks: tuple[int, ...]
    condition: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", SelectionKind(self.kind))
        _tuple(self, "tasks")
        if not self.tasks:
            raise ProblemDataError("needs at least one task", field="tasks")


@dataclass(frozen=True)
class Objective:
    """Weights of a weighted sum. Tardiness, earliness and flow time are weighted by each job's weight too.

    ``deviation`` penalises each minute a task starts away from its start in :attr:`Problem.reference`.
    """

    makespan: int = 0
    weighted_tardiness: int = 0
    tardy_jobs: int = 0
    earliness: int = 0
    setup_time: int = 0
    flow_time: int = 0
    max_tardiness: int = 0
    deviation: int = 0

    def __post_init__(self) -> None:
        for name, value in self.weights().items():
            _non_negative(value, name)

    def weights(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in _OBJECTIVE_TERMS}

    @property
    def uses_due_dates(self) -> bool:
        return bool(self.weighted_tardiness or self.tardy_jobs or self.earliness or self.max_tardiness)


_OBJECTIVE_TERMS = (
    "makespan",
    "weighted_tardiness",
    "tardy_jobs",
    "earliness",
    "setup_time",
    "flow_time",
    "max_tardiness",
    "deviation",
)


def _at(name: str, index: int, exc: ProblemDataError) -> ProblemDataError:
    """Prefix the field of an error raised by a nested record with its place in the problem."""
    inner = f".{exc.field}" if exc.field else ""
    return ProblemDataError(exc.message, field=f"{name}[{index}]{inner}")


@dataclass(frozen=True, eq=False)
class Problem:
    """A complete scheduling problem. ``reference`` maps task index to its start in a previous plan."""

    jobs: tuple[Job, ...]
    resources: tuple[Resource, ...]
    tasks: tuple[Task, ...]
    precedences: tuple[Precedence, ...] = ()
    identical_resources: tuple[IdenticalResources, ...] = ()
    different_resources: tuple[DifferentResources, ...] = ()
    consecutive: tuple[Consecutive, ...] = ()
    same_sequence: tuple[SameSequence, ...] = ()
    mode_dependencies: tuple[ModeDependency, ...] = ()
    selections: tuple[Selection, ...] = ()
    objective: Objective = field(default_factory=lambda: Objective(makespan=1))
    reference: dict[int, int] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        for name in (
            "jobs",
            "resources",
            "tasks",
            "precedences",
            "identical_resources",
            "different_resources",
            "consecutive",
            "same_sequence",
            "mode_dependencies",
            "selections",
        ):
            _tuple(self, name)
        object.__setattr__(self, "reference", dict(self.reference))
        _validate(self)

    # Derived indexes, computed once on first use.

    @cached_property
    def job_tasks(self) -> tuple[tuple[int, ...], ...]:
        lists: list[list[int]] = [[] for _ in self.jobs]
        for index, task in enumerate(self.tasks):
            if task.job is not None:
                lists[task.job].append(index)
        return tuple(tuple(items) for items in lists)

    @cached_property
    def machine_indices(self) -> tuple[int, ...]:
        return tuple(i for i, r in enumerate(self.resources) if isinstance(r, Machine))

    @cached_property
    def machine_tasks(self) -> dict[int, tuple[int, ...]]:
        """Tasks that can run on each machine (in at least one of their modes)."""
        lists: dict[int, list[int]] = {m: [] for m in self.machine_indices}
        for index, task in enumerate(self.tasks):
            used = {r for mode in task.modes for r in mode.resources}
            for resource in sorted(used):
                if resource in lists:
                    lists[resource].append(index)
        return {m: tuple(items) for m, items in lists.items()}

    @cached_property
    def num_families(self) -> int:
        return max((t.family for t in self.tasks), default=0) + 1

    def release_of(self, task: int) -> int:
        """The earliest start implied by the task itself and its job's release date."""
        record = self.tasks[task]
        release = self.jobs[record.job].release if record.job is not None else 0
        return max(record.earliest_start, release)

    def latest_end_of(self, task: int) -> int | None:
        """The latest end implied by the task itself and its job's deadline."""
        record = self.tasks[task]
        bounds = [record.latest_end] if record.latest_end is not None else []
        if record.job is not None and self.jobs[record.job].deadline is not None:
            bounds.append(self.jobs[record.job].deadline)  # type: ignore[arg-type]
        return min(bounds) if bounds else None


def _validate(problem: Problem) -> None:
    num_tasks, num_resources, num_jobs = len(problem.tasks), len(problem.resources), len(problem.jobs)
    families = max((t.family for t in problem.tasks), default=0) + 1

    def task_ref(value: Any, where: str) -> None:
        if not isinstance(value, int) or not 0 <= value < num_tasks:
            raise ProblemDataError(f"task {value} does not exist ({num_tasks} tasks)", field=where)

    def machine_ref(value: Any, where: str) -> None:
        if not isinstance(value, int) or not 0 <= value < num_resources:
            raise ProblemDataError(f"resource {value} does not exist ({num_resources} resources)", field=where)
        if not isinstance(problem.resources[value], Machine):
            raise ProblemDataError(f"resource {value} is not a machine", field=where)

    for index, item in enumerate(problem.resources):
        if not isinstance(item, Machine | Renewable | Consumable):
            raise ProblemDataError("must be a Machine, Renewable or Consumable", field=f"resources[{index}]")
        if isinstance(item, Machine) and item.setup and len(item.setup) < families:
            raise ProblemDataError(
                f"setup matrix covers {len(item.setup)} families but tasks use {families}",
                field=f"resources[{index}].setup",
            )

    for index, task_record in enumerate(problem.tasks):
        where = f"tasks[{index}]"
        if task_record.job is not None and not 0 <= task_record.job < num_jobs:
            raise ProblemDataError(f"job {task_record.job} does not exist ({num_jobs} jobs)", field=f"{where}.job")
        usable = 0
        for mode_index, mode_record in enumerate(task_record.modes):
            mode_where = f"{where}.modes[{mode_index}]"
            fits = True
            for resource, demand in zip(mode_record.resources, mode_record.demands, strict=True):
                if not 0 <= resource < num_resources:
                    raise ProblemDataError(
                        f"resource {resource} does not exist ({num_resources} resources)",
                        field=f"{mode_where}.resources",
                    )
                record = problem.resources[resource]
                if not isinstance(record, Machine) and demand > record.capacity:
                    fits = False
            usable += fits
        if usable == 0:
            raise ProblemDataError("every mode demands more than a resource's capacity", field=f"{where}.modes")
        if task_record.fixed_mode is not None and task_record.fixed_start is None:
            raise ProblemDataError("a fixed mode needs a fixed start", field=f"{where}.fixed_start")

    for index, precedence in enumerate(problem.precedences):
        task_ref(precedence.before, f"precedences[{index}].before")
        task_ref(precedence.after, f"precedences[{index}].after")

    pairs = (
        ("identical_resources", problem.identical_resources),
        ("different_resources", problem.different_resources),
        ("consecutive", problem.consecutive),
    )
    for name, items in pairs:
        for index, pair in enumerate(items):
            task_ref(pair.task1, f"{name}[{index}].task1")
            task_ref(pair.task2, f"{name}[{index}].task2")

    for index, same in enumerate(problem.same_sequence):
        where = f"same_sequence[{index}]"
        machine_ref(same.machine1, f"{where}.machine1")
        machine_ref(same.machine2, f"{where}.machine2")
        tasks1 = problem.machine_tasks[same.machine1]
        tasks2 = problem.machine_tasks[same.machine2]
        if same.tasks1 is None or same.tasks2 is None:
            if len(tasks1) != len(tasks2):
                raise ProblemDataError(
                    f"machines can run {len(tasks1)} and {len(tasks2)} tasks; the counts must match",
                    field=where,
                )
            continue
        for name, listed, runnable in (("tasks1", same.tasks1, tasks1), ("tasks2", same.tasks2, tasks2)):
            for position, task in enumerate(listed):
                task_ref(task, f"{where}.{name}[{position}]")
            if set(listed) != set(runnable):
                raise ProblemDataError(
                    "must list exactly the tasks that can run on the machine", field=f"{where}.{name}"
                )

    for index, dependency in enumerate(problem.mode_dependencies):
        where = f"mode_dependencies[{index}]"
        for position, (task, mode) in enumerate(((dependency.task, dependency.mode), *dependency.then)):
            place = f"{where}.task" if position == 0 else f"{where}.then[{position - 1}]"
            task_ref(task, place)
            if not 0 <= mode < len(problem.tasks[task].modes):
                raise ProblemDataError(f"task {task} has no mode {mode}", field=place)

    for index, selection in enumerate(problem.selections):
        where = f"selections[{index}]"
        for position, task in enumerate(selection.tasks):
            task_ref(task, f"{where}.tasks[{position}]")
        if selection.condition is not None:
            task_ref(selection.condition, f"{where}.condition")

    if problem.objective.uses_due_dates:
        for index, job in enumerate(problem.jobs):
            if job.due is None:
                raise ProblemDataError("the objective uses due dates but this job has none", field=f"jobs[{index}].due")

    for task, start in problem.reference.items():
        task_ref(task, f"reference[{task}]")
        _non_negative(start, f"reference[{task}]")


def record(kind: type[_R], where: str, index: int, **values: Any) -> _R:
    """Construct one record of a list, naming its place in an error (``record(Task, "tasks", 3, ...)``)."""
    try:
        return kind(**values)
    except ProblemDataError as exc:
        raise _at(where, index, exc) from exc
    except TypeError as exc:
        raise ProblemDataError(str(exc), field=f"{where}[{index}]") from exc
