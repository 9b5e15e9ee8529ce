"""A cheap lower bound on the objective, valid for every schedule: each job on its own.

Every mandatory task starts no earlier than its release (or at its fixed start) and lasts at least its shortest
allowed mode; minimum lags between mandatory tasks carry these earliest times along the precedences. Machines,
renewables, changeovers and downtime are ignored, so the earliest completion of each job is a relaxation and
the terms that grow with completion times (makespan, tardiness, tardy jobs, flow time) are bounded from below.
Setup time: a task that runs on one machine in each of its modes and is not the first on that machine follows
some task there, so it pays at least the cheapest changeover into its family on its cheapest machine; at most
one task per machine is first. Earliness and deviation are bounded by 0. It costs one pass over the
precedences and the tasks, so the large-neighbourhood search, which has no bound of its own, can report it.
"""

from __future__ import annotations

from collections import defaultdict

from opencdmo.scheduling.heuristics import topological_positions
from opencdmo.scheduling.problem import Machine, Point, Precedence, Problem


def earliest_ends(problem: Problem) -> list[int | None]:
    """A lower bound on the end of each mandatory task (None for an optional task, which may not run)."""
    tasks = problem.tasks
    mandatory = [not task.optional or task.is_fixed for task in tasks]
    shortest: list[int] = []
    longest: list[int] = []
    start: list[int] = []
    end: list[int] = []
    for index, record in enumerate(tasks):
        durations = [record.modes[m].duration for m in record.allowed_modes()]
        shortest.append(min(durations))
        longest.append(max(durations))
        first = record.fixed_start if record.fixed_start is not None else problem.release_of(index)
        start.append(first)
        end.append(max(record.earliest_end, first + shortest[-1]))
    following: dict[int, list[Precedence]] = defaultdict(list)
    for precedence in problem.precedences:
        if mandatory[precedence.before] and mandatory[precedence.after]:
            following[precedence.before].append(precedence)
    # Each step raises a bound using other valid bounds, so any order is sound; topological order is tightest.
    order = topological_positions(problem)
    for task in sorted(range(len(tasks)), key=lambda t: order[t]):
        end[task] = max(end[task], start[task] + shortest[task])
        for precedence in following[task]:
            after = precedence.after
            if tasks[after].is_fixed:
                continue
            value = start[task] if precedence.before_point is Point.START else end[task]
            value += precedence.min_lag
            if precedence.after_point is Point.START:
                start[after] = max(start[after], value)
            else:
                end[after] = max(end[after], value)
                start[after] = max(start[after], value - longest[after])
    return [end[t] if mandatory[t] else None for t in range(len(tasks))]


def lower_bound(problem: Problem) -> int:
    """A lower bound on :func:`opencdmo.scheduling.evaluate`'s total for any feasible schedule."""
    weights = problem.objective.weights()
    ends = earliest_ends(problem)
    terms = dict.fromkeys(weights, 0)
    terms["makespan"] = max((end for end in ends if end is not None), default=0)
    for index, job in enumerate(problem.jobs):
        known = [end for t in problem.job_tasks[index] if (end := ends[t]) is not None]
        if not known:
            continue
        completion = max(known)
        terms["flow_time"] += job.weight * (completion - job.release)
        if job.due is not None:
            tardiness = max(0, completion - job.due)
            terms["weighted_tardiness"] += job.weight * tardiness
            terms["tardy_jobs"] += job.weight * (tardiness > 0)
            terms["max_tardiness"] = max(terms["max_tardiness"], job.weight * tardiness)
    if weights["setup_time"]:
        terms["setup_time"] = setup_bound(problem)
    return sum(weights[name] * value for name, value in terms.items())


def setup_bound(problem: Problem) -> int:
    """A lower bound on the total changeover time (see the module docstring)."""
    cheapest_into: dict[tuple[int, int], int] = {}
    paid: list[int] = []
    for task in problem.tasks:
        if task.optional and not task.is_fixed:
            continue
        least: int | None = None
        for mode_index in task.allowed_modes():
            machines = [r for r in task.modes[mode_index].resources if isinstance(problem.resources[r], Machine)]
            if len(machines) != 1:
                least = 0
                break
            key = (machines[0], task.family)
            if key not in cheapest_into:
                machine = problem.resources[machines[0]]
                assert isinstance(machine, Machine)
                cheapest_into[key] = min((row[task.family] for row in machine.setup), default=0)
            least = cheapest_into[key] if least is None else min(least, cheapest_into[key])
        if least:
            paid.append(least)
    paid.sort()
    firsts = len(problem.machine_indices)  # each machine runs at most one task without a predecessor
    return sum(paid[: max(0, len(paid) - firsts)])
