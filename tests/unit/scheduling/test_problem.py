"""Problem data validates on construction: one row per invalid case, each naming the place at fault."""

from typing import Any

import pytest

from opencdmo.scheduling import (
    Consecutive,
    Job,
    Machine,
    Mode,
    ModeDependency,
    Objective,
    Precedence,
    Problem,
    ProblemDataError,
    Renewable,
    SameSequence,
    Selection,
    Task,
)
from opencdmo.scheduling.problem import Consumable, record


def one_task(**problem: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "jobs": (Job(),),
        "resources": (Machine(), Renewable(capacity=2)),
        "tasks": (Task((Mode((0,), 3),), job=0), Task((Mode((0, 1), 2, (1, 2)),), job=0)),
    }
    values.update(problem)
    return values


@pytest.mark.parametrize(
    ("build", "field", "words"),
    [
        (lambda: Job(release=-1), "release", ">= 0"),
        (lambda: Job(weight=-2), "weight", ">= 0"),
        (lambda: Job(release=10, deadline=5), "deadline", "before release"),
        (lambda: Machine(breaks=((5, 5),)), "breaks[0]", "start < end"),
        (lambda: Machine(breaks=((0, 10), (5, 12))), "breaks", "overlap"),
        (lambda: Machine(setup=((0, 1), (1,))), "setup[1]", "square"),
        (lambda: Machine(setup=((0, -1), (1, 0))), "setup[0][1]", ">= 0"),
        (lambda: Machine(breaks=((0, 1),), no_idle=True), "no_idle", "cannot have breaks"),
        (lambda: Renewable(capacity=-1), "capacity", ">= 0"),
        (lambda: Consumable(capacity=-1), "capacity", ">= 0"),
        (lambda: Mode((0,), -1), "duration", ">= 0"),
        (lambda: Mode((0, 0), 1), "resources", "twice"),
        (lambda: Mode((0,), 1, (1, 1)), "demands", "2 demands for 1 resources"),
        (lambda: Mode((0,), 1, (-1,)), "demands[0]", ">= 0"),
        (lambda: Task(()), "modes", "at least one mode"),
        (lambda: Task((Mode((0,), 1),), family=-1), "family", ">= 0"),
        (lambda: Task((Mode((0,), 1),), earliest_start=5, latest_start=4), "latest_start", "before"),
        (lambda: Task((Mode((0,), 1),), earliest_end=5, latest_end=4), "latest_end", "before"),
        (lambda: Task((Mode((0,), 1),), fixed_start=0, fixed_mode=3), "fixed_mode", "does not exist"),
        (lambda: Precedence(1, 1), "after", "itself"),
        (lambda: Precedence(0, 1, min_lag=5, max_lag=2), "max_lag", "below min_lag"),
        (lambda: Consecutive(2, 2), "task2", "must differ"),
        (lambda: SameSequence(0, 1, (0,), None), "tasks2", "both"),
        (lambda: SameSequence(0, 1, (0, 1), (2,)), "tasks2", "same length"),
        (lambda: SameSequence(0, 1, (0, 0), (1, 2)), "tasks1", "twice"),
        (lambda: ModeDependency(0, 0, ()), "then", "at least one"),
        (lambda: ModeDependency(0, 0, ((0, 1),)), "then", "itself"),
        (lambda: Selection("exactly_one", ()), "tasks", "at least one"),
        (lambda: Objective(makespan=-1), "makespan", ">= 0"),
        (lambda: Problem(**one_task(tasks=(Task((Mode((0,), 1),), job=3),))), "tasks[0].job", "job 3"),
        (lambda: Problem(**one_task(tasks=(Task((Mode((7,), 1),)),))), "tasks[0].modes[0].resources", "resource 7"),
        (lambda: Problem(**one_task(tasks=(Task((Mode((1,), 1, (3,)),)),))), "tasks[0].modes", "capacity"),
        (
            lambda: Problem(**one_task(tasks=(Task((Mode((0,), 1),), fixed_mode=0),))),
            "tasks[0].fixed_start",
            "fixed mode needs",
        ),
        (lambda: Problem(**one_task(precedences=(Precedence(0, 9),))), "precedences[0].after", "task 9"),
        (lambda: Problem(**one_task(consecutive=(Consecutive(0, 5),))), "consecutive[0].task2", "task 5"),
        (
            lambda: Problem(**one_task(same_sequence=(SameSequence(0, 1),))),
            "same_sequence[0].machine2",
            "not a machine",
        ),
        (
            lambda: Problem(**one_task(mode_dependencies=(ModeDependency(0, 0, ((1, 4),)),))),
            "mode_dependencies[0].then[0]",
            "no mode 4",
        ),
        (
            lambda: Problem(**one_task(selections=(Selection("at_least_one", (0, 8)),))),
            "selections[0].tasks[1]",
            "task 8",
        ),
        (lambda: Problem(**one_task(objective=Objective(weighted_tardiness=1))), "jobs[0].due", "due dates"),
        (lambda: Problem(**one_task(reference={4: 0})), "reference[4]", "task 4"),
        (
            lambda: Problem(
                **one_task(resources=(Machine(setup=((0,),)), Renewable()), tasks=(Task((Mode((0,), 1),), family=1),))
            ),
            "resources[0].setup",
            "covers 1 families",
        ),
        (lambda: record(Task, "tasks", 3, modes=()), "tasks[3].modes", "at least one mode"),
    ],
)
def test_invalid_data_is_rejected_with_its_place(build: Any, field: str, words: str) -> None:
    with pytest.raises(ProblemDataError) as caught:
        build()
    assert caught.value.field == field
    assert words in str(caught.value)


def test_valid_problem_keeps_lists_as_tuples_and_indexes_tasks() -> None:
    problem = Problem(**one_task(precedences=[Precedence(0, 1)]))
    assert isinstance(problem.precedences, tuple)
    assert problem.job_tasks == ((0, 1),)
    assert problem.machine_tasks == {0: (0, 1)}
    assert problem.tasks[1].modes[0].demands == (1, 2)
    assert Mode((0, 1), 4).demands == (1, 1)


def test_setup_matrix_grows_with_families_not_tasks() -> None:
    setup = ((0, 30), (45, 0))
    machine = Machine(setup=setup)
    tasks = tuple(Task((Mode((0,), 5),), family=i % 2) for i in range(1000))
    problem = Problem(jobs=(), resources=(machine,), tasks=tasks)
    assert problem.num_families == 2
    assert machine.setup_time(0, 1) == 30
    assert machine.setup_time(1, 0) == 45
