"""Names typed by a user, before they reach a query."""

from __future__ import annotations


def can_name_a_record(value: str) -> bool:
    """Whether ``value`` could be the name (or number) of a stored record.

    The domain refuses control characters in every name, and PostgreSQL refuses a NUL in any query, so a lookup
    by such a value is answered "not found" without asking the database.
    """
    return not any(ord(character) < 32 or ord(character) == 127 for character in value)
