"""Reasons, in the problem's words, why no schedule exists. No solver: bounds propagated over time lags.

The time lags form a graph of difference constraints on task starts and ends. Longest paths from the origin
give each task's earliest start and end; a positive cycle means the hold times (maximum lags) cannot all be
kept with these durations; an earliest end after a deadline means the deadline cannot be met.
"""

from __future__ import annotations

from collections import defaultdict

from opencdmo.scheduling.problem import Consumable, Point, Problem

_ORIGIN = 0


def _label(problem: Problem, task: int) -> str:
    record = problem.tasks[task]
    name = record.name or f"task {task}"
    if record.job is not None:
        job = problem.jobs[record.job]
        return f"{name} (job {job.name or record.job})"
    return name


def _start(task: int) -> int:
    return 1 + 2 * task


def _end(task: int) -> int:
    return 2 + 2 * task


def infeasibility_reasons(problem: Problem, *, max_passes: int = 200) -> list[str]:
    """Reasons that prove no schedule exists (empty when none was found; the problem may still be infeasible)."""
    reasons = _capacity_reasons(problem)
    mandatory = [not t.optional for t in problem.tasks]
    # Edges (u, v, w, why): time(v) >= time(u) + w.
    edges: list[tuple[int, int, int, str]] = []
    for index, task in enumerate(problem.tasks):
        if not mandatory[index]:
            continue
        modes = [task.modes[m] for m in task.allowed_modes()]
        shortest = min(mode.duration for mode in modes)
        edges.append((_ORIGIN, _start(index), problem.release_of(index), ""))
        edges.append((_ORIGIN, _end(index), task.earliest_end, ""))
        edges.append((_start(index), _end(index), shortest, ""))
        if not (task.allow_idle or task.allow_breaks):
            edges.append((_end(index), _start(index), -max(mode.duration for mode in modes), ""))
        if task.fixed_start is not None:
            edges.append((_ORIGIN, _start(index), task.fixed_start, ""))
            edges.append((_start(index), _ORIGIN, -task.fixed_start, "fixed"))
    for precedence in problem.precedences:
        if not (mandatory[precedence.before] and mandatory[precedence.after]):
            continue
        before = (_start if precedence.before_point is Point.START else _end)(precedence.before)
        after = (_start if precedence.after_point is Point.START else _end)(precedence.after)
        edges.append((before, after, precedence.min_lag, ""))
        if precedence.max_lag is not None:
            why = (
                f"{_label(problem, precedence.after)} must {precedence.after_point} within {precedence.max_lag} min"
                f" of the {precedence.before_point} of {_label(problem, precedence.before)}"
            )
            edges.append((after, before, -precedence.max_lag, why))
    earliest, cycle = _longest_paths(2 * len(problem.tasks) + 1, edges, max_passes)
    if cycle is not None:
        holds = sorted({why for why in cycle if why and why != "fixed"})
        if holds:
            return [*reasons, "hold time impossible with these durations and lags: " + "; ".join(holds)]
        return [*reasons, "fixed tasks and time lags contradict each other"]
    if earliest is None:
        return reasons
    for index, task in enumerate(problem.tasks):
        if not mandatory[index]:
            continue
        latest_end = problem.latest_end_of(index)
        if latest_end is not None and earliest[_end(index)] > latest_end:
            reasons.append(
                f"deadline before earliest completion: {_label(problem, index)} cannot end before"
                f" {earliest[_end(index)]} but must end by {latest_end}"
            )
        if task.latest_start is not None and earliest[_start(index)] > task.latest_start:
            reasons.append(
                f"{_label(problem, index)} cannot start before {earliest[_start(index)]}"
                f" but must start by {task.latest_start}"
            )
    return reasons


def _capacity_reasons(problem: Problem) -> list[str]:
    reasons = []
    needed: dict[int, int] = defaultdict(int)
    for index, task in enumerate(problem.tasks):
        if task.optional:
            continue
        for resource, record in enumerate(problem.resources):
            if isinstance(record, Consumable):
                needed[resource] += min(
                    dict(zip(task.modes[m].resources, task.modes[m].demands, strict=True)).get(resource, 0)
                    for m in task.allowed_modes()
                )
        if task.fixed_mode is not None:
            mode = task.modes[task.fixed_mode]
            for resource, demand in zip(mode.resources, mode.demands, strict=True):
                capacity = getattr(problem.resources[resource], "capacity", None)
                if capacity is not None and demand > capacity:
                    reasons.append(f"no machine can run {_label(problem, index)}: its fixed mode needs too much")
    for resource, total in needed.items():
        record = problem.resources[resource]
        assert isinstance(record, Consumable)
        if total > record.capacity:
            reasons.append(
                f"{record.name or f'resource {resource}'}: mandatory tasks need {total}, only {record.capacity} there"
            )
    return reasons


def _longest_paths(
    size: int, edges: list[tuple[int, int, int, str]], max_passes: int
) -> tuple[list[int] | None, list[str] | None]:
    """Bellman-Ford for longest paths. Returns (earliest times, None), (None, reasons of a positive cycle),
    or (None, None) when it did not settle within ``max_passes``."""
    best = [-(2**62)] * size
    best[_ORIGIN] = 0
    via: list[int] = [-1] * size  # index of the edge that last improved each node
    for round_number in range(min(size, max_passes) + 1):
        changed = -1
        for position, (u, v, w, _why) in enumerate(edges):
            if best[u] > -(2**62) and best[u] + w > best[v]:
                best[v] = best[u] + w
                via[v] = position
                changed = v
        if changed < 0:
            return best, None
        if round_number % 5 != 4:
            continue
        node = changed
        for _ in range(size):  # walk back far enough to land on a cycle if there is one
            if via[node] < 0:
                break
            node = edges[via[node]][0]
        else:
            reasons, current = [], node
            while True:
                u, _v, _w, why = edges[via[current]]
                reasons.append(why)
                current = u
                if current == node:
                    return None, reasons
    return None, None
