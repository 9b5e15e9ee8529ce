"""Small checks shared by the domain's constructors; each raises a DomainError that names the field."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

from opencdmo.errors import DomainError

E = TypeVar("E", bound=StrEnum)

MAX_NAME_LENGTH = 120
# Bounds that keep every value storable on every database (32-bit integers, cents in 64 bits, exact as
# a float in a scenario file): a million hours is over a century, a trillion is above any batch price.
MAX_WHOLE = 1_000_000
MAX_MONEY = Decimal("999999999999.99")


def text(value: object, field: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """A non-blank string without surrounding whitespace."""
    if not isinstance(value, str) or not value.strip():
        raise DomainError("must be a non-empty text", field=field)
    if value != value.strip():
        raise DomainError("must not start or end with spaces", field=field)
    if len(value) > max_length:
        raise DomainError(f"must be at most {max_length} characters", field=field)
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise DomainError("must not contain control characters such as tabs or line breaks", field=field)
    return value


def choice(enum: type[E], value: object, field: str) -> E:
    """A member of ``enum``, given as the member or its value."""
    if isinstance(value, enum):
        return value
    allowed = ", ".join(member.value for member in enum)
    if not isinstance(value, str):
        raise DomainError(f"{value!r} is not one of: {allowed}", field=field)
    try:
        return enum(value)
    except ValueError:
        raise DomainError(f"{value!r} is not one of: {allowed}", field=field) from None


def whole(value: object, field: str, *, minimum: int = 0, maximum: int = MAX_WHOLE) -> int:
    """An integer within bounds (booleans are refused: True is not a number of hours)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(f"must be a whole number, not {value!r}", field=field)
    if value < minimum:
        raise DomainError(f"must be at least {minimum}, not {value}", field=field)
    if value > maximum:
        raise DomainError(f"must be at most {maximum}, not {value}", field=field)
    return value


def positive_number(value: object, field: str) -> float:
    """A finite number greater than zero."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DomainError(f"must be a number, not {value!r}", field=field)
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise DomainError(f"must be greater than 0, not {value}", field=field)
    return number


def money(value: object, field: str) -> Decimal:
    """A non-negative amount with at most two decimals (cents)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise DomainError(f"must be an amount of money, not {value!r}", field=field)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise DomainError(f"must be an amount of money, not {value!r}", field=field) from None
    if not amount.is_finite() or amount < 0:
        raise DomainError(f"must be zero or more, not {value}", field=field)
    if amount > MAX_MONEY:
        raise DomainError(f"must be at most {MAX_MONEY:,}, not {value}", field=field)
    cents = amount.quantize(Decimal("0.01"))
    if amount != cents:
        raise DomainError(f"must have at most two decimals, not {value}", field=field)
    return cents


def labels(values: Iterable[object], field: str) -> frozenset[str]:
    """A set of short lower-case labels such as capabilities or certifications."""
    if isinstance(values, str):
        raise DomainError("must be a list of labels, not a single text", field=field)
    result: set[str] = set()
    for value in values:
        label = text(value, field, max_length=60)
        if label != label.lower() or " " in label:
            raise DomainError(f"label {label!r} must be lower case without spaces", field=field)
        result.add(label)
    return frozenset(result)


def to_the_minute(value: datetime, field: str) -> datetime:
    """Planning works in whole minutes: a time with seconds would not survive a round trip."""
    if value.second or value.microsecond:
        raise DomainError(f"must be a whole minute, not {value.isoformat()}", field=field)
    return value


def utc(value: object, field: str) -> datetime:
    """A timezone-aware datetime; stored and compared in UTC."""
    if not isinstance(value, datetime):
        raise DomainError(f"must be a date and time, not {value!r}", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise DomainError("must carry a time zone (times are kept in UTC)", field=field)
    return value.astimezone(UTC)
