"""Background solves: the registry's states, progress and one-at-a-time rule with a controllable stand-in for
the planner, then real plans and re-plans on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from opencdmo.adapters import scenario_file
from opencdmo.bootstrap import App
from opencdmo.errors import Conflict, NotFound
from opencdmo.scheduling import Progress
from opencdmo.services import planning, scenarios
from opencdmo.services.jobs import UNEXPECTED_FAILURE, JobKind, JobState, PlanJobs
from tests.fakes import FakeUnitOfWork

WAIT = 30.0
OPTIONS = planning.PlanOptions(time_limit=2.0, workers=1, strategy="auto")


@dataclass
class SteppedPlan:
    """Stands in for plan_network: reports a step and a solution, then waits until the test lets it finish."""

    outcome: BaseException | None = None
    reported: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    calls: list[planning.PlanOptions] = field(default_factory=list)

    def __call__(self, _uow: object, options: planning.PlanOptions, **callbacks: Any) -> Any:
        self.calls.append(options)
        callbacks["progress"]("solving: 22 operations on 7 suites")
        callbacks["on_solution"](Progress(objective=500, lower_bound=100, seconds=0.1))
        callbacks["on_solution"](Progress(objective=400, lower_bound=120, seconds=0.2))
        self.reported.set()
        assert self.release.wait(WAIT)
        if self.outcome is not None:
            raise self.outcome
        return _Report(version=7)


@dataclass(frozen=True)
class _Report:
    version: int


@pytest.fixture
def stepped() -> SteppedPlan:
    return SteppedPlan()


def test_a_job_reports_its_progress_and_its_version(stepped: SteppedPlan) -> None:
    registry = PlanJobs(plan=stepped)
    queued = registry.start(FakeUnitOfWork, OPTIONS, requested_by="ana")
    assert queued.kind is JobKind.PLAN
    assert queued.requested_by == "ana"
    assert len(queued.id) >= 20
    assert stepped.reported.wait(WAIT)

    running = registry.get(queued.id)
    assert running.state is JobState.RUNNING
    assert running.step == "solving: 22 operations on 7 suites"
    assert 0.0 <= running.fraction < 1.0
    assert (running.best_objective, running.lower_bound, running.solutions) == (400, 120, 2)
    assert running.started_at is not None
    assert running.finished_at is None
    assert running.version is None

    stepped.release.set()
    done = registry.wait(queued.id, WAIT)
    assert done.state is JobState.SUCCEEDED
    assert (done.version, done.fraction, done.error) == (7, 1.0, None)
    assert done.finished_at is not None
    assert done.started_at is not None
    assert done.elapsed_seconds == pytest.approx((done.finished_at - done.started_at).total_seconds(), abs=0.05)
    assert stepped.calls[0].created_by == "ana"  # the version is stored as made by whoever asked for it
    assert registry.list() == [done]


def test_one_solve_at_a_time(stepped: SteppedPlan) -> None:
    registry = PlanJobs(plan=stepped)
    first = registry.start(FakeUnitOfWork, OPTIONS, requested_by="ana")
    with pytest.raises(Conflict, match=f"job {first.id}, asked for by ana"):
        registry.start(FakeUnitOfWork, OPTIONS, requested_by="bob")
    stepped.release.set()
    registry.wait(first.id, WAIT)
    stepped.reported.clear()
    second = registry.start(FakeUnitOfWork, OPTIONS, requested_by="bob")
    registry.wait(second.id, WAIT)
    assert [view.id for view in registry.list()] == [second.id, first.id]


def test_a_failed_job_says_why(stepped: SteppedPlan) -> None:
    stepped.outcome = Conflict("there is nothing to plan")
    stepped.release.set()
    registry = PlanJobs(plan=stepped)
    failed = registry.wait(registry.start(FakeUnitOfWork, OPTIONS, requested_by="ana").id, WAIT)
    assert failed.state is JobState.FAILED
    assert (failed.error, failed.version, failed.fraction) == ("there is nothing to plan", None, 1.0)


def test_an_unexpected_failure_is_logged_and_not_shown(stepped: SteppedPlan, caplog: pytest.LogCaptureFixture) -> None:
    stepped.outcome = RuntimeError("SELECT secret FROM northwind")
    stepped.release.set()
    registry = PlanJobs(plan=stepped)
    with caplog.at_level(logging.ERROR, logger="opencdmo.services.jobs"):
        failed = registry.wait(registry.start(FakeUnitOfWork, OPTIONS, requested_by="ana").id, WAIT)
    assert (failed.state, failed.error) == (JobState.FAILED, UNEXPECTED_FAILURE)
    assert "secret" in caplog.text  # in the log for the administrator, not in the answer
    # The registry is free again.
    stepped.outcome = None
    assert registry.wait(registry.start(FakeUnitOfWork, OPTIONS, requested_by="ana").id, WAIT).version == 7


def test_unknown_jobs_and_forgetting_old_ones(stepped: SteppedPlan) -> None:
    stepped.release.set()
    registry = PlanJobs(plan=stepped, keep=2)
    with pytest.raises(NotFound):
        registry.get("no-such-job")
    with pytest.raises(NotFound):
        registry.wait("no-such-job", 0.1)
    ids = [registry.wait(registry.start(FakeUnitOfWork, OPTIONS, requested_by="ana").id, WAIT).id for _ in range(3)]
    assert [view.id for view in registry.list()] == [ids[2], ids[1]]


# With the real planner --------------------------------------------------------------------------------------------


def test_a_real_plan_runs_in_the_background_and_is_stored(app: App, sample_text: str) -> None:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    registry = PlanJobs()
    job = registry.wait(registry.start(app.unit_of_work, OPTIONS, requested_by="ana").id, WAIT)
    assert job.state is JobState.SUCCEEDED, job.error
    assert job.version == 1
    assert any(step.startswith("solving: ") for step in job.steps)
    assert job.step == "measuring and storing the plan"
    assert job.solutions >= 1
    assert job.best_objective is not None
    with app.unit_of_work() as uow:
        version = uow.schedules.get()
        assert version is not None
        assert (version.number, version.created_by, version.objective) == (1, "ana", job.best_objective)

    base = planning.latest_plan(app.unit_of_work())
    target = next(line for line in base.operations if line.kind == "stage" and line.start > base.origin)
    down = planning.SuiteDown(target.suite, target.start, target.start + timedelta(days=7))
    replanned = registry.wait(registry.start_reschedule(app.unit_of_work, down, OPTIONS, requested_by="bob").id, WAIT)
    assert replanned.state is JobState.SUCCEEDED, replanned.error
    assert (replanned.kind, replanned.version) == (JobKind.RESCHEDULE, 2)
    with app.unit_of_work() as uow:
        latest = uow.schedules.get()
        assert latest is not None
        assert (latest.kind.value, latest.based_on, latest.created_by) == ("reschedule", 1, "bob")


def test_a_real_plan_with_nothing_to_plan_fails_and_stores_nothing(app: App) -> None:
    registry = PlanJobs()
    job = registry.wait(registry.start(app.unit_of_work, OPTIONS, requested_by="ana").id, WAIT)
    assert job.state is JobState.FAILED
    assert job.error == "there is nothing to plan: no batch is planned, scheduled or in progress"
    assert job.steps == ("reading the network and the order book",)
    with app.unit_of_work() as uow:
        assert uow.schedules.list() == []
