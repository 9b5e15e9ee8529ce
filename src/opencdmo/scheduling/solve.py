"""The front door: :func:`solve` picks a strategy, runs it within the time limit and returns a :class:`Result`.

Strategies:

- ``greedy``: the list scheduler alone (the ERP-like baseline).
- ``cpsat``: one CP-SAT model of the whole problem, warm-started from the greedy schedule.
- ``lns``: large-neighbourhood search around the greedy schedule: repeatedly frees the tasks of a time
  window (or of the latest jobs), freezes the rest, and re-optimises the window with CP-SAT.
- ``auto``: ``cpsat`` for small and mid-size instances, ``lns`` when the instance is big.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from ortools.sat.python import cp_model

from opencdmo.scheduling.check import check, evaluate
from opencdmo.scheduling.cpsat import lns
from opencdmo.scheduling.cpsat.model import CpsatModel, default_horizon
from opencdmo.scheduling.errors import ProblemDataError, SchedulingError
from opencdmo.scheduling.explain import infeasibility_reasons
from opencdmo.scheduling.heuristics import greedy
from opencdmo.scheduling.problem import Problem
from opencdmo.scheduling.result import Progress, Result, Schedule, Status

ProgressCallback = Callable[[Progress], None]
STRATEGIES = ("auto", "cpsat", "lns", "greedy")

# Above these sizes one CP-SAT model is too big to improve on the warm start in reasonable time.
_AUTO_MAX_TASKS = 1200
_AUTO_MAX_ARCS = 250_000


def solve(
    problem: Problem,
    *,
    time_limit: float = 10.0,
    workers: int = 1,
    seed: int = 0,
    initial: Schedule | None = None,
    strategy: str = "auto",
    on_progress: ProgressCallback | None = None,
) -> Result:
    """Schedule ``problem`` within ``time_limit`` seconds using ``workers`` CP-SAT threads.

    ``initial`` is a schedule to start from (a previous plan when rescheduling); ``on_progress`` is called
    on every improving solution. Infeasibility is a status with ``reasons``, not an exception.
    """
    if strategy not in STRATEGIES:
        raise ProblemDataError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if time_limit <= 0 or workers < 1:
        raise ProblemDataError("time_limit must be > 0 and workers >= 1")
    if initial is not None and len(initial) != len(problem.tasks):
        raise ProblemDataError(f"initial schedule has {len(initial)} tasks, the problem {len(problem.tasks)}")
    clock = time.perf_counter()
    reasons = infeasibility_reasons(problem)
    if reasons:
        return Result(Status.INFEASIBLE, None, None, time.perf_counter() - clock, None, strategy, tuple(reasons))
    if strategy == "auto":
        strategy = "lns" if is_large(problem) else "cpsat"
    warm = _warm_start(problem, initial)
    if warm is not None and on_progress is not None:
        on_progress(Progress(evaluate(problem, warm).total, 0, time.perf_counter() - clock))
    if strategy == "greedy":
        return _greedy_result(problem, warm, clock)
    deadline = clock + time_limit
    if strategy == "lns" and warm is not None and lns.supports(problem):
        schedule = lns.large_neighbourhood_search(
            problem, warm, deadline=deadline, workers=workers, seed=seed, on_progress=on_progress, clock=clock
        )
        return Result(
            Status.FEASIBLE,
            evaluate(problem, schedule).total,
            None,
            time.perf_counter() - clock,
            schedule,
            strategy,
        )
    return _solve_cpsat(problem, warm, deadline, workers, seed, on_progress, clock, strategy)


def is_large(problem: Problem) -> bool:
    """Whether ``auto`` uses the large-neighbourhood search rather than one model."""
    arcs = sum(len(tasks) ** 2 for tasks in problem.machine_tasks.values())
    return len(problem.tasks) > _AUTO_MAX_TASKS or arcs > _AUTO_MAX_ARCS


def _warm_start(problem: Problem, initial: Schedule | None) -> Schedule | None:
    """A feasible schedule to start from: ``initial`` if it is feasible, else the greedy schedule if it is."""
    for candidate in (initial, None):
        schedule = candidate if candidate is not None else greedy(problem)
        if not check(problem, schedule):
            return schedule
        if candidate is None:
            return None
    return None


def _greedy_result(problem: Problem, warm: Schedule | None, clock: float) -> Result:
    runtime = time.perf_counter() - clock
    if warm is None:
        broken = check(problem, greedy(problem))
        reasons = tuple(v.message for v in broken[:10])
        return Result(Status.UNKNOWN, None, None, runtime, None, "greedy", reasons)
    return Result(Status.FEASIBLE, evaluate(problem, warm).total, None, runtime, warm, "greedy")


class _Reporter(cp_model.CpSolverSolutionCallback):
    def __init__(self, on_progress: ProgressCallback, clock: float) -> None:
        super().__init__()
        self._on_progress = on_progress
        self._clock = clock
        self._best = math.inf

    def on_solution_callback(self) -> None:
        objective = self.objective_value
        if objective < self._best:
            self._best = objective
            bound = math.ceil(self.best_objective_bound - 1e-6)
            self._on_progress(Progress(round(objective), bound, time.perf_counter() - self._clock))


def solver_for(deadline: float, workers: int, seed: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, deadline - time.perf_counter())
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    return solver


def _solve_cpsat(
    problem: Problem,
    warm: Schedule | None,
    deadline: float,
    workers: int,
    seed: int,
    on_progress: ProgressCallback | None,
    clock: float,
    strategy: str,
) -> Result:
    horizon = default_horizon(problem)
    weights = problem.objective.weights()
    makespan_only = weights["makespan"] > 0 and sum(weights.values()) == weights["makespan"]
    if warm is not None and makespan_only:
        horizon = min(horizon, warm.makespan)  # an optimal schedule ends no later than the warm start
    built = CpsatModel(problem, horizon=horizon)
    if warm is not None:
        built.add_hint(warm)
    solver = solver_for(deadline, workers, seed)
    reporter = _Reporter(on_progress, clock) if on_progress is not None else None
    code = solver.solve(built.model, reporter)
    runtime = time.perf_counter() - clock
    if code == cp_model.MODEL_INVALID:
        raise SchedulingError(f"internal error: invalid CP-SAT model ({built.model.validate()})")
    if code == cp_model.INFEASIBLE:
        if built.exact:
            reasons = infeasibility_reasons(problem) or [
                "no schedule meets capacity, downtime, deadlines and the other rules together"
            ]
            return Result(Status.INFEASIBLE, None, None, runtime, None, strategy, tuple(reasons))
        code = cp_model.UNKNOWN
    schedule = built.decode(solver) if code in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None
    if schedule is not None and warm is not None and evaluate(problem, warm).total < evaluate(problem, schedule).total:
        schedule = warm
    schedule = schedule or warm
    if schedule is None:
        return Result(Status.UNKNOWN, None, None, runtime, None, strategy)
    objective = evaluate(problem, schedule).total
    bound = None
    if built.exact and code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bound = min(objective, math.ceil(solver.best_objective_bound - 1e-6))
    status = Status.OPTIMAL if bound == objective and built.exact else Status.FEASIBLE
    return Result(status, objective, bound, runtime, schedule, strategy)
