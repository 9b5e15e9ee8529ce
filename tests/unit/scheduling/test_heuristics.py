"""The greedy list scheduler keeps the hard constraints it promises to keep."""

from opencdmo.scheduling import Job, Machine, Mode, Precedence, Problem, Renewable, Task, check, evaluate, greedy
from opencdmo.scheduling.generate import network_year


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
