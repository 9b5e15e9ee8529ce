"""HTML forms: the text a user typed, read into the values a service takes, and shown again when refused.

A form arrives as text (:data:`FormValues`). A :class:`Reader` turns it into typed values, noting a message
per field rather than stopping at the first; :func:`submit` then calls the service. A refusal, whether the
reader's or the service's (a :class:`DomainError` names its ``field``; a :class:`Conflict` is a name or number
already taken), becomes a :class:`FormState`: the user's input as typed, a message beside each field at fault
and one for the form as a whole when no field of it is to blame. The page shows the form again with it, status
422 (409 for a conflict); a success redirects (post/redirect/get) with a :mod:`flash <opencdmo.web.flash>`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from opencdmo.errors import Conflict, DomainError, InputError
from opencdmo.web import flash
from opencdmo.web.plans import cache_of
from opencdmo.web.sessions import CSRF_FIELD

D = TypeVar("D")
T = TypeVar("T")

MAX_FIELDS = 40
MAX_VALUE_LENGTH = 2000
LABEL_SEPARATORS = re.compile(r"[\s,;]+")
WHOLE = re.compile(r"[+-]?\d{1,12}")
AMOUNT = re.compile(r"[+-]?\d+(\.\d+)?")
DIGIT_GROUPS = re.compile(r"(?<=\d)[\s,_](?=\d)")  # 12 500 or 12,500 or 12_500
NUMBER = re.compile(r"[+-]?(\d{1,15}(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")
REQUIRED = "required"


async def form_values(request: Request) -> dict[str, str]:
    """The fields of a posted form as text (the CSRF token left out); files and oversized forms are refused."""
    form = await request.form()
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str):
            raise InputError(f"{name[:40]}: this form takes no files")
        if name != CSRF_FIELD:
            values[name[:100]] = value
    if len(values) > MAX_FIELDS:
        raise InputError(f"a form has at most {MAX_FIELDS} fields")
    return values


FormValues = Annotated[dict[str, str], Depends(form_values)]


@dataclass(frozen=True)
class FormState:
    """A form as shown: the text in its fields, a message per refused field, and ``problem``, a message about
    the form as a whole. ``status`` is the answer's status when it is shown again."""

    values: Mapping[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problem: str = ""
    status: int = 200

    @classmethod
    def of(cls, **values: object) -> FormState:
        """A form filled in with ``values`` (a record's, to edit it); None shows as an empty field."""
        return cls({name: "" if value is None else _shown(value) for name, value in values.items()})

    @property
    def refused(self) -> bool:
        return bool(self.errors or self.problem)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def error(self, name: str) -> str:
        return self.errors.get(name, "")


def _shown(value: object) -> str:
    if isinstance(value, datetime):
        return f"{value.astimezone(UTC):%Y-%m-%dT%H:%M}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, frozenset | set | list | tuple):
        return ", ".join(sorted(str(item) for item in value))
    return str(value)


class FormInvalid(InputError):
    """The text of some fields cannot be read as what they ask for; ``errors`` holds a message per field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


class Reader:
    """Reads the fields of a form as typed values, noting a message for each one it cannot read.

    A field it refuses reads as a placeholder of the right type (0, "", today): :meth:`done` raises
    :class:`FormInvalid` before any of them can be used, which :func:`submit` does before calling the service.
    Ranges and rules are the domain's to check; the reader checks only that the text means a value.
    """

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.errors: dict[str, str] = {}

    def _raw(self, name: str) -> str:
        value = self.values.get(name, "").strip()
        if len(value) > MAX_VALUE_LENGTH:
            self.refuse(name, f"at most {MAX_VALUE_LENGTH} characters")
            return ""
        return value

    def _required(self, name: str) -> str | None:
        value = self._raw(name)
        if not value:
            self.refuse(name, REQUIRED)
            return None
        return value

    def text(self, name: str) -> str:
        """Text as typed (without surrounding spaces); an empty one is refused."""
        return self._required(name) or ""

    def whole(self, name: str, default: int | None = None) -> int:
        """A whole number such as ``12``; an empty field is ``default`` (refused without one)."""
        value = self._raw(name) if default is not None else self._required(name)
        if not value:
            return default if default is not None else 0
        if not WHOLE.fullmatch(value):
            self.refuse(name, f"must be a whole number, not {value[:40]!r}")
            return 0
        return int(value)

    def number(self, name: str) -> float:
        """A number such as ``2000`` or ``0.5``."""
        value = self._required(name)
        if value is None:
            return 0.0
        if not NUMBER.fullmatch(value):  # also refuses what float() alone would take: nan, inf, 1_000
            self.refuse(name, f"must be a number, not {value[:40]!r}")
            return 0.0
        return float(value)

    def money(self, name: str, default: Decimal | None = None) -> Decimal:
        """An amount such as ``2400000`` or ``650000.50`` (spaces, commas and underscores between digits ignored)."""
        value = self._raw(name) if default is not None else self._required(name)
        if not value:
            return default if default is not None else Decimal(0)
        cleaned = DIGIT_GROUPS.sub("", value)
        if not AMOUNT.fullmatch(cleaned):
            self.refuse(name, f"must be an amount such as 1250.50, not {value[:40]!r}")
            return Decimal(0)
        return Decimal(cleaned)

    def day(self, name: str) -> date:
        """A date such as ``2027-06-30``."""
        value = self._required(name)
        if value is None:
            return datetime.now(UTC).date()
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.refuse(name, f"must be a date such as 2027-06-30, not {value[:40]!r}")
            return datetime.now(UTC).date()

    def moment(self, name: str) -> datetime:
        """A date and time such as ``2027-03-01T06:00`` (UTC, as every time on these pages) or with an offset."""
        value = self._required(name)
        if value is None:
            return datetime.now(UTC)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.refuse(name, f"must be a date and time such as 2027-03-01T06:00, not {value[:40]!r}")
            return datetime.now(UTC)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def labels(self, name: str) -> list[str]:
        """Labels separated by commas or spaces, such as ``bsl2, single-use``; empty is none."""
        return [label for label in LABEL_SEPARATORS.split(self._raw(name)) if label]

    def choice(self, name: str, options: Collection[str], *, required: bool = True) -> str:
        """One of ``options``; an empty field is "" when not ``required``."""
        value = self._raw(name)
        if not value:
            if required:
                self.refuse(name, REQUIRED)
            return ""
        if value not in options:
            self.refuse(name, f"choose one of {', '.join(options)}")
            return ""
        return value

    def refuse(self, name: str, message: str) -> None:
        """Note a message for ``name`` (a check of the page's own), unless the field was already refused."""
        self.errors.setdefault(name, message)

    def done(self) -> None:
        """Raise :class:`FormInvalid` when any field was refused."""
        if self.errors:
            raise FormInvalid(dict(self.errors))


def refusal(
    values: Mapping[str, str], fields: Collection[str], error: Exception, *, conflict_field: str | None = None
) -> FormState:
    """The form shown again after ``error``: its message beside the field at fault when that field is one of
    ``fields``, else above the form. A :class:`Conflict` goes beside ``conflict_field`` (a name already taken)."""
    if isinstance(error, FormInvalid):
        errors = {name: message for name, message in error.errors.items() if name in fields}
        rest = "; ".join(f"{name}: {message}" for name, message in error.errors.items() if name not in fields)
        return FormState(values, errors, rest, 422)
    if isinstance(error, Conflict):
        if conflict_field is not None and conflict_field in fields:
            return FormState(values, {conflict_field: str(error)}, "", 409)
        return FormState(values, {}, str(error), 409)
    at = getattr(error, "field", None)
    if isinstance(at, str) and at in fields:
        message = error.message if isinstance(error, DomainError) else str(error)
        return FormState(values, {at: message}, "", 422)
    return FormState(values, {}, str(error), 422)


def submit(
    values: Mapping[str, str],
    fields: Collection[str],
    read: Callable[[Reader], D],
    act: Callable[[D], T],
    *,
    conflict_field: str | None = None,
) -> T | FormState:
    """Read the form with ``read``, then ``act`` on what it read: the result, or the form to show again when
    the reader or the service refused it (the messages of :func:`refusal`)."""
    reader = Reader(values)
    try:
        wanted = read(reader)
        reader.done()
        return act(wanted)
    except (DomainError, InputError, Conflict) as error:
        return refusal(values, fields, error, conflict_field=conflict_field)


def saved(request: Request, target: str, message: str) -> RedirectResponse:
    """The answer to a form whose edit was stored: the plan pages read the records again, and the browser goes
    to ``target`` (a path of this site) where ``message`` is said once."""
    cache_of(request).invalidate()
    response = RedirectResponse(target, status_code=303)
    flash.flash(request, response, message)
    return response
