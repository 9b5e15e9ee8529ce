"""Errors of the scheduling library.

The library imports nothing else from OpenCDMO, so it has its own small tree; an entrypoint maps it once.

::

    SchedulingError                 base of every error the library raises on purpose
    ├── ProblemDataError(ValueError) problem data is invalid; ``field`` names the place (``tasks[3].modes[0]``)
    └── ReaderError(ValueError)     an instance file is malformed; names the file and the line

An infeasible problem is not an error: :func:`solve` returns a result with status ``infeasible`` and reasons.
"""

from __future__ import annotations


class SchedulingError(Exception):
    """Base of every error the scheduling library raises on purpose."""


class ProblemDataError(SchedulingError, ValueError):
    """Problem data is invalid. ``field`` is the path of the offending value, such as ``tasks[3].modes[0]``."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ReaderError(SchedulingError, ValueError):
    """An instance file is malformed. ``path`` and ``line`` (1-based) say where, when known."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = self.path or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        return f"{where}: {self.message}" if where else self.message
