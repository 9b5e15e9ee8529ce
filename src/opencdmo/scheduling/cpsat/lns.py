"""Large-neighbourhood search for instances too big for one model (a network-year).

Each step frees the tasks of a few jobs around an anchor job (mostly a late one, the costliest more often),
starting with the jobs just before it on its machines (what holds it back), then those competing for its
resources around its time, then those running near it; it freezes everything else and re-optimises the freed
tasks with CP-SAT within a time box of about a second. The subproblem is an ordinary
:class:`Problem`: the freed tasks keep their modes and get a time window, and every frozen task they could
touch (same machine near the window, same renewable during it, a precedence neighbour, the last task of their
job) comes along as a fixed task. So the subproblem is small, its changeover circuits are cheap, and any of
its solutions is feasible for the whole problem. A step is kept when the independent checker accepts the
subproblem's solution and the whole objective does not get worse (equal moves are kept, to cross plateaus).
"""

from __future__ import annotations

import random
import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace

from ortools.sat.python import cp_model

from opencdmo.scheduling.check import check, evaluate
from opencdmo.scheduling.cpsat.model import CpsatModel
from opencdmo.scheduling.problem import Machine, Problem, Renewable, Task
from opencdmo.scheduling.result import Progress, Schedule, ScheduledTask

ProgressCallback = Callable[[Progress], None]


def supports(problem: Problem) -> bool:
    """The LNS handles the constraints of production scheduling; exotic ones go to one CP-SAT model."""
    return not (
        problem.consecutive
        or problem.same_sequence
        or problem.selections
        or problem.mode_dependencies
        or problem.identical_resources
        or problem.different_resources
        or any(t.optional or t.allow_idle for t in problem.tasks)
        or any(not isinstance(r, Machine | Renewable) for r in problem.resources)
        or any(isinstance(r, Machine) and r.no_idle for r in problem.resources)
    )


class _Index:
    """Where each task currently runs, for finding frozen neighbours quickly."""

    def __init__(self, problem: Problem, schedule: Schedule) -> None:
        self.by_resource: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for item in schedule.tasks:
            for resource in problem.tasks[item.task].modes[item.mode].resources:
                self.by_resource[resource].append((item.start, item.end, item.task))
        for items in self.by_resource.values():
            items.sort()
        self.starts = {r: [s for s, _, _ in items] for r, items in self.by_resource.items()}
        self.longest = {  # on a renewable tasks overlap, so a long one that started well before may still run
            r: max(e - s for s, e, _ in items)
            for r, items in self.by_resource.items()
            if items and isinstance(problem.resources[r], Renewable)
        }
        self.order = sorted(range(len(schedule.tasks)), key=lambda t: schedule[t].start)
        self.position = {task: k for k, task in enumerate(self.order)}

    def around(self, resource: int, first: int, last: int, reach: int, sides: bool = True) -> range:
        """Positions (in the resource's list) of tasks overlapping ``[first - reach, last + reach]``, plus one
        on each side, so changeovers to and from the window are seen."""
        items, starts = self.by_resource.get(resource, []), self.starts.get(resource, [])
        low = bisect_left(starts, first - reach - self.longest.get(resource, 0))
        while low > 0 and items[low - 1][1] > first - reach:  # on a machine, ends grow with starts
            low -= 1
        high = bisect_right(starts, last + reach)
        if not sides:
            return range(low, high)
        return range(max(0, low - 1), min(len(items), high + 1))

    def tasks(self, resource: int, positions: range) -> list[int]:
        items = self.by_resource.get(resource, [])
        return [items[k][2] for k in positions]


class _Search:
    def __init__(
        self,
        problem: Problem,
        schedule: Schedule,
        deadline: float,
        workers: int,
        seed: int,
        on_progress: ProgressCallback | None,
        clock: float,
        bound: int = 0,
    ) -> None:
        self.problem = problem
        self.bound = bound
        self.schedule = schedule
        self.deadline = deadline
        self.workers = workers
        self.random = random.Random(seed)
        self.seed = seed
        self.on_progress = on_progress
        self.clock = clock
        self.best = evaluate(problem, schedule).total
        weights = problem.objective.weights()
        self.additive = not (weights["makespan"] or weights["max_tardiness"])
        self.size = min(60, max(10, len(problem.tasks) // 3))
        self.step_limit = 1.0
        self.neighbours: dict[int, list[int]] = defaultdict(list)
        for precedence in problem.precedences:
            self.neighbours[precedence.before].append(precedence.after)
            self.neighbours[precedence.after].append(precedence.before)
        self.reach = 0
        for resource in problem.resources:
            if isinstance(resource, Machine) and resource.setup:
                self.reach = max(self.reach, max(max(row) for row in resource.setup))
        self.index = _Index(problem, schedule)
        durations = sorted(item.end - item.start for item in schedule.tasks if item.present)
        self.typical = durations[len(durations) // 2] if durations else 0

    def run(self) -> Schedule:
        while time.perf_counter() < self.deadline - 0.05:
            free = self._choose()
            if not free:
                break
            self._step(free)
        return self.schedule

    def _late_jobs(self) -> list[tuple[int, int]]:
        """Late jobs with their weighted tardiness."""
        late = []
        for job, tasks in enumerate(self.problem.job_tasks):
            due = self.problem.jobs[job].due
            if due is None or not tasks:
                continue
            excess = max(self.schedule[t].end for t in tasks) - due
            if excess > 0:
                late.append((job, excess * max(1, self.problem.jobs[job].weight)))
        return late

    def _pick_late(self, late: list[tuple[int, int]]) -> int:
        """A late job: half the time the costliest weigh most, else any, so cheap late jobs get their turn too."""
        if self.random.random() < 0.5:
            return self.random.choices([job for job, _ in late], weights=[cost for _, cost in late])[0]
        return self.random.choice(late)[0]

    def _just_before(self, task: int, count: int = 3) -> list[int]:
        """The tasks that run just before ``task`` on its machines: what holds a late job back."""
        item = self.schedule[task]
        found: list[int] = []
        for resource in self.problem.tasks[task].modes[item.mode].resources:
            if not isinstance(self.problem.resources[resource], Machine):
                continue
            items, starts = self.index.by_resource.get(resource, []), self.index.starts.get(resource, [])
            position = bisect_left(starts, item.start)
            found.extend(items[k][2] for k in range(max(0, position - count), position) if items[k][2] != task)
        return found

    def _choose(self) -> list[int]:
        """Whole jobs around an anchor job: the jobs just before it on its machines first, then jobs competing
        for its resources around its time, then jobs running near it; up to ``size`` movable tasks.

        The anchor is mostly a late job (when the objective has due dates), else a random task's job.
        """
        problem, schedule, order = self.problem, self.schedule, self.index.order
        late = self._late_jobs() if problem.objective.uses_due_dates and self.random.random() < 0.95 else []
        if late:
            job = self._pick_late(late)
            anchor_task = max(problem.job_tasks[job], key=lambda t: schedule[t].end)
        else:
            anchor_task = self.random.choice(order)
        position = self.index.position[anchor_task]
        span = 3 * self.size
        window = order[max(0, position - span) : position + span // 3 + 1]
        self.random.shuffle(window)
        anchor_job = problem.tasks[anchor_task].job
        anchors = list(problem.job_tasks[anchor_job]) if anchor_job is not None else [anchor_task]
        blocking: list[int] = []
        related: list[int] = []
        for task in anchors:  # tasks competing with the anchor job for its resources, around its time
            blocking.extend(self._just_before(task))
            first, last = self._window(task)
            for mode in problem.tasks[task].modes:
                for resource in mode.resources:
                    related.extend(self.index.tasks(resource, self.index.around(resource, first, last, 0)))
        self.random.shuffle(blocking)
        self.random.shuffle(related)
        chosen: list[int] = []
        seen: set[int] = set()
        candidates = anchors + blocking + related + window
        for task in candidates:
            owner = problem.tasks[task].job
            members = problem.job_tasks[owner] if owner is not None else (task,)
            key = owner if owner is not None else -1 - task
            if key in seen:
                continue
            seen.add(key)
            movable = [t for t in members if not problem.tasks[t].is_fixed]
            if len(chosen) + len(movable) > self.size and chosen:
                break
            chosen.extend(movable)
        return chosen

    def _window(self, task: int) -> tuple[int, int]:
        """Where a freed task may move: a few typical durations earlier, one later."""
        item = self.schedule[task]
        return max(0, item.start - 3 * self.typical), item.end + self.typical

    def _subproblem(self, free: list[int]) -> tuple[Problem, list[int]]:
        problem, schedule = self.problem, self.schedule
        free_set = set(free)
        context: set[int] = set()
        spans: dict[int, tuple[int, int]] = {}
        for task in free:
            first, last = self._window(task)
            for mode in problem.tasks[task].modes:
                for resource in mode.resources:
                    sequenced = isinstance(problem.resources[resource], Machine)
                    positions = self.index.around(resource, first, last, self.reach, sides=sequenced)
                    low, high = spans.get(resource, (positions.start, positions.stop))
                    spans[resource] = (min(low, positions.start), max(high, positions.stop))
            context.update(self.neighbours[task])
            job = problem.tasks[task].job
            if job is not None:
                context.add(max(problem.job_tasks[job], key=lambda t: schedule[t].end))
        # Whole runs of each machine's sequence, so no changeover is checked between tasks that are not adjacent;
        # a renewable has no sequence, so the tasks overlapping the windows are enough there.
        for resource, (low, high) in spans.items():
            context.update(self.index.tasks(resource, range(low, high)))
        context -= free_set
        members = sorted(free_set | context)
        position = {t: k for k, t in enumerate(members)}
        tasks: list[Task] = []
        for task in members:
            record, item = problem.tasks[task], schedule[task]
            if task in free_set:
                first, last = self._window(task)
                tasks.append(
                    replace(
                        record,
                        earliest_start=max(record.earliest_start, first),
                        latest_end=min(record.latest_end or last, last),
                        earliest_end=min(record.earliest_end, last),
                    )
                )
            else:
                tasks.append(
                    replace(record, fixed_start=item.start, fixed_mode=item.mode, latest_start=None, latest_end=None)
                )
        precedences = tuple(
            replace(p, before=position[p.before], after=position[p.after])
            for p in problem.precedences
            if p.before in position and p.after in position and (p.before in free_set or p.after in free_set)
        )
        reference = {position[t]: s for t, s in problem.reference.items() if t in position}
        sub = Problem(
            jobs=problem.jobs,
            resources=problem.resources,
            tasks=tuple(tasks),
            precedences=precedences,
            objective=problem.objective,
            reference=reference,
        )
        return sub, members

    def _step(self, free: list[int]) -> None:
        sub, members = self._subproblem(free)
        current = Schedule(
            tuple(
                ScheduledTask(k, self.schedule[t].mode, self.schedule[t].start, self.schedule[t].end)
                for k, t in enumerate(members)
            )
        )
        horizon = max(item.end for item in current.tasks) + 1
        building = time.perf_counter()
        built = CpsatModel(sub, horizon=horizon, circuit_limit=10**9)
        if time.perf_counter() - building > self.step_limit:  # the windows are too crowded: take fewer tasks
            self.size = max(10, self.size // 2)
        built.add_hint(current)
        solver = cp_model.CpSolver()
        limit = min(self.step_limit, self.deadline - time.perf_counter())
        if limit <= 0.05:
            return
        solver.parameters.max_time_in_seconds = limit
        solver.parameters.num_workers = self.workers
        solver.parameters.random_seed = self.seed
        started = time.perf_counter()
        code = solver.solve(built.model)
        took = time.perf_counter() - started
        if code == cp_model.OPTIMAL and took < limit / 2:
            self.size = min(300, int(self.size * 1.15) + 1)
        elif code != cp_model.OPTIMAL:
            self.size = max(10, int(self.size * 0.85))
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return
        solution = built.decode(solver)
        if check(sub, solution):  # the independent checker has the last word on every step
            return
        items = list(self.schedule.tasks)
        for item in solution.tasks:
            task = members[item.task]
            items[task] = ScheduledTask(task, item.mode, item.start, item.end)
        candidate = Schedule(tuple(items))
        if self.additive:  # every term is a sum over jobs, machines or tasks that the subproblem holds whole
            value = self.best + evaluate(sub, solution).total - evaluate(sub, current).total
        else:
            value = evaluate(self.problem, candidate).total
        if value <= self.best:
            improved = value < self.best
            self.schedule, self.best = candidate, value
            self.index = _Index(self.problem, candidate)
            if improved and self.on_progress is not None:
                self.on_progress(Progress(value, min(self.bound, value), time.perf_counter() - self.clock))


def large_neighbourhood_search(
    problem: Problem,
    start: Schedule,
    *,
    deadline: float,
    workers: int,
    seed: int,
    on_progress: ProgressCallback | None,
    clock: float,
    bound: int = 0,
) -> Schedule:
    """Improve a feasible schedule until ``deadline`` (a ``time.perf_counter()`` value); ``bound`` is the lower
    bound reported with each improvement."""
    return _Search(problem, start, deadline, workers, seed, on_progress, clock, bound).run()
