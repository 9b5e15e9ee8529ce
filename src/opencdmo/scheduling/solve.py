"""The front door: :func:`solve` picks a strategy, runs it within the time limit and returns a :class:`Result`.

Strategies:

- ``greedy``: one pass of the list scheduler by due date (:func:`~opencdmo.scheduling.heuristics.greedy`),
  the ERP-like baseline the optimiser is measured against. It reports no bound.
- ``cpsat``: one CP-SAT model of the whole problem, warm-started from the best of several dispatch rules
  (:func:`~opencdmo.scheduling.heuristics.construct`).
- ``lns``: large-neighbourhood search around that warm start: repeatedly frees the tasks of late jobs and of
  the jobs just before them on their machines (or of a random moment), freezes the rest, and re-optimises them
  with CP-SAT.
- ``auto``: ``cpsat`` for small instances (the public FJSP benchmarks), ``lns`` when the instance is big or
  has sequence-dependent changeovers on more than a few hundred tasks, where one model rarely improves on the
  warm start within a planner's time limit.

The optimising strategies report a lower bound: CP-SAT's when its model is exact, else (and never worse than)
the bound of each job on its own (:func:`~opencdmo.scheduling.bounds.lower_bound`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from ortools.sat.python import cp_model

from opencdmo.scheduling.bounds import lower_bound
from opencdmo.scheduling.check import check, evaluate
from opencdmo.scheduling.cpsat import lns
from opencdmo.scheduling.cpsat.model import CpsatModel, default_horizon
from opencdmo.scheduling.errors import ProblemDataError, SchedulingError
from opencdmo.scheduling.explain import infeasibility_reasons
from opencdmo.scheduling.heuristics import construct, greedy
from opencdmo.scheduling.problem import Machine, Problem
from opencdmo.scheduling.result import Progress, Result, Schedule, Status

ProgressCallback = Callable[[Progress], None]
STRATEGIES = ("auto", "cpsat", "lns", "greedy")

# Above these sizes one CP-SAT model is too big to improve on the warm start in reasonable time.
_AUTO_MAX_TASKS = 1200
_AUTO_MAX_ARCS = 250_000
# With sequence-dependent changeovers the model needs circuits; above this it rarely beats the warm start.
_AUTO_MAX_SETUP_TASKS = 300
# Share of the time limit the warm start may spend on dispatch rules after the first.
_CONSTRUCT_SHARE = 0.3


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
        strategy = "lns" if is_large(problem) and lns.supports(problem) else "cpsat"
    if strategy == "greedy":
        warm = _warm_start(problem, initial, None)
        if warm is not None and on_progress is not None:
            on_progress(Progress(evaluate(problem, warm).total, 0, time.perf_counter() - clock))
        return _greedy_result(problem, warm, clock)
    deadline = clock + time_limit
    bound = lower_bound(problem)
    warm = _warm_start(problem, initial, clock + _CONSTRUCT_SHARE * time_limit)
    if warm is not None and on_progress is not None:
        on_progress(Progress(evaluate(problem, warm).total, bound, time.perf_counter() - clock))
    if strategy == "lns" and warm is not None and lns.supports(problem):
        schedule = lns.large_neighbourhood_search(
            problem,
            warm,
            deadline=deadline,
            workers=workers,
            seed=seed,
            on_progress=on_progress,
            clock=clock,
            bound=bound,
        )
        if check(problem, schedule):  # never expected: every step is checked; keep the warm start if it happens
            schedule = warm
        objective = evaluate(problem, schedule).total
        bound = min(bound, objective)
        status = Status.OPTIMAL if bound == objective else Status.FEASIBLE
        return Result(status, objective, bound, time.perf_counter() - clock, schedule, strategy)
    return _solve_cpsat(problem, warm, deadline, workers, seed, on_progress, clock, strategy, bound)


def is_large(problem: Problem) -> bool:
    """Whether ``auto`` uses the large-neighbourhood search rather than one model."""
    arcs = sum(len(tasks) ** 2 for tasks in problem.machine_tasks.values())
    if len(problem.tasks) > _AUTO_MAX_TASKS or arcs > _AUTO_MAX_ARCS:
        return True
    changeovers = any(
        isinstance(resource, Machine) and resource.has_setups and problem.machine_tasks[index]
        for index, resource in enumerate(problem.resources)
    )
    return changeovers and len(problem.tasks) > _AUTO_MAX_SETUP_TASKS


def _warm_start(problem: Problem, initial: Schedule | None, construct_until: float | None) -> Schedule | None:
    """A feasible schedule to start from, or None.

    With ``construct_until`` (the optimising strategies): the better of ``initial`` (if feasible) and the best
    dispatch rule of :func:`construct`. Without it (the ``greedy`` strategy): ``initial`` if it is feasible,
    else the one-pass baseline :func:`greedy` if it is.
    """
    if initial is not None and check(problem, initial):
        initial = None
    if construct_until is None:
        if initial is not None:
            return initial
        baseline = greedy(problem)
        return None if check(problem, baseline) else baseline
    built = construct(problem, deadline=construct_until)
    if built is None:
        return initial
    if initial is None:
        return built
    return built if evaluate(problem, built).total < evaluate(problem, initial).total else initial


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
    trivial: int,
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
    bound = trivial
    if built.exact and code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bound = max(bound, math.ceil(solver.best_objective_bound - 1e-6))
    bound = min(objective, bound)
    status = Status.OPTIMAL if bound == objective else Status.FEASIBLE
    return Result(status, objective, bound, runtime, schedule, strategy)
