"""Every constraint kind on a small instance with a known optimum; every solution passes the checker."""

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
    Point,
    Precedence,
    Problem,
    Renewable,
    Result,
    SameSequence,
    Selection,
    Status,
    Task,
    check,
    evaluate,
    greedy,
    solve,
)
from opencdmo.scheduling.problem import Consumable


def make(tasks: list[Task], resources: list[Any] | None = None, **extra: Any) -> Problem:
    jobs = extra.pop("jobs", [Job()])
    return Problem(jobs=tuple(jobs), resources=tuple(resources or [Machine()]), tasks=tuple(tasks), **extra)


def on(machine: int, duration: int, **task: Any) -> Task:
    return Task((Mode((machine,), duration),), job=task.pop("job", 0), **task)


def solved(problem: Problem, optimum: int, strategy: str = "cpsat") -> Result:
    result = solve(problem, time_limit=5, workers=1, strategy=strategy)
    assert result.schedule is not None
    assert check(problem, result.schedule) == []
    assert result.status is Status.OPTIMAL
    assert result.objective == optimum == evaluate(problem, result.schedule).total
    assert result.lower_bound == optimum
    assert result.gap == 0.0
    return result


def test_one_machine_runs_one_task_at_a_time() -> None:
    solved(make([on(0, 3), on(0, 2)]), 5)


def test_alternative_modes_pick_the_faster_machine_when_it_helps() -> None:
    flexible = Task((Mode((0,), 5), Mode((1,), 3)), job=0)
    solved(make([flexible, flexible], [Machine(), Machine()]), 5)


def test_family_changeovers_group_families() -> None:
    machine = Machine(setup=((0, 5), (5, 0)))
    tasks = [on(0, 1, family=0), on(0, 1, family=1), on(0, 1, family=0)]
    result = solved(make(tasks, [machine]), 8)
    assert result.schedule is not None
    assert evaluate(make(tasks, [machine]), result.schedule).terms["setup_time"] == 5


def test_total_setup_time_objective() -> None:
    machine = Machine(setup=((0, 5, 2), (5, 0, 2), (2, 2, 0)))
    tasks = [on(0, 1, family=0), on(0, 1, family=1), on(0, 1, family=2)]
    solved(make(tasks, [machine], objective=Objective(setup_time=1)), 4)


def test_hold_time_delays_the_predecessor() -> None:
    tasks = [on(0, 2), on(1, 2), on(1, 3, fixed_start=2)]
    problem = make(tasks, [Machine(), Machine()], precedences=(Precedence(0, 1, max_lag=0),))
    result = solved(problem, 7)
    assert result.schedule is not None
    assert result.schedule[0].start == 3


def test_start_to_start_and_end_to_end_lags() -> None:
    tasks = [on(0, 4), on(1, 2)]
    precedences = (
        Precedence(0, 1, min_lag=1, before_point=Point.START, after_point=Point.START),
        Precedence(0, 1, min_lag=3, before_point=Point.END, after_point=Point.END),
    )
    solved(make(tasks, [Machine(), Machine()], precedences=precedences), 7)


def test_downtime_blocks_tasks_that_cannot_pause() -> None:
    solved(make([on(0, 3)], [Machine(breaks=((2, 5),))]), 8)


def test_pausing_task_stretches_over_downtime() -> None:
    solved(make([on(0, 3, allow_breaks=True)], [Machine(breaks=((2, 5),))]), 6)


def test_renewable_capacity() -> None:
    task = Task((Mode((0,), 4),), job=0)
    solved(make([task, task, task], [Renewable(capacity=2)]), 8)


def test_renewable_downtime() -> None:
    task = Task((Mode((0,), 4),), job=0)
    solved(make([task], [Renewable(capacity=2, breaks=((1, 3),))]), 7)


def test_consumable_capacity_forces_the_cheaper_mode() -> None:
    task = Task((Mode((0, 1), 1, (1, 2)), Mode((0,), 4)), job=0)
    solved(make([task, task], [Machine(), Consumable(capacity=3)]), 5)


def test_weighted_tardiness_puts_the_heavy_job_first() -> None:
    jobs = [Job(due=3, weight=1), Job(due=3, weight=5)]
    problem = make([on(0, 3, job=0), on(0, 3, job=1)], jobs=jobs, objective=Objective(weighted_tardiness=1))
    solved(problem, 3)


def test_tardy_jobs_earliness_and_flow_time() -> None:
    jobs = [Job(due=2), Job(due=10), Job(due=3, release=1)]
    tasks = [on(0, 2, job=0), on(0, 2, job=1), on(0, 2, job=2)]
    objective = Objective(tardy_jobs=10, earliness=1, flow_time=1)
    # Order 0,2,1: job 2 ends 4 (tardy), job 1 ends 6 (early 4); flow 2+3+6; total 10+4+11 = 25.
    solved(make(tasks, jobs=jobs, objective=objective), 25)


def test_max_tardiness() -> None:
    jobs = [Job(due=1), Job(due=1)]
    solved(make([on(0, 3, job=0), on(0, 3, job=1)], jobs=jobs, objective=Objective(max_tardiness=1)), 5)


def test_deviation_from_a_reference_plan() -> None:
    problem = make([on(0, 3), on(0, 3)], objective=Objective(deviation=1), reference={0: 0, 1: 1})
    solved(problem, 2)


def test_fixed_task_stays_where_the_planner_put_it() -> None:
    tasks = [on(0, 2, fixed_start=4), on(0, 3)]
    result = solved(make(tasks), 6)
    assert result.schedule is not None
    assert result.schedule[0].start == 4


def test_identical_resources() -> None:
    flexible = Task((Mode((0,), 2), Mode((1,), 2)), job=0)
    problem = make([flexible, flexible], [Machine(), Machine()], identical_resources=(IdenticalResources(0, 1),))
    solved(problem, 4)


def test_different_resources() -> None:
    second = Task((Mode((0,), 1), Mode((1,), 5)), job=0)
    problem = make([on(0, 1), second], [Machine(), Machine()], different_resources=(DifferentResources(0, 1),))
    solved(problem, 5)


def test_consecutive_tasks() -> None:
    tasks = [on(0, 1), on(0, 1), on(0, 1)]
    problem = make(tasks, precedences=(Precedence(1, 0),), consecutive=(Consecutive(0, 2),))
    result = solved(problem, 3)
    assert result.schedule is not None
    assert [result.schedule[t].start for t in (1, 0, 2)] == [0, 1, 2]


def test_same_sequence_on_two_machines() -> None:
    tasks = [on(0, 1), on(0, 1), on(1, 1), on(1, 1)]
    problem = make(tasks, [Machine(), Machine()], precedences=(Precedence(1, 0),), same_sequence=(SameSequence(0, 1),))
    result = solved(problem, 2)
    assert result.schedule is not None
    assert result.schedule[3].start < result.schedule[2].start


def test_mode_dependency() -> None:
    first = Task((Mode((0,), 1), Mode((1,), 3)), job=0)
    second = Task((Mode((0,), 5), Mode((1,), 1)), job=0)
    # Without the dependency the makespan is 1 (first on machine 0, second on machine 1, in parallel). With it,
    # first on machine 0 forces second there too (6); first on machine 1 then second on machine 1 gives 4.
    problem = make([first, second], [Machine(), Machine()], mode_dependencies=(ModeDependency(0, 0, ((1, 0),)),))
    solved(problem, 4)


@pytest.mark.parametrize(
    ("kind", "condition", "optimum", "present"),
    [
        ("exactly_one", None, 2, [False, True, False]),
        ("at_least_one", None, 2, [False, True, False]),
        ("all_or_none", 0, 4, [True, True, True]),
    ],
)
def test_selection_of_optional_tasks(kind: str, condition: int | None, optimum: int, present: list[bool]) -> None:
    tasks = [on(0, 1, optional=True), on(1, 2, optional=True), on(2, 4, optional=True)]
    selections = (Selection(kind, (1, 2), condition), Selection("at_least_one", (0, 1)))
    problem = make(tasks, [Machine(), Machine(), Machine()], selections=selections)
    if kind == "all_or_none":
        problem = make(
            tasks,
            [Machine(), Machine(), Machine()],
            selections=(Selection(kind, (1, 2), 0), Selection("exactly_one", (0,)), Selection("at_least_one", (2,))),
        )
    result = solved(problem, optimum)
    assert result.schedule is not None
    assert [item.present for item in result.schedule.tasks] == present


def test_no_idle_machine() -> None:
    tasks = [on(0, 2), on(0, 2, earliest_start=5)]
    solved(make(tasks, [Machine(no_idle=True)]), 7)


def test_blocking_task_holds_its_machine() -> None:
    tasks = [on(0, 2, allow_idle=True), on(1, 2, fixed_start=4)]
    problem = make(tasks, [Machine(), Machine()], precedences=(Precedence(0, 1, min_lag=0, max_lag=0),))
    result = solved(problem, 6)
    assert result.schedule is not None
    assert result.schedule[0].end == 4


def test_greedy_strategy_is_feasible_and_reports_no_bound() -> None:
    tasks = [on(0, 2, job=j) for j in range(3)] + [on(1, 1, job=j) for j in range(3)]
    precedences = tuple(Precedence(j, 3 + j, max_lag=1) for j in range(3))
    problem = make(tasks, [Machine(), Machine()], jobs=[Job(), Job(), Job()], precedences=precedences)
    result = solve(problem, time_limit=1, strategy="greedy")
    assert result.status is Status.FEASIBLE
    assert result.lower_bound is None
    assert result.schedule is not None
    assert check(problem, result.schedule) == []
    assert check(problem, greedy(problem)) == []


def test_changeovers_around_fixed_tasks() -> None:
    machine = Machine(setup=((0, 2), (2, 0)))
    tasks = [
        on(0, 2, family=0, fixed_start=0, fixed_mode=0),
        on(0, 2, family=1, fixed_start=10, fixed_mode=0),
        on(0, 2, family=0, fixed_start=20, fixed_mode=0),
        on(0, 3, family=1),
        on(0, 3, family=0),
        Task((Mode((0,), 1), Mode((1,), 1)), job=0, fixed_start=0, fixed_mode=1),  # could use machine 0
    ]
    problem = make(tasks, [machine, Machine()], objective=Objective(makespan=1, setup_time=1))
    # Best: fixed 0-2 (family 0), free 2-5 (family 0), changeover 2, free 7-10 (family 1), fixed 10-12
    # (family 1), changeover 2, fixed 20-22: setups 4 + makespan 22.
    result = solved(problem, 26)
    assert result.schedule is not None
    assert evaluate(problem, result.schedule).terms["setup_time"] == 4
