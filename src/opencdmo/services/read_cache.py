"""A short-lived in-process memo of read models that many people poll at once (the dashboard, the newest plan).

Reading the newest plan's figures costs tens of milliseconds of ORM work; fifty planners and sponsor portals
refreshing the same page would spend the server's cores recomputing the same answer. A :class:`ReadCache`
keeps each answer under a key that callers build from everything the answer depends on — which read, whose
scope, which day — and adds the process's commit count (:data:`opencdmo.services.unit_of_work.commits`), so:

- a change committed by this process is seen by the very next read (the count moved, the key changed);
- a change committed by another process (the CLI, a second server) is seen within ``ttl`` seconds (plus the
  time of one recomputation);
- a sponsor's answer is never served to another caller, because the scope is part of the key.

Under load it never lets a crowd recompute one answer: the first caller to miss a key computes it while the
others wait for its result, and once an answer is older than ``ttl`` one caller refreshes it while the others
are still served the previous answer.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from opencdmo.services.unit_of_work import commits

T = TypeVar("T")

DEFAULT_TTL = 2.0
DEFAULT_ENTRIES = 512
WAIT_FOR_OTHERS = 30.0
"""How long a caller waits for another caller's computation of the same key before computing it itself."""


@dataclass
class _Entry:
    stamp: float
    value: Any
    refreshing: bool = False


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
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._in_flight: dict[Hashable, threading.Event] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer stored under ``key``, or ``compute()``'s, stored when it returns (an error stores nothing)."""
        full_key = (key, commits.count)
        stale: _Entry | None = None
        while True:
            with self._lock:
                entry = self._entries.get(full_key)
                if entry is not None:
                    if entry.refreshing or self._clock() - entry.stamp <= self.ttl:
                        self._entries.move_to_end(full_key)
                        self.hits += 1
                        return entry.value  # type: ignore[no-any-return]
                    entry.refreshing = True  # this caller refreshes it; the others keep the old answer meanwhile
                    stale = entry
                    break
                flight = self._in_flight.get(full_key)
                if flight is None:
                    self._in_flight[full_key] = threading.Event()
                    break
            # Another caller is computing this very answer: wait for it, then read what it stored (when it
            # failed, nothing is stored and the next turn of the loop computes it here).
            flight.wait(WAIT_FOR_OTHERS)
        try:
            with self._lock:
                self.misses += 1
            value = compute()
        except BaseException:
            with self._lock:
                if stale is not None:
                    stale.refreshing = False
            raise
        else:
            with self._lock:
                self._entries[full_key] = _Entry(self._clock(), value)
                self._entries.move_to_end(full_key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            return value
        finally:
            with self._lock:
                done = self._in_flight.pop(full_key, None) if stale is None else None
            if done is not None:
                done.set()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
