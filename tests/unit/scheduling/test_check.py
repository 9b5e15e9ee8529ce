"""The checker finds each kind of violation on a hand-made schedule, and evaluates objective terms."""

from typing import Any

import pytest

from opencdmo.scheduling import (
    Consecutive,
    DifferentResources,
    IdenticalResources,
    Job,
    Machine,
    Mode,
    ModeDependency,
    Objective,
    Precedence,
    Problem,
    Renewable,
    SameSequence,
    Schedule,
    ScheduledTask,
    Selection,
    Task,
    check,
    evaluate,
)
from opencdmo.scheduling.problem import Consumable

RESOURCES = (
    Machine(setup=((0, 3), (3, 0))),
    Machine(breaks=((10, 20),)),
    Renewable(capacity=1),
    Consumable(capacity=1),
    Machine(no_idle=True),
)


def flexible(**values: Any) -> Task:
    return Task((Mode((0,), 2), Mode((1,), 2)), job=0, **values)


def problem_with(**extra: Any) -> Problem:
    tasks = extra.pop("tasks", (flexible(), flexible(family=1), Task((Mode((0,), 2),), job=0, optional=True)))
    return Problem(jobs=(Job(due=4, release=1),), resources=RESOURCES, tasks=tasks, **extra)


def run(*items: tuple[int, int, int, int] | None) -> Schedule:
    return Schedule(
        tuple(
            ScheduledTask(i, *item) if item is not None else ScheduledTask(i, 0, 0, 0, present=False)
            for i, item in enumerate(items)
        )
    )


@pytest.mark.parametrize(
    ("extra", "schedule", "kind"),
    [
        ({}, run((0, 1, 3), (1, 1, 3), None), None),
        ({}, run((0, 1, 3), (0, 2, 4), None), "machine_overlap"),
        ({}, run((0, 1, 3), (0, 4, 6), None), "setup"),
        ({}, run((0, 1, 4), (1, 1, 3), None), "duration"),
        ({}, run((1, 9, 11), (1, 1, 3), None), "break"),
        ({}, run((0, 0, 2), (1, 1, 3), None), "release"),
        ({}, run((0, 1, 3), None, None), "presence"),
        ({}, run((5, 1, 3), (1, 1, 3), None), "mode"),
        ({"precedences": (Precedence(0, 1),)}, run((0, 1, 3), (1, 1, 3), None), "precedence"),
        ({"precedences": (Precedence(0, 1, max_lag=1),)}, run((0, 1, 3), (1, 5, 7), None), "hold_time"),
        ({"identical_resources": (IdenticalResources(0, 1),)}, run((0, 1, 3), (1, 1, 3), None), "identical_resources"),
        ({"different_resources": (DifferentResources(0, 1),)}, run((0, 1, 3), (0, 6, 8), None), "different_resources"),
        ({"consecutive": (Consecutive(1, 0),)}, run((0, 1, 3), (0, 6, 8), None), "consecutive"),
        (
            {"same_sequence": (SameSequence(0, 1, (0, 1), (1, 0)),), "tasks": (flexible(), flexible())},
            run((0, 1, 3), (0, 6, 8)),
            "same_sequence",
        ),
        ({"mode_dependencies": (ModeDependency(0, 0, ((1, 0),)),)}, run((0, 1, 3), (1, 1, 3), None), "mode_dependency"),
        ({"selections": (Selection("at_least_one", (2,)),)}, run((0, 1, 3), (1, 1, 3), None), "selection"),
        (
            {"tasks": (Task((Mode((2,), 2),), job=0), Task((Mode((2,), 2),), job=0))},
            run((0, 1, 3), (0, 2, 4)),
            "capacity",
        ),
        (
            {"tasks": (Task((Mode((3,), 2),), job=0), Task((Mode((3,), 2),), job=0))},
            run((0, 1, 3), (0, 2, 4)),
            "consumable",
        ),
        (
            {"tasks": (Task((Mode((4,), 2),), job=0), Task((Mode((4,), 2),), job=0))},
            run((0, 1, 3), (0, 4, 6)),
            "no_idle",
        ),
        ({"tasks": (Task((Mode((0,), 2),), job=0, fixed_start=5),)}, run((0, 1, 3)), "fixed"),
        ({"tasks": (Task((Mode((0,), 2),), job=0, latest_end=2),)}, run((0, 1, 3)), "deadline"),
        ({"tasks": (Task((Mode((0,), 2),), job=0, latest_start=0),)}, run((0, 1, 3)), "latest_start"),
        ({"tasks": (Task((Mode((0,), 2),), job=0, earliest_end=4),)}, run((0, 1, 3)), "earliest_end"),
    ],
)
def test_checker_finds_each_violation(extra: dict[str, Any], schedule: Schedule, kind: str | None) -> None:
    found = check(problem_with(**extra), schedule)
    assert [v.kind for v in found] == ([kind] if kind else [])
    assert all(v.message for v in found)


def test_schedule_of_the_wrong_shape_is_reported() -> None:
    assert [v.kind for v in check(problem_with(), run((0, 1, 3)))] == ["shape"]


def test_evaluate_computes_every_term() -> None:
    objective = Objective(
        makespan=1, weighted_tardiness=2, tardy_jobs=3, earliness=4, setup_time=5, flow_time=6, deviation=7
    )
    problem = problem_with(objective=objective, reference={0: 0})
    schedule = run((0, 1, 3), (0, 6, 8), None)
    evaluation = evaluate(problem, schedule)
    assert evaluation.terms == {
        "makespan": 8,
        "weighted_tardiness": 4,
        "tardy_jobs": 1,
        "earliness": 0,
        "setup_time": 3,
        "flow_time": 7,
        "max_tardiness": 4,
        "deviation": 1,
    }
    assert evaluation.total == 8 + 2 * 4 + 3 + 5 * 3 + 6 * 7 + 7 * 1
