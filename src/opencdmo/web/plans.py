"""The latest plan as the pages see it, kept for a short while per version and sponsor scope.

Reading a plan of the 5,000-batch demo (25,000 operations) takes a second or two, too slow for every page
view and every pan of the Gantt chart. A stored version's operations never change, so the report of the
newest version is kept per (version number, caller's sponsor scope): a new plan shows at once (the newest
version number is asked on every request, a one-row query), and the entries of older versions are dropped. The
key holds the caller's scope, so a sponsor's report is never handed to anyone else.

What a stored version shows also depends on records that can change under it (an order's due date makes its
batches late or not). Staleness is bounded three ways:

- every successful edit made through the web pages, and every successful write through the API of the same
  process (:class:`ForgetPlansOnWrites`), calls :meth:`PlanCache.invalidate`: the next page reads the plan again;
- a solve stores a new version, whose number is a new key: it shows at once wherever it was started;
- an edit made by another process (the CLI, another server) is not seen here: the entry is read again in the
  background once it is older than ``plan_cache_seconds`` (two minutes by default), so it shows soon after.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opencdmo.services import planning
from opencdmo.services.planning import OperationLine, PlanReport
from opencdmo.services.unit_of_work import UnitOfWork

logger = logging.getLogger("opencdmo.web")

MAX_ENTRIES = 8
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Key = tuple[int, int | None]  # (version number, sponsor id or None for staff)


@dataclass(frozen=True)
class PlanView:
    """A plan report with its operations indexed by start time and by batch."""

    report: PlanReport
    lines: tuple[OperationLine, ...]
    starts: tuple[datetime, ...]
    longest: timedelta
    by_lot: dict[str, tuple[OperationLine, ...]] = field(repr=False)

    @classmethod
    def of(cls, report: PlanReport) -> PlanView:
        lines = tuple(sorted(report.operations, key=lambda line: (line.start, line.end)))
        by_lot: dict[str, list[OperationLine]] = {}
        for line in lines:
            if line.lot:
                by_lot.setdefault(line.lot, []).append(line)
        return cls(
            report=report,
            lines=lines,
            starts=tuple(line.start for line in lines),
            longest=max((line.end - line.start for line in lines), default=timedelta(0)),
            by_lot={lot: tuple(items) for lot, items in by_lot.items()},
        )

    @property
    def start(self) -> datetime:
        return self.lines[0].start if self.lines else self.report.origin

    @property
    def end(self) -> datetime:
        return max((line.end for line in self.lines), default=self.report.origin)

    def between(self, start: datetime, end: datetime) -> list[OperationLine]:
        """The operations that overlap ``[start, end)``, in order of start."""
        first = bisect_left(self.starts, start - self.longest)
        last = bisect_left(self.starts, end)
        return [line for line in self.lines[first:last] if line.end > start]

    def finishes(self) -> dict[str, datetime]:
        """When each batch's last operation ends."""
        return {lot: max(line.end for line in items) for lot, items in self.by_lot.items()}


def newest_version(uow: UnitOfWork) -> int | None:
    """The number of the newest stored schedule version, or None."""
    with uow:  # one aggregate over the versions' key, asked on every page view: never the whole version
        number = uow.schedules.next_number() - 1
        return number if number >= 1 else None


class PlanCache:
    """Plan views of the newest version per sponsor scope (see the module docstring).

    Requests that miss the same entry at once wait for one reading of the plan instead of each making their
    own. An entry older than ``seconds`` is still answered while a background thread reads it again, so only
    the first view of a new plan waits for it (and :meth:`warm` spares that wait for the staff's view).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: OrderedDict[Key, tuple[float, PlanView]] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[Key, threading.Lock] = {}
        self._generation = 0  # bumped by invalidate(): a reading begun before it is not kept

    def invalidate(self) -> None:
        """Forget every entry: the records behind them changed. A reading under way is answered but not kept."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def latest(self, open_uow: Callable[[], UnitOfWork]) -> PlanView | None:
        """The newest plan as the scope of ``open_uow()`` may see it, or None when no plan is stored yet."""
        uow = open_uow()
        number = newest_version(uow)
        if number is None:
            return None
        key = (number, uow.sponsor_id)
        with self._lock:
            found = self._entries.get(key)
        if found is not None:
            if time.monotonic() - found[0] > self.seconds:
                self._refresh_in_background(key, open_uow)
            return found[1]
        return self._load(key, open_uow)

    def warm(self, open_uow: Callable[[], UnitOfWork]) -> None:
        """Read the newest plan now (at start-up, so the first page does not wait); failures are only logged."""
        try:
            self.latest(open_uow)
        except Exception:
            logger.warning("could not read the newest plan ahead of the first page", exc_info=True)

    def _load(self, key: Key, open_uow: Callable[[], UnitOfWork], *, again: bool = False) -> PlanView:
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            with self._lock:
                found = self._entries.get(key)
            if found is not None and not again:
                return found[1]  # another request read it while this one waited
            with self._lock:
                generation = self._generation
            view = PlanView.of(planning.latest_plan(open_uow(), key[0]))
            with self._lock:
                if generation != self._generation:
                    return view  # invalidated while it was read: it may hold the records as they were
                self._entries[key] = (time.monotonic(), view)
                self._entries.move_to_end(key)
                for older in [entry for entry in self._entries if entry[0] < key[0]]:
                    del self._entries[older]  # only the newest version is ever asked for
                while len(self._entries) > MAX_ENTRIES:
                    self._entries.popitem(last=False)
            return view

    def _refresh_in_background(self, key: Key, open_uow: Callable[[], UnitOfWork]) -> None:
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
            if loading.locked():
                return  # already being read
            entry = self._entries.get(key)
            if entry is not None:  # answered as it is until the new reading is in
                self._entries[key] = (time.monotonic(), entry[1])

        def refresh() -> None:
            try:
                self._load(key, open_uow, again=True)
            except Exception:
                logger.warning("could not read plan v%s again", key[0], exc_info=True)

        threading.Thread(target=refresh, name=f"opencdmo-plan-{key[0]}", daemon=True).start()


def cache_of(request: Request) -> PlanCache:
    """The application's plan cache (made by :func:`opencdmo.web.install`)."""
    cache = request.app.state.opencdmo_plans
    if not isinstance(cache, PlanCache):
        raise TypeError("app.state.opencdmo_plans is not a PlanCache: was opencdmo.web.install() called?")
    return cache


class ForgetPlansOnWrites:
    """ASGI middleware: a successful write through the API (a 2xx answer to POST, PUT, PATCH or DELETE under
    ``prefix``) invalidates ``plans``, so the pages never show a plan with records as they were before it."""

    def __init__(self, app: ASGIApp, plans: PlanCache, prefix: str = "/api/") -> None:
        self.app = app
        self.plans = plans
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES or not str(scope["path"]).startswith(self.prefix):
            await self.app(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= int(message["status"]) < 300:
                self.plans.invalidate()
            await send(message)

        await self.app(scope, receive, watch)
