"""The read cache: answers memoised per key for a short time, made stale by any commit of this process."""

from __future__ import annotations

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
