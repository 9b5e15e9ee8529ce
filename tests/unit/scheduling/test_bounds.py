"""The cheap lower bound: each job on its own, and the changeovers no sequence can avoid."""

from opencdmo.scheduling import Job, Machine, Mode, Objective, Point, Precedence, Problem, Task, check, evaluate, solve
from opencdmo.scheduling.bounds import earliest_ends, lower_bound, setup_bound
from opencdmo.scheduling.generate import network_year


def test_a_chain_with_lags_bounds_tardiness_exactly() -> None:
    tasks = (Task((Mode((0,), 3), Mode((1,), 5)), job=0), Task((Mode((1,), 4),), job=0))
    problem = Problem(
        jobs=(Job(release=2, due=5, weight=2),),
        resources=(Machine(), Machine()),
        tasks=tasks,
        precedences=(Precedence(0, 1, min_lag=1),),
        objective=Objective(weighted_tardiness=1, makespan=1),
    )
    assert earliest_ends(problem) == [5, 10]
    assert lower_bound(problem) == 2 * (10 - 5) + 10
    result = solve(problem, time_limit=1)
    assert result.schedule is not None
    assert check(problem, result.schedule) == []
    assert result.objective == lower_bound(problem) == result.lower_bound


def test_end_to_end_precedence_and_optional_tasks() -> None:
    tasks = (
        Task((Mode((0,), 6),), job=0),
        Task((Mode((0,), 2),), job=0),
        Task((Mode((0,), 50),), job=0, optional=True),
    )
    problem = Problem(
        jobs=(Job(due=0),),
        resources=(Machine(),),
        tasks=tasks,
        precedences=(Precedence(0, 1, min_lag=3, before_point=Point.END, after_point=Point.END),),
        objective=Objective(tardy_jobs=7, flow_time=1),
    )
    assert earliest_ends(problem) == [6, 9, None]  # the optional task may not run: it bounds nothing
    assert lower_bound(problem) == 7 + 9


def test_setup_bound_counts_every_task_but_the_first_on_each_machine() -> None:
    machine = Machine(setup=((5, 9), (9, 2)))
    tasks = (Task((Mode((0,), 1),), family=0),) * 3 + (Task((Mode((0,), 1), Mode((1,), 1)), family=1),)
    problem = Problem(jobs=(), resources=(machine, machine), tasks=tasks, objective=Objective(setup_time=1))
    assert setup_bound(problem) == 2 + 5  # four tasks, two machines: the two cheapest may be first
    result = solve(problem, time_limit=2, strategy="cpsat")
    assert result.schedule is not None
    assert check(problem, result.schedule) == []
    assert result.objective is not None
    assert result.objective >= lower_bound(problem)


def test_bound_never_exceeds_a_feasible_schedule() -> None:
    problem = network_year(40, 10, horizon=20 * 24 * 60, seed=4)
    problem = Problem(
        jobs=problem.jobs,
        resources=problem.resources,
        tasks=problem.tasks,
        precedences=problem.precedences,
        objective=Objective(weighted_tardiness=2, tardy_jobs=1, makespan=1, setup_time=1, flow_time=1),
    )
    result = solve(problem, time_limit=2, workers=1, strategy="lns")
    assert result.schedule is not None
    assert check(problem, result.schedule) == []
    assert result.lower_bound == lower_bound(problem) > 0
    assert evaluate(problem, result.schedule).total >= result.lower_bound
