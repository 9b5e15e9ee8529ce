"""Greedy earliest-finish list scheduling: the ``greedy`` strategy and the warm start of the optimiser.

:func:`greedy` stands for how ERP schedulers work: take the work in priority order (due date, then earliest
start), and
put each task, in whichever mode finishes first, into the earliest gap of its machines where it fits with its
changeovers, the capacity of its renewable resources and the downtime windows. Tasks tied by hold times (a
maximum lag) are placed together; when a hold is broken the predecessor is pushed later and the group retried.

Hard constraints it respects: modes, release dates, fixed tasks, machine capacity with family changeovers,
downtime, renewable and consumable capacity, minimum lags, hold times (by retrying), selection of optional
tasks, identical and different resources. It does not guarantee deadlines, no-idle machines, consecutive
tasks, same sequence or mode dependencies: :func:`opencdmo.scheduling.check` reports what it breaks.

:func:`greedy` is one pass, the honest baseline. The optimiser starts from :func:`construct` instead: one pass
per dispatch rule (due date, release date, earliest start, modified due date), the best feasible one by
objective. No rule wins everywhere: on the demo networks first come, first served follows the plan the due
dates were promised from; on tight random instances the modified due date does.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter

from opencdmo.scheduling import timeline
from opencdmo.scheduling.check import check, evaluate, mode_breaks
from opencdmo.scheduling.problem import (
    Consumable,
    Machine,
    Point,
    Precedence,
    Problem,
    Renewable,
    SelectionKind,
    TaskPair,
)
from opencdmo.scheduling.result import Schedule, ScheduledTask

EndOf = Callable[[int], int]
_RETRIES = 40


class MachineTimeline:
    """Busy intervals of one machine, sorted, with the family of each task for changeovers."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.families: list[int] = []
        self.tasks: list[int] = []

    def fit(self, time: int, end_of: EndOf, family: int) -> int:
        """Earliest start at or after ``time`` for a task of ``family`` that ends at ``end_of(start)``."""
        setup = self.machine.setup_time if self.machine.setup else None
        index = bisect_right(self.starts, time)
        count = len(self.starts)
        while True:
            start = time
            if index > 0:
                before = setup(self.families[index - 1], family) if setup else 0
                start = max(start, self.ends[index - 1] + before)
            if index == count:
                return start
            after = setup(family, self.families[index]) if setup else 0
            if end_of(start) + after <= self.starts[index]:
                return start
            index += 1

    def add(self, task: int, start: int, end: int, family: int) -> None:
        index = bisect_right(self.starts, start)
        self.starts.insert(index, start)
        self.ends.insert(index, end)
        self.families.insert(index, family)
        self.tasks.insert(index, task)

    def remove(self, task: int) -> None:
        index = self.tasks.index(task)
        for values in (self.starts, self.ends, self.families, self.tasks):
            del values[index]


class CapacityProfile:
    """Usage of a renewable resource over time, as a step function."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.times: list[int] = [0]
        self.usage: list[int] = [0]

    def fit(self, time: int, end_of: EndOf, demand: int) -> int:
        while True:
            end = end_of(time)
            if end <= time:
                return time
            index = bisect_right(self.times, time) - 1
            while index < len(self.times) and self.times[index] < end:
                if self.usage[index] + demand > self.capacity:
                    break
                index += 1
            else:
                return time
            time = self.times[index + 1]

    def _split(self, time: int) -> int:
        index = bisect_right(self.times, time) - 1
        if self.times[index] == time:
            return index
        self.times.insert(index + 1, time)
        self.usage.insert(index + 1, self.usage[index])
        return index + 1

    def add(self, start: int, end: int, demand: int) -> None:
        if end <= start or demand == 0:
            return
        first, last = self._split(start), self._split(end)
        for index in range(first, last):
            self.usage[index] += demand


def select_present(problem: Problem) -> list[bool]:
    """Which tasks run: every mandatory or fixed task, plus optional ones the selection rules require."""
    present = [not task.optional or task.is_fixed for task in problem.tasks]
    changed = True
    while changed:
        changed = False
        for selection in problem.selections:
            if selection.condition is not None and not present[selection.condition]:
                continue
            chosen = [t for t in selection.tasks if present[t]]
            if selection.kind is SelectionKind.ALL_OR_NONE:
                missing = [t for t in selection.tasks if not present[t]] if chosen else []
            else:
                missing = [] if chosen else [selection.tasks[0]]
            for task in missing:
                present[task] = True
                changed = True
    return present


@dataclass
class _Bound:
    """A bound on a point of a task implied by a scheduled neighbour (``source``)."""

    value: int
    point: Point
    source: int


class _Greedy:
    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.present = select_present(problem)
        self.machines = {i: MachineTimeline(r) for i, r in enumerate(problem.resources) if isinstance(r, Machine)}
        self.profiles = {
            i: CapacityProfile(r.capacity) for i, r in enumerate(problem.resources) if isinstance(r, Renewable)
        }
        self.consumed: dict[int, int] = defaultdict(int)
        self.placed: dict[int, ScheduledTask] = {}
        self.links: dict[int, list[Precedence]] = defaultdict(list)
        for precedence in problem.precedences:
            if self.present[precedence.before] and self.present[precedence.after]:
                self.links[precedence.before].append(precedence)
                self.links[precedence.after].append(precedence)
        self.breaks: dict[tuple[int, int], tuple[timeline.Window, ...]] = {}
        self.partners: dict[int, list[tuple[int, bool]]] = defaultdict(list)
        pair: TaskPair
        for pair in problem.identical_resources:
            self.partners[pair.task1].append((pair.task2, True))
            self.partners[pair.task2].append((pair.task1, True))
        for pair in problem.different_resources:
            self.partners[pair.task1].append((pair.task2, False))
            self.partners[pair.task2].append((pair.task1, False))

    # Placement of one task.

    def _mode_breaks(self, task: int, mode: int) -> tuple[timeline.Window, ...]:
        key = (task, mode)
        if key not in self.breaks:
            self.breaks[key] = mode_breaks(self.problem, task, mode)
        return self.breaks[key]

    def _bounds(self, task: int) -> tuple[list[_Bound], list[_Bound]]:
        lower: list[_Bound] = []
        upper: list[_Bound] = []
        for precedence in self.links[task]:
            if precedence.after == task and precedence.before in self.placed:
                other = self.placed[precedence.before]
                value = other.start if precedence.before_point is Point.START else other.end
                point = precedence.after_point
                lower.append(_Bound(value + precedence.min_lag, point, other.task))
                if precedence.max_lag is not None:
                    upper.append(_Bound(value + precedence.max_lag, point, other.task))
            elif precedence.before == task and precedence.after in self.placed:
                other = self.placed[precedence.after]
                value = other.start if precedence.after_point is Point.START else other.end
                point = precedence.before_point
                upper.append(_Bound(value - precedence.min_lag, point, other.task))
                if precedence.max_lag is not None:
                    lower.append(_Bound(value - precedence.max_lag, point, other.task))
        return lower, upper

    def _allowed_modes(self, task: int) -> list[int]:
        record = self.problem.tasks[task]
        modes = list(record.allowed_modes())
        for partner, identical in self.partners[task]:
            if partner not in self.placed or not self.placed[partner].present:
                continue
            other = self.placed[partner]
            used = set(self.problem.tasks[partner].modes[other.mode].resources)
            if identical:
                keep = [m for m in modes if set(record.modes[m].resources) == used]
            else:
                keep = [m for m in modes if not set(record.modes[m].resources) & used]
            modes = keep or modes
        fitting = [m for m in modes if self._fits_capacity(task, m)]
        return fitting or modes

    def _fits_capacity(self, task: int, mode: int) -> bool:
        record = self.problem.tasks[task].modes[mode]
        for resource, demand in zip(record.resources, record.demands, strict=True):
            capacity = self.problem.resources[resource]
            if isinstance(capacity, Renewable) and demand > capacity.capacity:
                return False
            if isinstance(capacity, Consumable) and self.consumed[resource] + demand > capacity.capacity:
                return False
        return True

    def _earliest(self, task: int, mode: int, time: int) -> tuple[int, int]:
        record = self.problem.tasks[task]
        chosen = record.modes[mode]
        breaks = self._mode_breaks(task, mode)
        pausing = record.allow_breaks

        def end_of(start: int) -> int:
            return timeline.finish(start, chosen.duration, breaks, pausing)

        while True:
            before = time
            time = timeline.earliest_start(time, chosen.duration, breaks, pausing)
            for resource, demand in zip(chosen.resources, chosen.demands, strict=True):
                if resource in self.machines:
                    time = self.machines[resource].fit(time, end_of, record.family)
                elif resource in self.profiles and demand:
                    time = self.profiles[resource].fit(time, end_of, demand)
            if time == before:
                return time, end_of(time)

    def _commit(self, item: ScheduledTask) -> None:
        self.placed[item.task] = item
        if not item.present:
            return
        record = self.problem.tasks[item.task]
        mode = record.modes[item.mode]
        for resource, demand in zip(mode.resources, mode.demands, strict=True):
            if resource in self.machines:
                self.machines[resource].add(item.task, item.start, item.end, record.family)
            elif resource in self.profiles:
                self.profiles[resource].add(item.start, item.end, demand)
            else:
                self.consumed[resource] += demand

    def _undo(self, task: int) -> None:
        item = self.placed.pop(task)
        mode = self.problem.tasks[task].modes[item.mode]
        for resource, demand in zip(mode.resources, mode.demands, strict=True):
            if resource in self.machines:
                self.machines[resource].remove(task)
            elif resource in self.profiles:
                self.profiles[resource].add(item.start, item.end, -demand)
            else:
                self.consumed[resource] -= demand

    def place(self, task: int, push: int) -> tuple[ScheduledTask, _Bound | None]:
        """Place a task at its earliest finish; also return the hold bound it breaks, if any."""
        record = self.problem.tasks[task]
        lower, upper = self._bounds(task)
        best: tuple[tuple[int, int, int], ScheduledTask, _Bound | None] | None = None
        for mode in self._allowed_modes(task):
            duration = record.modes[mode].duration
            time = max(self.problem.release_of(task), push, record.earliest_end - duration)
            for bound in lower:
                time = max(time, bound.value - (duration if bound.point is Point.END else 0))
            start, end = self._earliest(task, mode, time)
            broken = None
            for bound in upper:
                excess = (start if bound.point is Point.START else end) - bound.value
                if excess > 0 and (broken is None or excess > broken.value):
                    broken = _Bound(excess, bound.point, bound.source)
            key = (broken.value if broken else 0, end, start)
            if best is None or key < best[0]:
                best = (key, ScheduledTask(task, mode, start, end), broken)
        assert best is not None
        return best[1], best[2]

    # The list scheduling loop.

    def run(self, priority: Callable[[int, int], tuple[int, ...]]) -> Schedule:
        problem = self.problem
        for index, record in enumerate(problem.tasks):
            if not self.present[index]:
                self._commit(ScheduledTask(index, 0, 0, 0, present=False))
            elif record.fixed_start is not None:
                mode = record.fixed_mode if record.fixed_mode is not None else 0
                breaks = self._mode_breaks(index, mode)
                end = timeline.finish(record.fixed_start, record.modes[mode].duration, breaks, record.allow_breaks)
                self._commit(ScheduledTask(index, mode, record.fixed_start, end))
        groups = _hold_groups(problem, self.present, set(self.placed))
        group_of = {task: number for number, members in enumerate(groups) for task in members}
        waiting = [0] * len(groups)
        successors: dict[int, set[int]] = defaultdict(set)
        for precedence in problem.precedences:
            before, after = precedence.before, precedence.after
            if before not in group_of or after not in group_of:
                continue
            first, second = group_of[before], group_of[after]
            if first != second and second not in successors[first]:
                successors[first].add(second)
                waiting[second] += 1
        ready = [(self._key(priority, members), n) for n, members in enumerate(groups) if not waiting[n]]
        heapq.heapify(ready)
        done = [False] * len(groups)
        while len(self.placed) < len(problem.tasks):
            if ready:
                _, number = heapq.heappop(ready)
            else:  # a cycle of precedences between groups: break it at the first waiting group
                number = next(n for n, finished in enumerate(done) if not finished)
            if done[number]:
                continue
            self._place_group(groups[number])
            done[number] = True
            for successor in successors[number]:
                waiting[successor] -= 1
                if waiting[successor] == 0:
                    heapq.heappush(ready, (self._key(priority, groups[successor]), successor))
        return Schedule.of(list(self.placed.values()))

    def _key(self, priority: Callable[[int, int], tuple[int, ...]], members: list[int]) -> tuple[int, ...]:
        """Priority of a group that just became ready, from its first task and its earliest start.

        A group held by work already placed (the next stage of a started batch, whose hold time runs from a
        fixed task) goes before every other, most pressing hold first: placed later, the other groups could
        take its machines for longer than the hold allows, and the placed work cannot move to make room.
        """
        task = members[0]
        shortest = min(mode.duration for mode in self.problem.tasks[task].modes)
        lower, _ = self._bounds(task)
        earliest = max(
            [self.problem.release_of(task)] + [b.value - (shortest if b.point is Point.END else 0) for b in lower]
        )
        holds = [bound.value for member in members for bound in self._bounds(member)[1]]
        if holds:
            return (0, min(holds), *priority(task, earliest))
        return (1, *priority(task, earliest))

    def _place_group(self, members: list[int]) -> None:
        pushes: dict[int, int] = defaultdict(int)
        for _ in range(_RETRIES):
            placed: list[int] = []
            retry = False
            for task in members:
                item, broken = self.place(task, pushes[task])
                if broken is not None and broken.source in members and broken.source in placed:
                    source = self.placed[broken.source]
                    pushes[broken.source] = source.start + broken.value
                    for done_task in reversed(placed):
                        self._undo(done_task)
                    retry = True
                    break
                self._commit(item)
                placed.append(task)
            if not retry:
                return
        for task in members:  # give up on the holds: place the group without retrying
            if task not in self.placed:
                self._commit(self.place(task, pushes[task])[0])


def _hold_groups(problem: Problem, present: list[bool], placed: set[int]) -> list[list[int]]:
    """Unplaced present tasks grouped by hold times (maximum lags), each group in precedence order."""
    parent = list(range(len(problem.tasks)))

    def root(task: int) -> int:
        while parent[task] != task:
            parent[task] = parent[parent[task]]
            task = parent[task]
        return task

    free = [present[t] and t not in placed for t in range(len(problem.tasks))]
    for precedence in problem.precedences:
        if precedence.max_lag is not None and free[precedence.before] and free[precedence.after]:
            parent[root(precedence.before)] = root(precedence.after)
    members: dict[int, list[int]] = defaultdict(list)
    for task in range(len(problem.tasks)):
        if free[task]:
            members[root(task)].append(task)
    order = topological_positions(problem)
    return [sorted(tasks, key=lambda t: order[t]) for tasks in members.values()]


def topological_positions(problem: Problem) -> list[int]:
    """Position of each task in a topological order of the precedences (cycles broken by index)."""
    count = len(problem.tasks)
    incoming = [0] * count
    outgoing: dict[int, list[int]] = defaultdict(list)
    for precedence in problem.precedences:
        outgoing[precedence.before].append(precedence.after)
        incoming[precedence.after] += 1
    queue = [t for t in range(count) if incoming[t] == 0]
    heapq.heapify(queue)
    position = [-1] * count
    seen = 0
    while seen < count:
        if not queue:
            stuck = next(t for t in range(count) if position[t] < 0)
            incoming[stuck] = 0
            queue.append(stuck)
        task = heapq.heappop(queue)
        if position[task] >= 0:
            continue
        position[task] = seen
        seen += 1
        for successor in outgoing[task]:
            incoming[successor] -= 1
            if incoming[successor] == 0 and position[successor] < 0:
                heapq.heappush(queue, successor)
    return position


def tails(problem: Problem) -> list[int]:
    """Shortest remaining work from each task's start to the end of its last successor (a makespan hint)."""
    order = topological_positions(problem)
    shortest = [min(mode.duration for mode in task.modes) for task in problem.tasks]
    tail = list(shortest)
    outgoing: dict[int, list[int]] = defaultdict(list)
    for precedence in problem.precedences:
        outgoing[precedence.before].append(precedence.after)
    for task in sorted(range(len(problem.tasks)), key=lambda t: -order[t]):
        for successor in outgoing[task]:
            if order[successor] > order[task]:
                tail[task] = max(tail[task], shortest[task] + tail[successor])
    return tail


DISPATCH_RULES = ("due", "release", "start", "modified_due")
_LATE = 2**40


def dispatch(problem: Problem, rule: str = "due") -> Schedule:
    """One earliest-finish list-scheduling pass taking ready work in the order of a dispatch rule.

    Every rule first takes the task with the earliest hard deadline; then ``due`` (the earliest due date, or
    with no due dates the earliest start), ``release`` (the job's release date: first come, first served),
    ``start`` (the earliest possible start) or ``modified_due`` (the due date less the work still ahead of the
    task, but not before it can start).
    """
    if rule not in DISPATCH_RULES:
        raise ValueError(f"unknown dispatch rule {rule!r}; choose one of {', '.join(DISPATCH_RULES)}")
    tail = tails(problem)
    due_first = problem.objective.uses_due_dates

    def priority(task: int, earliest: int) -> tuple[int, ...]:
        record = problem.tasks[task]
        job = problem.jobs[record.job] if record.job is not None else None
        due = job.due if job is not None and job.due is not None else _LATE
        release = job.release if job is not None else 0
        deadline = problem.latest_end_of(task)
        urgent = deadline if deadline is not None else _LATE
        if rule == "release":
            return (urgent, release, earliest, due, -tail[task], task)
        if rule == "start":
            return (urgent, earliest, due, -tail[task], task)
        if rule == "modified_due":
            return (urgent, max(due - tail[task], earliest), earliest, -tail[task], task)
        if due_first:
            return (urgent, due, earliest, -tail[task], task)
        return (urgent, earliest, -tail[task], task)

    return _Greedy(problem).run(priority)


def greedy(problem: Problem) -> Schedule:
    """The ERP-like baseline: ONE earliest-finish list-scheduling pass, by due date (see the module docstring).

    This is the ``greedy`` strategy that the optimiser's targets are measured against; the optimiser itself
    starts from :func:`construct`, which tries several dispatch rules.
    """
    return dispatch(problem, "due")


def construct(problem: Problem, *, deadline: float | None = None) -> Schedule | None:
    """The warm start of the optimiser: the best feasible schedule of one pass per dispatch rule.

    Each pass is the list scheduler of :func:`greedy` with another priority (:data:`DISPATCH_RULES`); the
    passes are ranked by objective and the best one the independent checker accepts is returned (None when
    none is feasible). Passes after the first are skipped once ``deadline`` (a ``time.perf_counter()``
    value) has passed.
    """
    candidates: list[tuple[int, int, Schedule]] = []
    for number, rule in enumerate(DISPATCH_RULES):
        if number and deadline is not None and perf_counter() > deadline:
            break
        schedule = dispatch(problem, rule)
        candidates.append((evaluate(problem, schedule).total, number, schedule))
    for _, _, schedule in sorted(candidates, key=lambda item: item[:2]):
        if not check(problem, schedule):
            return schedule
    return None
