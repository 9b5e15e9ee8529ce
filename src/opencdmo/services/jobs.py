"""Background solves: a plan (or a re-plan after a suite breakdown) runs in a thread while the caller polls its
progress.

A :class:`PlanJobs` registry runs **one solve at a time**: asking for another while one is queued or running
raises :class:`Conflict` naming the job in the way (a second plan of the same order book would only redo the
first; the caller starts it again once the first has finished). Jobs live in memory: a restart forgets them,
never their result, which :func:`opencdmo.services.planning.plan_network` stores as a schedule version when,
and only when, it succeeds.

Progress comes from the planning service's callbacks: ``progress`` gives the text of the current step,
``on_solution`` each improving solution with the solver's bound. ``fraction`` is the share of the time limit
spent so far (capped below 1 while running), 1 once the job has finished.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from opencdmo.errors import Conflict, NotFound, OpenCDMOError
from opencdmo.scheduling import Progress
from opencdmo.services import planning
from opencdmo.services.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

UnitOfWorkFactory = Callable[[], UnitOfWork]
Steps = Callable[[str], None]
OnSolution = Callable[[Progress], None]
Work = Callable[[Steps, OnSolution], int]
"""What a job runs: given the two callbacks, solve and store, and return the new version's number."""

UNEXPECTED_FAILURE = "the solve failed unexpectedly; the error has been logged"
MAX_STEPS_KEPT = 20
RUNNING_FRACTION_CAP = 0.99


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobKind(StrEnum):
    PLAN = "plan"
    RESCHEDULE = "reschedule"


@dataclass(frozen=True)
class JobView:
    """A job as it is at the moment it was read."""

    id: str
    kind: JobKind
    state: JobState
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    step: str
    steps: tuple[str, ...]
    elapsed_seconds: float
    time_limit: float
    fraction: float
    best_objective: int | None
    lower_bound: int | None
    solutions: int
    version: int | None
    error: str | None

    @property
    def finished(self) -> bool:
        return self.state in (JobState.SUCCEEDED, JobState.FAILED)


@dataclass(eq=False)
class _Job:
    """The mutable record behind a view; read and written only under the registry's lock."""

    id: str
    kind: JobKind
    requested_by: str
    time_limit: float
    created_at: datetime
    state: JobState = JobState.QUEUED
    started_at: datetime | None = None
    finished_at: datetime | None = None
    started_clock: float | None = None
    finished_clock: float | None = None
    steps: list[str] = field(default_factory=list)
    best_objective: int | None = None
    lower_bound: int | None = None
    solutions: int = 0
    version: int | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def view(self, clock: float) -> JobView:
        if self.started_clock is None:
            elapsed = 0.0
        else:
            elapsed = (self.finished_clock if self.finished_clock is not None else clock) - self.started_clock
        finished = self.state in (JobState.SUCCEEDED, JobState.FAILED)
        if finished:
            fraction = 1.0
        elif self.state is JobState.RUNNING:
            fraction = min(elapsed / self.time_limit, RUNNING_FRACTION_CAP) if self.time_limit > 0 else 0.0
        else:
            fraction = 0.0
        return JobView(
            id=self.id,
            kind=self.kind,
            state=self.state,
            requested_by=self.requested_by,
            created_at=self.created_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            step=self.steps[-1] if self.steps else "",
            steps=tuple(self.steps),
            elapsed_seconds=round(max(elapsed, 0.0), 3),
            time_limit=self.time_limit,
            fraction=round(fraction, 4),
            best_objective=self.best_objective,
            lower_bound=self.lower_bound,
            solutions=self.solutions,
            version=self.version,
            error=self.error,
        )


class PlanJobs:
    """The solves of one application, run one at a time in background threads.

    ``plan`` and ``reschedule`` are the planning use cases (replaceable in tests); ``keep`` bounds how many
    finished jobs are remembered.
    """

    def __init__(
        self,
        *,
        plan: Callable[..., planning.PlanReport] = planning.plan_network,
        reschedule: Callable[..., planning.RescheduleReport] = planning.reschedule,
        keep: int = 50,
    ) -> None:
        self._plan = plan
        self._reschedule = reschedule
        self._keep = keep
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}

    def start(
        self, unit_of_work_factory: UnitOfWorkFactory, options: planning.PlanOptions, *, requested_by: str
    ) -> JobView:
        """Queue a plan of the whole network with ``options``; the version is stored as made by ``requested_by``."""
        options = replace(options, created_by=requested_by)

        def work(progress: Steps, on_solution: OnSolution) -> int:
            report = self._plan(unit_of_work_factory(), options, progress=progress, on_solution=on_solution)
            return report.version

        return self._submit(JobKind.PLAN, work, options.time_limit, requested_by)

    def start_reschedule(
        self,
        unit_of_work_factory: UnitOfWorkFactory,
        disruption: planning.SuiteDown,
        options: planning.PlanOptions,
        *,
        requested_by: str,
    ) -> JobView:
        """Queue a re-plan of the newest version after a suite breakdown."""
        options = replace(options, created_by=requested_by)

        def work(progress: Steps, on_solution: OnSolution) -> int:
            report = self._reschedule(
                unit_of_work_factory(), disruption, options, progress=progress, on_solution=on_solution
            )
            return report.plan.version

        return self._submit(JobKind.RESCHEDULE, work, options.time_limit, requested_by)

    def get(self, job_id: str) -> JobView:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise NotFound("job", job_id)
            return job.view(time.monotonic())

    def list(self) -> list[JobView]:
        """Every remembered job, newest first."""
        with self._lock:
            now = time.monotonic()
            return [job.view(now) for job in reversed(self._jobs.values())]

    def wait(self, job_id: str, timeout: float) -> JobView:
        """The job once it has finished, or as it is after ``timeout`` seconds."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound("job", job_id)
        job.done.wait(timeout)
        return self.get(job_id)

    def _submit(self, kind: JobKind, work: Work, time_limit: float, requested_by: str) -> JobView:
        with self._lock:
            busy = next((job for job in self._jobs.values() if job.state in (JobState.QUEUED, JobState.RUNNING)), None)
            if busy is not None:
                raise Conflict(
                    f"a solve is already {busy.state.value} (job {busy.id}, asked for by {busy.requested_by}); "
                    "start another once it has finished"
                )
            job = _Job(
                id=secrets.token_urlsafe(16),
                kind=kind,
                requested_by=requested_by,
                time_limit=time_limit,
                created_at=datetime.now(UTC),
            )
            self._jobs[job.id] = job
            self._forget_old()
            view = job.view(time.monotonic())
        thread = threading.Thread(target=self._run, args=(job, work), name=f"opencdmo-{kind.value}", daemon=True)
        thread.start()
        return view

    def _forget_old(self) -> None:
        finished = [job for job in self._jobs.values() if job.done.is_set()]
        for job in finished[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[job.id]

    def _run(self, job: _Job, work: Work) -> None:
        with self._lock:
            job.state = JobState.RUNNING
            job.started_at = datetime.now(UTC)
            job.started_clock = time.monotonic()

        def progress(step: str) -> None:
            with self._lock:
                job.steps.append(step)
                del job.steps[:-MAX_STEPS_KEPT]

        def on_solution(found: Progress) -> None:
            with self._lock:
                job.best_objective = found.objective
                job.lower_bound = found.lower_bound
                job.solutions += 1

        version: int | None = None
        error: str | None = UNEXPECTED_FAILURE
        try:
            version = work(progress, on_solution)
            error = None
        except OpenCDMOError as failure:
            error = str(failure)
        except Exception:
            logger.exception("background %s job %s failed", job.kind.value, job.id)
        finally:
            # Whatever happened, the job ends, so the registry never stays blocked by it.
            with self._lock:
                job.version = version
                job.error = error
                job.state = JobState.FAILED if error is not None else JobState.SUCCEEDED
                job.finished_at = datetime.now(UTC)
                job.finished_clock = time.monotonic()
            job.done.set()
