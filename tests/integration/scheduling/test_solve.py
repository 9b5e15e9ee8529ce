"""The front door: statuses, infeasibility in words, progress, warm starts, benchmarks and the LNS."""

from pathlib import Path

import pytest

from opencdmo.scheduling import (
    Job,
    Machine,
    Mode,
    Objective,
    Precedence,
    Problem,
    ProblemDataError,
    Progress,
    Status,
    Task,
    check,
    evaluate,
    greedy,
    solve,
)
from opencdmo.scheduling.bounds import lower_bound
from opencdmo.scheduling.generate import network_year
from opencdmo.scheduling.readers.fjsp import read_fjsp
from opencdmo.scheduling.solve import is_large

FJSP = Path("/work/shared/benchmarks/fjsp")


def test_deadline_before_earliest_completion_is_explained() -> None:
    tasks = (Task((Mode((0,), 5),), job=0, name="fill"), Task((Mode((0,), 5),), job=0, name="pack"))
    problem = Problem(
        jobs=(Job(name="B1", release=2, deadline=10),),
        resources=(Machine(),),
        tasks=tasks,
        precedences=(Precedence(0, 1),),
    )
    result = solve(problem, time_limit=1)
    assert result.status is Status.INFEASIBLE
    assert result.schedule is None
    assert any("deadline before earliest completion: pack (job B1) cannot end before 12" in r for r in result.reasons)


def test_impossible_hold_time_is_explained() -> None:
    tasks = tuple(Task((Mode((m,), 5),), job=0, name=n) for m, n in ((0, "harvest"), (1, "purify"), (0, "fill")))
    precedences = (Precedence(0, 1), Precedence(1, 2), Precedence(0, 2, max_lag=3))
    problem = Problem(jobs=(Job(),), resources=(Machine(), Machine()), tasks=tasks, precedences=precedences)
    result = solve(problem, time_limit=1)
    assert result.status is Status.INFEASIBLE
    assert "hold time impossible" in result.reasons[0]
    assert "fill (job 0) must start within 3 min of the end of harvest (job 0)" in result.reasons[0]


def test_infeasible_by_capacity_is_reported_by_the_solver() -> None:
    tasks = tuple(Task((Mode((0,), 5),), job=j) for j in range(2))
    jobs = (Job(deadline=6), Job(deadline=6))
    result = solve(Problem(jobs=jobs, resources=(Machine(),), tasks=tasks), time_limit=2)
    assert result.status is Status.INFEASIBLE
    assert result.reasons


@pytest.mark.parametrize(
    ("arguments", "words"),
    [({"strategy": "fastest"}, "unknown strategy"), ({"time_limit": 0}, "time_limit"), ({"workers": 0}, "workers")],
)
def test_bad_arguments_raise(arguments: dict[str, object], words: str) -> None:
    problem = read_fjsp(FJSP / "mk01.txt")
    with pytest.raises(ProblemDataError, match=words):
        solve(problem, **arguments)  # type: ignore[arg-type]


def test_brandimarte_mk01_is_solved_to_optimality_with_progress() -> None:
    problem = read_fjsp(FJSP / "mk01.txt")
    seen: list[Progress] = []
    result = solve(problem, time_limit=10, workers=2, on_progress=seen.append)
    assert result.schedule is not None
    assert check(problem, result.schedule) == []
    assert result.status is Status.OPTIMAL
    assert result.objective == 40  # best known, closed
    assert seen
    assert seen[-1].objective == 40
    assert [p.objective for p in seen] == sorted((p.objective for p in seen), reverse=True)


def test_initial_schedule_is_used_and_not_worsened() -> None:
    problem = read_fjsp(FJSP / "mk03.txt")
    start = greedy(problem)
    result = solve(problem, time_limit=1, workers=1, initial=start)
    assert result.schedule is not None
    assert check(problem, result.schedule) == []
    assert result.objective is not None
    assert result.objective <= evaluate(problem, start).total


def test_initial_schedule_of_the_wrong_size_is_rejected() -> None:
    problem = read_fjsp(FJSP / "mk01.txt")
    other = greedy(read_fjsp(FJSP / "mk03.txt"))
    with pytest.raises(ProblemDataError, match="initial schedule"):
        solve(problem, initial=other)


def test_lns_improves_a_network_instance_and_stays_feasible() -> None:
    problem = network_year(40, 10, horizon=30 * 24 * 60, seed=3)
    baseline = evaluate(problem, greedy(problem)).total
    result = solve(problem, time_limit=6, workers=1, strategy="lns", seed=1)
    assert result.strategy == "lns"
    assert result.schedule is not None
    assert check(problem, result.schedule) == []
    assert result.objective is not None
    assert result.objective < baseline


def test_auto_uses_lns_for_large_instances() -> None:
    problem = network_year(400, 20, seed=2)
    result = solve(problem, time_limit=3, workers=1)
    assert result.strategy == "lns"
    assert result.status is Status.FEASIBLE
    assert result.schedule is not None
    assert check(problem, result.schedule) == []


def test_auto_uses_lns_for_a_few_hundred_tasks_with_changeovers_and_reports_a_bound() -> None:
    problem = network_year(100, 15, horizon=60 * 24 * 60, seed=7)
    assert 300 < len(problem.tasks) < 1200
    assert is_large(problem)
    baseline = evaluate(problem, greedy(problem)).total
    # 10 s rather than 3: the suite runs two workers on two cores, so the solver gets part of a core at times.
    result = solve(problem, time_limit=10, workers=1, seed=1)
    assert result.strategy == "lns"
    assert result.schedule is not None
    assert check(problem, result.schedule) == []
    assert result.objective is not None
    assert result.objective < baseline
    assert result.lower_bound == lower_bound(problem)
    assert result.lower_bound <= result.objective


def test_auto_keeps_one_exact_model_for_benchmark_instances() -> None:
    problem = read_fjsp(FJSP / "mk01.txt")
    assert not is_large(problem)
    result = solve(problem, time_limit=2, workers=1)
    assert result.strategy == "cpsat"
    assert result.schedule is not None
    assert check(problem, result.schedule) == []
    assert result.lower_bound is not None
    assert result.objective is not None
    assert lower_bound(problem) <= result.lower_bound <= result.objective


def test_objective_without_terms_is_a_feasibility_problem() -> None:
    tasks = (Task((Mode((0,), 2),)), Task((Mode((0,), 2),)))
    problem = Problem(jobs=(), resources=(Machine(),), tasks=tasks, objective=Objective())
    result = solve(problem, time_limit=1)
    assert result.status is Status.OPTIMAL
    assert result.objective == 0
    assert result.schedule is not None
    assert check(problem, result.schedule) == []
