"""A short-lived in-process memo of read models that many people poll at once (the dashboard, the newest plan).

Reading the newest plan's figures costs tens of milliseconds of ORM work; fifty planners and sponsor portals
refreshing the same page would spend the server's cores recomputing the same answer. A :class:`ReadCache`
keeps each answer under a key that callers build from everything the answer depends on — which read, whose
scope, which day — and adds the process's commit count (:data:`opencdmo.services.unit_of_work.commits`), so:

- a change committed by this process is seen by the very next read (the count moved, the key changed);
- a change committed by another process (the CLI, a second server) is seen within ``ttl`` seconds;
- a sponsor's answer is never served to another caller, because the scope is part of the key.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from opencdmo.services.unit_of_work import commits

T = TypeVar("T")

DEFAULT_TTL = 2.0
DEFAULT_ENTRIES = 512


class ReadCache:
    """Answers kept for ``ttl`` seconds, at most ``max_entries`` of them (the least recently used go first)."""

    def __init__(
        self, ttl: float = DEFAULT_TTL, max_entries: int = DEFAULT_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl < 0:
            raise ValueError("ttl must be 0 or more seconds")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer stored under ``key``, or ``compute()``'s, stored when it returns (an error stores nothing).

        Two callers missing the same key at once may both compute it; the answers are equal, and holding a lock
        across a database read would serialise every request behind the slowest.
        """
        full_key = (key, commits.count)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(full_key)
            if entry is not None and now - entry[0] <= self.ttl:
                self._entries.move_to_end(full_key)
                self.hits += 1
                return entry[1]  # type: ignore[no-any-return]
            self.misses += 1
        value = compute()
        with self._lock:
            self._entries[full_key] = (now, value)
            self._entries.move_to_end(full_key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
