"""Electronic signatures (21 CFR Part 11 §11.50, §11.70): who signed what, when, meaning what. Standard library only.

A signature names the signer twice, by user id and by printed name, the time (UTC) and the meaning of the
signing (P11-13). It is bound to the signed content by :func:`content_hash`, the SHA-256 of a canonical JSON of
the record's type, id and content: a later change to the content no longer matches the hash, and since the
type and id are inside the hash, a signature copied onto another record does not match that record either
(P11-15). Signatures are never changed or deleted (the database refuses it); a record changed after signing
shows its signatures as broken (:meth:`Signature.is_intact`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from opencdmo.domain import _rules
from opencdmo.errors import DomainError

MAX_RECORD_TYPE_LENGTH = 60
MAX_RECORD_ID_LENGTH = 200
MAX_PRINTED_NAME_LENGTH = 120
MAX_COMMENT_LENGTH = 500
HASH_PATTERN = re.compile(r"[0-9a-f]{64}")


class Meaning(StrEnum):
    """What a signature means (§11.50(a)(3))."""

    AUTHORED = "authored"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    VERIFIED = "verified"
    RELEASED = "released"
    REJECTED = "rejected"


def _check_plain(value: object, path: str) -> None:
    """Refuse anything but JSON's own types, so that the same content always gives the same bytes."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TypeError(f"{path}: {value!r} has no JSON form")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_plain(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: keys must be text, not {type(key).__name__}")
            _check_plain(item, f"{path}.{key}")
        return
    raise TypeError(
        f"{path}: a {type(value).__name__} is not JSON-plain (use str, int, float, bool, None, list or dict)"
    )


def canonical_json(record_type: str, record_id: str, content: Mapping[str, Any]) -> bytes:
    """The bytes a signature's hash is taken over: sorted keys, no spaces, UTF-8 (not escaped)."""
    document = {"record_type": record_type, "record_id": record_id, "content": dict(content)}
    _check_plain(document, "content")
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def content_hash(record_type: str, record_id: str, content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a record's type, id and JSON-plain ``content``; TypeError for any other value."""
    return hashlib.sha256(canonical_json(record_type, record_id, content)).hexdigest()


@dataclass(eq=False)
class Signature:
    """One electronic signature, bound to the content it was given over (by :attr:`content_hash`)."""

    record_type: str
    record_id: str
    username: str
    printed_name: str
    meaning: Meaning
    signed_at: datetime
    content_hash: str
    comment: str | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        self.record_type = _rules.text(self.record_type, "record_type", max_length=MAX_RECORD_TYPE_LENGTH)
        self.record_id = _rules.text(self.record_id, "record_id", max_length=MAX_RECORD_ID_LENGTH)
        self.username = _rules.text(self.username, "username", max_length=60)
        self.printed_name = _rules.text(self.printed_name, "printed_name", max_length=MAX_PRINTED_NAME_LENGTH)
        self.meaning = _rules.choice(Meaning, self.meaning, "meaning")
        self.signed_at = _rules.utc(self.signed_at, "signed_at")
        if not isinstance(self.content_hash, str) or not HASH_PATTERN.fullmatch(self.content_hash):
            raise DomainError("must be a SHA-256 digest: 64 lower-case hexadecimal digits", field="content_hash")
        if self.comment is not None:
            if not isinstance(self.comment, str):
                raise DomainError("must be a text", field="comment")
            self.comment = self.comment.strip() or None
            if self.comment is not None and len(self.comment) > MAX_COMMENT_LENGTH:
                raise DomainError(f"must be at most {MAX_COMMENT_LENGTH} characters", field="comment")

    def is_intact(self, current_hash: str) -> bool:
        """Whether the record still has the content that was signed."""
        return self.content_hash == current_hash

    def manifestation(self) -> str:
        """The signature as every display and export of the record shows it (§11.50)."""
        return (
            f"Signed by {self.printed_name} ({self.username}) on {self.signed_at:%Y-%m-%d %H:%M:%S} UTC"
            f" — {self.meaning.value}"
        )

    def __repr__(self) -> str:
        return f"Signature({self.record_type}/{self.record_id}, {self.username!r}, {self.meaning.value})"
