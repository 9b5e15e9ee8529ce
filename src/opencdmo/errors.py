"""The one error tree of OpenCDMO.

Every error the package raises on purpose derives from :class:`OpenCDMOError`. Errors carry context (which
record, which field, which place in a file), never transport details such as HTTP status codes: each
entrypoint maps them once (the CLI to a message and an exit code).

::

    OpenCDMOError
    ├── DomainError             a business rule was broken (bad value, illegal state change)
    │   └── InvalidTransition   a batch was asked to move to a status it cannot reach from its current one
    ├── NotFound                a named record does not exist (or is not visible to the caller)
    ├── Conflict                the request clashes with what is stored (duplicate key, non-empty database)
    │   └── WriteRace           another writer committed first (SQLite); the whole use case may run again
    ├── Unauthorized            the caller is not authenticated (no, wrong, expired or revoked credentials)
    ├── Forbidden               the caller's role or scope does not allow the action
    ├── InputError              input at a boundary is malformed or inconsistent
    │   └── ScenarioFileError   a scenario file is malformed; names the file and the place in the document
    └── ConfigurationError      settings are missing or unusable (bad database URL, unreachable database)
"""

from __future__ import annotations


class OpenCDMOError(Exception):
    """Base of every error OpenCDMO raises on purpose."""


class DomainError(OpenCDMOError):
    """A business rule of the domain model was broken.

    ``field`` names the attribute at fault when there is one, so a boundary can say where the problem is
    (a form field, or a place in a scenario file).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidTransition(DomainError):
    """A batch (or another state machine) cannot move from its current status to the requested one."""

    def __init__(self, record: str, current: str, requested: str, allowed: tuple[str, ...]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none (final status)"
        super().__init__(
            f"{record} cannot go from {current!r} to {requested!r}; allowed next: {allowed_text}",
            field="status",
        )
        self.record = record
        self.current = current
        self.requested = requested
        self.allowed = allowed


class NotFound(OpenCDMOError):
    """A record named by the caller does not exist, or the caller may not see it (the two look the same)."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"no {kind} {key!r}")
        self.kind = kind
        self.key = key


class Conflict(OpenCDMOError):
    """The request clashes with stored data, for example a duplicate name or an import into a full database."""


class WriteRace(Conflict):
    """Another writer committed first on a database that takes one writer at a time (SQLite): nothing of this
    change was stored, and running the whole use case again is safe (see ``services.unit_of_work.retry_on_race``)."""

    def __init__(self) -> None:
        super().__init__("another change was being written at the same moment and nothing was stored: try again")


class Unauthorized(OpenCDMOError):
    """The caller could not be authenticated. The message never says which part was wrong, so usernames
    cannot be probed."""


class Forbidden(OpenCDMOError):
    """The caller's role or sponsor scope does not allow the action."""


class InputError(OpenCDMOError):
    """Input at a boundary (file, CLI flag, form, API body) is malformed or inconsistent."""


class ScenarioFileError(InputError):
    """A scenario file cannot be read: says which file, where in the document, and what is wrong."""

    def __init__(self, source: str, location: str, problem: str) -> None:
        where = f"{source}: {location}" if location else source
        super().__init__(f"{where}: {problem}")
        self.source = source
        self.location = location
        self.problem = problem


class ConfigurationError(OpenCDMOError):
    """Settings are missing or unusable, such as an unsupported database URL."""
