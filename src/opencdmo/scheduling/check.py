"""An independent checker and evaluator of schedules. Uses no solver: plain loops over the schedule.

:func:`check` lists every violated hard constraint; :func:`evaluate` computes the objective terms.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

from opencdmo.scheduling import timeline
from opencdmo.scheduling.problem import (
    Consumable,
    Machine,
    Point,
    Problem,
    Renewable,
    SelectionKind,
    TaskPair,
)
from opencdmo.scheduling.result import Schedule, ScheduledTask


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``kind`` is a short key (``machine_overlap``), ``message`` says it in words."""

    kind: str
    message: str
    tasks: tuple[int, ...] = ()


def mode_breaks(problem: Problem, task: int, mode: int) -> tuple[timeline.Window, ...]:
    """Downtime of all resources a mode uses, merged."""
    windows: list[timeline.Window] = []
    for resource in problem.tasks[task].modes[mode].resources:
        record = problem.resources[resource]
        if isinstance(record, Machine | Renewable):
            windows.extend(record.breaks)
    return timeline.merge(windows)


def machine_sequences(problem: Problem, schedule: Schedule) -> dict[int, list[ScheduledTask]]:
    """Present tasks on each machine, in the order they run."""
    sequences: dict[int, list[ScheduledTask]] = {m: [] for m in problem.machine_indices}
    for item in schedule.tasks:
        if not item.present:
            continue
        for resource in problem.tasks[item.task].modes[item.mode].resources:
            if resource in sequences:
                sequences[resource].append(item)
    for items in sequences.values():
        items.sort(key=lambda t: (t.start, t.end, t.task))
    return sequences


def _point(item: ScheduledTask, point: Point) -> int:
    return item.start if point is Point.START else item.end


def check(problem: Problem, schedule: Schedule) -> list[Violation]:
    """Every hard constraint the schedule breaks (an empty list means feasible)."""
    if len(schedule.tasks) != len(problem.tasks) or any(
        item.task != index for index, item in enumerate(schedule.tasks)
    ):
        return [Violation("shape", f"schedule must list the {len(problem.tasks)} tasks in order")]
    found: list[Violation] = []
    found.extend(_check_tasks(problem, schedule))
    if any(v.kind == "mode" for v in found):
        return found
    found.extend(_check_machines(problem, schedule))
    found.extend(_check_renewables(problem, schedule))
    found.extend(_check_precedences(problem, schedule))
    found.extend(_check_relations(problem, schedule))
    return found


def _check_tasks(problem: Problem, schedule: Schedule) -> list[Violation]:
    found: list[Violation] = []
    consumed: dict[int, int] = defaultdict(int)
    for index, (task, item) in enumerate(zip(problem.tasks, schedule.tasks, strict=True)):
        name = task.name or f"task {index}"
        if not item.present:
            if not task.optional:
                found.append(Violation("presence", f"{name} is not optional but is not scheduled", (index,)))
            if task.is_fixed:
                found.append(Violation("fixed", f"{name} is fixed but is not scheduled", (index,)))
            continue
        if not 0 <= item.mode < len(task.modes):
            found.append(Violation("mode", f"{name} has no mode {item.mode}", (index,)))
            continue
        mode = task.modes[item.mode]
        breaks = mode_breaks(problem, index, item.mode)
        expected = timeline.finish(item.start, mode.duration, breaks, task.allow_breaks)
        if item.end != expected and not (task.allow_idle and item.end > expected):
            found.append(
                Violation("duration", f"{name} runs {item.start}-{item.end}, expected end {expected}", (index,))
            )
        if mode.duration > 0 and timeline.inside_break(item.start, breaks) is not None:
            found.append(Violation("break", f"{name} starts inside a downtime window", (index,)))
        elif not task.allow_breaks and timeline.overlap(item.start, item.end, breaks) > 0:
            found.append(Violation("break", f"{name} overlaps a downtime window", (index,)))
        release = problem.release_of(index)
        if item.start < release:
            found.append(Violation("release", f"{name} starts at {item.start} before {release}", (index,)))
        if item.end < task.earliest_end:
            found.append(Violation("earliest_end", f"{name} ends before {task.earliest_end}", (index,)))
        if task.latest_start is not None and item.start > task.latest_start:
            found.append(Violation("latest_start", f"{name} starts after {task.latest_start}", (index,)))
        latest_end = problem.latest_end_of(index)
        if latest_end is not None and item.end > latest_end:
            found.append(Violation("deadline", f"{name} ends at {item.end}, after its deadline {latest_end}", (index,)))
        if task.fixed_start is not None and item.start != task.fixed_start:
            found.append(Violation("fixed", f"{name} must start at {task.fixed_start}", (index,)))
        if task.fixed_mode is not None and item.mode != task.fixed_mode:
            found.append(Violation("fixed", f"{name} must run in mode {task.fixed_mode}", (index,)))
        for resource, demand in zip(mode.resources, mode.demands, strict=True):
            if isinstance(problem.resources[resource], Consumable):
                consumed[resource] += demand
    for resource, total in consumed.items():
        record = problem.resources[resource]
        assert isinstance(record, Consumable)
        if total > record.capacity:
            found.append(Violation("consumable", f"resource {resource} uses {total} of capacity {record.capacity}"))
    return found


def _check_machines(problem: Problem, schedule: Schedule) -> list[Violation]:
    found: list[Violation] = []
    for machine_index, sequence in machine_sequences(problem, schedule).items():
        machine = problem.resources[machine_index]
        assert isinstance(machine, Machine)
        label = machine.name or f"machine {machine_index}"
        for before, after in itertools.pairwise(sequence):
            setup = machine.setup_time(problem.tasks[before.task].family, problem.tasks[after.task].family)
            both = (before.task, after.task)
            if before.end > after.start and before.end > before.start and after.end > after.start:
                found.append(
                    Violation("machine_overlap", f"tasks {before.task} and {after.task} overlap on {label}", both)
                )
            elif after.start < before.end + setup:
                found.append(
                    Violation(
                        "setup",
                        f"{label} needs {setup} min changeover between tasks {before.task} and {after.task}",
                        both,
                    )
                )
            elif machine.no_idle and after.start != before.end + setup:
                found.append(Violation("no_idle", f"{label} idles between {before.task} and {after.task}", both))
    return found


def _check_renewables(problem: Problem, schedule: Schedule) -> list[Violation]:
    events: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for item in schedule.tasks:
        if not item.present or item.end <= item.start:
            continue
        mode = problem.tasks[item.task].modes[item.mode]
        for resource, demand in zip(mode.resources, mode.demands, strict=True):
            if demand and isinstance(problem.resources[resource], Renewable):
                events[resource].append((item.start, demand))
                events[resource].append((item.end, -demand))
    found: list[Violation] = []
    for resource, changes in events.items():
        record = problem.resources[resource]
        assert isinstance(record, Renewable)
        usage = 0
        for time, change in sorted(changes):  # releases (negative) sort before uses at the same time
            usage += change
            if usage > record.capacity:
                label = record.name or f"resource {resource}"
                found.append(Violation("capacity", f"{label} needs {usage} of capacity {record.capacity} at {time}"))
                break
    return found


def _check_precedences(problem: Problem, schedule: Schedule) -> list[Violation]:
    found: list[Violation] = []
    for precedence in problem.precedences:
        before, after = schedule[precedence.before], schedule[precedence.after]
        if not (before.present and after.present):
            continue
        lag = _point(after, precedence.after_point) - _point(before, precedence.before_point)
        pair = (precedence.before, precedence.after)
        text = f"{precedence.after_point}({precedence.after}) - {precedence.before_point}({precedence.before}) = {lag}"
        if lag < precedence.min_lag:
            found.append(Violation("precedence", f"{text}, below the minimum {precedence.min_lag}", pair))
        if precedence.max_lag is not None and lag > precedence.max_lag:
            found.append(Violation("hold_time", f"{text}, above the maximum {precedence.max_lag}", pair))
    return found


def _resources(problem: Problem, item: ScheduledTask) -> set[int]:
    return set(problem.tasks[item.task].modes[item.mode].resources) if item.present else set()


def _check_relations(problem: Problem, schedule: Schedule) -> list[Violation]:
    found: list[Violation] = []
    pair: TaskPair
    for pair in problem.identical_resources:
        one, two = schedule[pair.task1], schedule[pair.task2]
        if one.present and two.present and _resources(problem, one) != _resources(problem, two):
            found.append(Violation("identical_resources", "tasks use different resources", (one.task, two.task)))
    for pair in problem.different_resources:
        one, two = schedule[pair.task1], schedule[pair.task2]
        if _resources(problem, one) & _resources(problem, two):
            found.append(Violation("different_resources", "tasks share a resource", (one.task, two.task)))
    sequences = machine_sequences(problem, schedule)
    order = {m: [item.task for item in items] for m, items in sequences.items()}
    for pair in problem.consecutive:
        shared = _resources(problem, schedule[pair.task1]) & _resources(problem, schedule[pair.task2])
        for machine in shared & set(order):
            tasks = order[machine]
            if tasks.index(pair.task2) != tasks.index(pair.task1) + 1:
                found.append(
                    Violation(
                        "consecutive",
                        f"task {pair.task2} does not directly follow task {pair.task1} on machine {machine}",
                        (pair.task1, pair.task2),
                    )
                )
    for same in problem.same_sequence:
        tasks1 = same.tasks1 if same.tasks1 is not None else problem.machine_tasks[same.machine1]
        tasks2 = same.tasks2 if same.tasks2 is not None else problem.machine_tasks[same.machine2]
        counterpart = dict(zip(tasks1, tasks2, strict=True))
        on1 = [t for t in order[same.machine1] if t in counterpart]
        on2 = [t for t in order[same.machine2] if t in set(tasks2)]
        if [counterpart[t] for t in on1] != on2:
            found.append(
                Violation(
                    "same_sequence",
                    f"machines {same.machine1} and {same.machine2} do not run their tasks in the same order",
                )
            )
    for dependency in problem.mode_dependencies:
        item = schedule[dependency.task]
        if item.present and item.mode == dependency.mode:
            chosen = any(schedule[t].present and schedule[t].mode == m for t, m in dependency.then)
            if not chosen:
                found.append(
                    Violation(
                        "mode_dependency",
                        f"task {dependency.task} runs in mode {dependency.mode} but none of its required modes"
                        " is selected",
                        (dependency.task,),
                    )
                )
    for selection in problem.selections:
        if selection.condition is not None and not schedule[selection.condition].present:
            continue
        count = sum(schedule[t].present for t in selection.tasks)
        ok = {
            SelectionKind.ALL_OR_NONE: count in (0, len(selection.tasks)),
            SelectionKind.AT_LEAST_ONE: count >= 1,
            SelectionKind.EXACTLY_ONE: count == 1,
        }[selection.kind]
        if not ok:
            found.append(
                Violation(
                    "selection",
                    f"{count} of tasks {list(selection.tasks)} selected, rule {selection.kind}",
                    selection.tasks,
                )
            )
    return found


@dataclass(frozen=True)
class Evaluation:
    """Objective terms of a schedule (unweighted by the objective) and the weighted total."""

    total: int
    terms: dict[str, int]


def evaluate(problem: Problem, schedule: Schedule) -> Evaluation:
    """Compute every objective term and the weighted sum the solver minimises."""
    terms = dict.fromkeys(problem.objective.weights(), 0)
    terms["makespan"] = schedule.makespan
    for index, job in enumerate(problem.jobs):
        ends = [schedule[t].end for t in problem.job_tasks[index] if schedule[t].present]
        if not ends:
            continue
        completion = max(ends)
        terms["flow_time"] += job.weight * (completion - job.release)
        if job.due is not None:
            tardiness = max(0, completion - job.due)
            terms["weighted_tardiness"] += job.weight * tardiness
            terms["tardy_jobs"] += job.weight * (tardiness > 0)
            terms["earliness"] += job.weight * max(0, job.due - completion)
            terms["max_tardiness"] = max(terms["max_tardiness"], job.weight * tardiness)
    for machine_index, sequence in machine_sequences(problem, schedule).items():
        machine = problem.resources[machine_index]
        assert isinstance(machine, Machine)
        for before, after in itertools.pairwise(sequence):
            terms["setup_time"] += machine.setup_time(
                problem.tasks[before.task].family, problem.tasks[after.task].family
            )
    for task, start in problem.reference.items():
        if schedule[task].present:
            terms["deviation"] += abs(schedule[task].start - start)
    weights = problem.objective.weights()
    return Evaluation(sum(weights[name] * value for name, value in terms.items()), terms)
