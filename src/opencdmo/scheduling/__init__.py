"""OpenCDMO's scheduling engine: a finite-capacity optimiser, a library of its own.

It imports nothing else from OpenCDMO. Build a :class:`Problem`, call :func:`solve`, read the :class:`Result`;
check any schedule with :func:`check`. Readers for public benchmark formats live in ``readers``.
"""

from opencdmo.scheduling.check import Evaluation, Violation, check, evaluate
from opencdmo.scheduling.errors import ProblemDataError, ReaderError, SchedulingError
from opencdmo.scheduling.heuristics import greedy
from opencdmo.scheduling.problem import (
    Consecutive,
    Consumable,
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
    SameSequence,
    Selection,
    SelectionKind,
    Task,
)
from opencdmo.scheduling.result import Progress, Result, Schedule, ScheduledTask, Status
from opencdmo.scheduling.solve import STRATEGIES, solve

__all__ = [
    "STRATEGIES",
    "Consecutive",
    "Consumable",
    "DifferentResources",
    "Evaluation",
    "IdenticalResources",
    "Job",
    "Machine",
    "Mode",
    "ModeDependency",
    "Objective",
    "Point",
    "Precedence",
    "Problem",
    "ProblemDataError",
    "Progress",
    "ReaderError",
    "Renewable",
    "Result",
    "SameSequence",
    "Schedule",
    "ScheduledTask",
    "SchedulingError",
    "Selection",
    "SelectionKind",
    "Status",
    "Task",
    "Violation",
    "check",
    "evaluate",
    "greedy",
    "solve",
]
