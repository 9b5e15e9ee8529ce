"""The read cache: answers memoised per key for a short time, made stale by any commit of this process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from opencdmo.services.read_cache import ReadCache
from opencdmo.services.unit_of_work import commits
from tests.fakes import FakeUnitOfWork


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Counting:
    """A computation that says how often it ran."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.calls


def test_an_answer_is_reused_within_the_ttl_and_recomputed_after_it() -> None:
    clock, compute = Clock(), Counting()
    cache = ReadCache(ttl=2.0, clock=clock)
    assert cache.get("kpis", compute) == 1
    clock.now += 1.9
    assert cache.get("kpis", compute) == 1
    clock.now += 0.2
    assert cache.get("kpis", compute) == 2
    assert (cache.hits, cache.misses) == (1, 2)


def test_keys_keep_scopes_apart() -> None:
    cache = ReadCache(clock=Clock())
    assert cache.get(("kpis", None), lambda: "staff figures") == "staff figures"
    assert cache.get(("kpis", 7), lambda: "sponsor 7 figures") == "sponsor 7 figures"
    assert cache.get(("kpis", None), lambda: "recomputed") == "staff figures"


def test_a_commit_of_this_process_makes_every_answer_stale_at_once() -> None:
    compute = Counting()
    cache = ReadCache(ttl=60.0, clock=Clock())
    assert cache.get("plan", compute) == 1
    uow = FakeUnitOfWork()
    with uow:
        uow.commit()
    assert cache.get("plan", compute) == 2


def test_the_commit_counter_counts_commits_only() -> None:
    before = commits.count
    uow = FakeUnitOfWork()
    with uow:
        pass  # left without committing: a rollback
    assert commits.count == before
    with uow:
        uow.commit()
    assert commits.count == before + 1


def test_a_failed_computation_stores_nothing() -> None:
    cache = ReadCache(clock=Clock())

    def failing() -> int:
        raise LookupError("no plan yet")

    with pytest.raises(LookupError):
        cache.get("plan", failing)
    assert cache.get("plan", lambda: 5) == 5


def test_the_least_recently_used_answer_goes_first_when_full() -> None:
    cache = ReadCache(max_entries=2, clock=Clock())
    cache.get("a", lambda: "a1")
    cache.get("b", lambda: "b1")
    cache.get("a", lambda: "a2")  # a is now the most recently used
    cache.get("c", lambda: "c1")  # b goes
    assert cache.get("a", lambda: "a3") == "a1"
    assert cache.get("b", lambda: "b2") == "b2"


@pytest.mark.parametrize(("ttl", "entries"), [(-1.0, 10), (1.0, 0)])
def test_bad_settings_are_refused(ttl: float, entries: int) -> None:
    with pytest.raises(ValueError, match=r"ttl|max_entries"):
        ReadCache(ttl=ttl, max_entries=entries)


def _in_thread(target: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    answers: list[object] = []
    thread = threading.Thread(target=lambda: answers.append(target()))
    thread.start()
    return thread, answers


def test_callers_missing_the_same_key_at_once_compute_it_once() -> None:
    cache = ReadCache(clock=Clock())
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        started.set()
        release.wait(5)
        return "figures"

    first, first_answer = _in_thread(lambda: cache.get("kpis", slow))
    assert started.wait(5)
    second, second_answer = _in_thread(lambda: cache.get("kpis", slow))
    time.sleep(0.05)  # the second caller is now waiting for the first one's answer
    release.set()
    first.join(5)
    second.join(5)
    assert first_answer == second_answer == ["figures"]
    assert len(calls) == 1


def test_an_expired_answer_is_refreshed_by_one_caller_while_the_others_get_the_old_one() -> None:
    clock = Clock()
    cache = ReadCache(ttl=2.0, clock=clock)
    assert cache.get("plan", lambda: "v1") == "v1"
    clock.now += 3
    started, release = threading.Event(), threading.Event()

    def refresh() -> str:
        started.set()
        release.wait(5)
        return "v2"

    refresher, refreshed = _in_thread(lambda: cache.get("plan", refresh))
    assert started.wait(5)
    assert cache.get("plan", lambda: "never computed") == "v1"
    release.set()
    refresher.join(5)
    assert refreshed == ["v2"]
    assert cache.get("plan", lambda: "never computed") == "v2"


def test_when_the_computing_caller_fails_a_waiting_one_computes_the_answer_itself() -> None:
    cache = ReadCache(clock=Clock())
    started, release = threading.Event(), threading.Event()

    def failing() -> str:
        started.set()
        release.wait(5)
        raise LookupError("database gone")

    def failing_call() -> object:
        try:
            return cache.get("kpis", failing)
        except LookupError as error:
            return error

    first, first_answer = _in_thread(failing_call)
    assert started.wait(5)
    second, second_answer = _in_thread(lambda: cache.get("kpis", lambda: "figures"))
    time.sleep(0.05)
    release.set()
    first.join(5)
    second.join(5)
    assert isinstance(first_answer[0], LookupError)
    assert second_answer == ["figures"]


def test_a_failed_refresh_lets_the_next_caller_refresh() -> None:
    clock = Clock()
    cache = ReadCache(ttl=1.0, clock=clock)
    cache.get("plan", lambda: "v1")
    clock.now += 2

    def failing() -> str:
        raise LookupError("database gone")

    with pytest.raises(LookupError):
        cache.get("plan", failing)
    assert cache.get("plan", lambda: "v2") == "v2"
