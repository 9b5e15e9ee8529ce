"""The greedy list scheduler keeps the hard constraints it promises to keep; the warm start picks the best rule."""

import pytest

from opencdmo.scheduling import (
    Job,
    Machine,
    Mode,
    Objective,
    Precedence,
    Problem,
    Renewable,
    Task,
    check,
    evaluate,
    greedy,
)
from opencdmo.scheduling.generate import network_year
from opencdmo.scheduling.heuristics import DISPATCH_RULES, construct, dispatch


def test_greedy_inserts_into_gaps_with_changeovers() -> None:
    machine = Machine(setup=((0, 4), (4, 0)))
    tasks = (
        Task((Mode((0,), 2),), fixed_start=10, family=0),
        Task((Mode((0,), 2),), family=0),
        Task((Mode((0,), 2),), family=1),
    )
    schedule = greedy(Problem(jobs=(), resources=(machine,), tasks=tasks))
    assert check(Problem(jobs=(), resources=(machine,), tasks=tasks), schedule) == []
    assert schedule[1].start == 0
    assert schedule[2].start == 16


def test_greedy_keeps_hold_times_by_delaying_the_predecessor() -> None:
    tasks = (
        Task((Mode((0,), 5),), job=0),
        Task((Mode((1,), 5),), job=0),
        Task((Mode((1,), 10),), job=1, fixed_start=5),
    )
    problem = Problem(
        jobs=(Job(), Job()),
        resources=(Machine(), Machine()),
        tasks=tasks,
        precedences=(Precedence(0, 1, max_lag=2),),
    )
    schedule = greedy(problem)
    assert check(problem, schedule) == []
    assert schedule[1].start - schedule[0].end <= 2


def test_greedy_places_the_next_stage_of_started_work_before_its_hold_runs_out() -> None:
    # Task 0 has started (fixed); its next stage must start within 2 of its end. Job 1 is due first and would
    # take machine 1 for 20 if placed first, breaking a hold that no retry can repair: the fixed task cannot move.
    tasks = (
        Task((Mode((0,), 10),), job=0, fixed_start=0),
        Task((Mode((1,), 5),), job=0),
        Task((Mode((1,), 20),), job=1),
    )
    problem = Problem(
        jobs=(Job(due=100), Job(due=20)),
        resources=(Machine(), Machine()),
        tasks=tasks,
        precedences=(Precedence(0, 1, max_lag=2),),
    )
    for rule in DISPATCH_RULES:
        schedule = dispatch(problem, rule)
        assert check(problem, schedule) == [], rule
        assert schedule[1].start - schedule[0].end <= 2
        assert schedule[2].start >= schedule[1].end


def test_greedy_respects_renewable_capacity_and_downtime() -> None:
    task = Task((Mode((0, 1), 3),))
    problem = Problem(jobs=(), resources=(Machine(breaks=((4, 6),)), Renewable(capacity=1)), tasks=(task, task, task))
    schedule = greedy(problem)
    assert check(problem, schedule) == []
    assert schedule.makespan == 12


def test_greedy_is_feasible_on_a_generated_network() -> None:
    problem = network_year(60, 15, seed=5)
    schedule = greedy(problem)
    assert check(problem, schedule) == []
    assert evaluate(problem, schedule).total >= 0


def test_construct_is_the_best_feasible_dispatch_rule_and_no_worse_than_greedy() -> None:
    problem = network_year(60, 15, seed=5)
    built = construct(problem)
    assert built is not None
    assert check(problem, built) == []
    values = [evaluate(problem, dispatch(problem, rule)).total for rule in DISPATCH_RULES]
    assert evaluate(problem, built).total == min(values)
    assert evaluate(problem, built).total <= evaluate(problem, greedy(problem)).total


def test_first_come_first_served_beats_earliest_due_date_when_due_dates_follow_release() -> None:
    # Job 0 is released first with a later due date; by due date, job 1 (released later) is taken first and
    # the machine idles until its release while job 0 waits: both are late. In release order neither is.
    tasks = (Task((Mode((0,), 10),), job=0), Task((Mode((0,), 10),), job=1))
    jobs = (Job(release=0, due=12), Job(release=5, due=11))
    problem = Problem(jobs=jobs, resources=(Machine(),), tasks=tasks, objective=Objective(weighted_tardiness=1))
    by_due = dispatch(problem, "due")
    by_release = dispatch(problem, "release")
    assert check(problem, by_due) == []
    assert check(problem, by_release) == []
    assert evaluate(problem, by_due).total == 4 + 13
    assert evaluate(problem, by_release).total == 9
    built = construct(problem)
    assert built is not None
    assert evaluate(problem, built).total == 9
    assert greedy(problem) == by_due  # the baseline stays one pass by due date


def test_unknown_dispatch_rule_is_rejected() -> None:
    problem = network_year(5, 3, seed=1)
    with pytest.raises(ValueError, match="unknown dispatch rule"):
        dispatch(problem, "random")
