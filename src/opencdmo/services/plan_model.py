"""The translation between the CDMO's network and the scheduling engine's problem data, both ways.

Time is counted in whole minutes from the plan's origin (midnight UTC). The mapping:

- every manufacturing suite is a machine; its downtime windows are the machine's breaks;
- every batch is a job: released when its order's materials arrive (an in-progress batch at the origin), due at
  the end of its order's due date, weighted by the order's late penalty (in thousands per day, at least 1);
- every stage is a task with one mode per suite able to run it, with the stage's duration in that suite;
- a stage's maximum hold time is a maximum lag between its end and the next stage's start;
- the QC release is a task on a QC lab, a renewable resource whose capacity is the lab's analysts and whose
  demand is the process's ``qc_analysts``. It may run in the QC lab of any site that can run the batch's last
  stage (so samples stay within the sites that make the product), and in any lab when none of those can;
- changeovers: the engine's setup families are the *products* (programs), not the product families, so that
  the engine can tell a campaign (same product: the suite's ``same_product_hours``) from a changeover between
  two products of the same family (the suite's rule for that family pair). Each suite's product × product
  matrix is expanded from its family × family rules, so the data grows with products, not with batches;
- an in-progress batch has started: its first stage is fixed at the origin, in the suite an earlier plan put it
  in, or else in the first suite able to run it that is free at the origin; when every such suite is taken it
  is left free to start at the origin.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from opencdmo import domain
from opencdmo.domain.schedules import QC_RELEASE_STEP, midnight
from opencdmo.errors import DomainError
from opencdmo.scheduling import Job, Machine, Mode, Objective, Precedence, Problem, Renewable, Schedule, Task

MINUTE = timedelta(minutes=1)
Key = tuple[str, str]  # (lot number, step): one operation of a batch
Window = tuple[datetime, datetime]


@dataclass(frozen=True)
class TaskRef:
    """What a task of the problem stands for: a batch's stage or QC release, and the suite of each mode."""

    batch: domain.Batch
    kind: domain.OperationKind
    step: str
    suites: tuple[domain.Suite, ...]

    @property
    def key(self) -> Key:
        return (self.batch.lot_number, self.step)


@dataclass(frozen=True)
class Placement:
    """Where and when an operation ran (or runs) in a stored plan."""

    suite: domain.Suite
    start: datetime


@dataclass
class PlanModel:
    """A problem built from the network, and the way back from its schedules to operations."""

    origin: datetime
    problem: Problem
    tasks: list[TaskRef]
    resources: list[domain.Suite]
    pinned: set[int] = field(default_factory=set)

    def minutes(self, moment: datetime) -> int:
        return int((moment - self.origin) // MINUTE)

    def at(self, minutes: int) -> datetime:
        return self.origin + minutes * MINUTE

    def index(self) -> dict[Key, int]:
        return {ref.key: number for number, ref in enumerate(self.tasks)}

    def operations(self, schedule: Schedule, moved: set[int] | None = None) -> list[domain.Operation]:
        """The stages, QC releases and cleanings of a schedule of this problem."""
        moved = moved or set()
        operations: list[domain.Operation] = []
        for item in schedule.tasks:
            if not item.present or item.end <= item.start:
                continue
            ref = self.tasks[item.task]
            operations.append(
                domain.Operation(
                    kind=ref.kind,
                    suite=ref.suites[item.mode],
                    start=self.at(item.start),
                    end=self.at(item.end),
                    batch=ref.batch,
                    step=ref.step,
                    fixed=item.task in self.pinned,
                    moved=item.task in moved,
                )
            )
        operations.extend(self._cleanings(schedule))
        return operations

    def _cleanings(self, schedule: Schedule) -> list[domain.Operation]:
        """A cleaning block right after each batch that the next batch in the suite needs one after."""
        problem = self.problem
        sequences: dict[int, list[tuple[int, int, int]]] = {}
        for item in schedule.tasks:
            if not item.present:
                continue
            for resource in problem.tasks[item.task].modes[item.mode].resources:
                if isinstance(problem.resources[resource], Machine):
                    sequences.setdefault(resource, []).append((item.start, item.end, item.task))
        cleanings: list[domain.Operation] = []
        for resource, items in sequences.items():
            machine = problem.resources[resource]
            assert isinstance(machine, Machine)
            items.sort()
            for (_, end, before), (_, _, after) in itertools.pairwise(items):
                setup = machine.setup_time(problem.tasks[before].family, problem.tasks[after].family)
                if setup > 0:
                    cleanings.append(
                        domain.Operation(
                            kind=domain.OperationKind.CLEANING,
                            suite=self.resources[resource],
                            start=self.at(end),
                            end=self.at(end + setup),
                        )
                    )
        return cleanings


def plannable(orders: Iterable[domain.Order]) -> list[domain.Batch]:
    """The batches a plan places: planned, scheduled and in progress (the others are done or in QC)."""
    wanted = (domain.BatchStatus.PLANNED, domain.BatchStatus.SCHEDULED, domain.BatchStatus.IN_PROGRESS)
    return [batch for order in orders for batch in order.batches if batch.status in wanted]


def horizon_origin(batches: Sequence[domain.Batch]) -> datetime:
    """Midnight UTC of the earliest release date of the batches' orders."""
    return midnight(min(batch.order.release_date for batch in batches))


def late_weight(penalty_per_day: Decimal) -> int:
    return max(1, int((penalty_per_day / 1000).to_integral_value()))


def _merge(windows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@dataclass
class _Builder:
    sites: list[domain.Site]
    origin: datetime
    objective: Objective
    pinned: dict[Key, Placement]
    not_before: int
    extra_downtime: dict[domain.Suite, list[Window]]
    site_of: dict[domain.Suite, domain.Site] = field(default_factory=dict)
    machines: list[domain.Suite] = field(default_factory=list)
    labs: list[domain.Suite] = field(default_factory=list)
    resource_of: dict[domain.Suite, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for site in self.sites:
            for suite in site.suites:
                self.site_of[suite] = site
                (self.labs if suite.kind is domain.SuiteKind.QC_LAB else self.machines).append(suite)
        for number, suite in enumerate([*self.machines, *self.labs]):
            self.resource_of[suite] = number

    def minutes(self, moment: datetime) -> int:
        return int((moment - self.origin) // MINUTE)

    def breaks(self, suite: domain.Suite) -> list[tuple[int, int]]:
        windows = [(window.start, window.end) for window in suite.downtime]
        windows += self.extra_downtime.get(suite, [])
        clipped = [(max(0, self.minutes(start)), self.minutes(end)) for start, end in windows]
        return _merge((start, end) for start, end in clipped if end > start)

    def setup_matrix(self, suite: domain.Suite, products: list[domain.Program]) -> list[list[int]]:
        families = list(dict.fromkeys(program.product_family for program in products))
        between = {
            (one, two): suite.changeover_hours(one, two, same_product=False) * 60
            for one in families
            for two in families
        }
        same = suite.same_product_hours * 60
        return [
            [same if one is two else between[one.product_family, two.product_family] for two in products]
            for one in products
        ]

    def build(self, batches: Sequence[domain.Batch], prefer: dict[domain.Batch, domain.Suite]) -> PlanModel:
        products = list(dict.fromkeys(batch.order.program for batch in batches))
        family_of = {program: number for number, program in enumerate(products)}
        resources: list[Machine | Renewable] = []
        for suite in self.machines:
            matrix = self.setup_matrix(suite, products)
            setup = tuple(tuple(row) for row in matrix) if any(any(row) for row in matrix) else ()
            resources.append(Machine(name=suite.name, breaks=tuple(self.breaks(suite)), setup=setup))
        for lab in self.labs:
            resources.append(Renewable(name=lab.name, capacity=lab.qc_analysts, breaks=tuple(self.breaks(lab))))
        jobs: list[Job] = []
        tasks: list[Task] = []
        refs: list[TaskRef] = []
        precedences: list[Precedence] = []
        pinned: set[int] = set()
        taken_at_origin: set[domain.Suite] = {p.suite for p in self.pinned.values() if self.minutes(p.start) == 0}
        for batch in batches:
            order = batch.order
            started = batch.status is domain.BatchStatus.IN_PROGRESS
            release = 0 if started else max(0, self.minutes(midnight(order.release_date)))
            weight = 0 if batch.status is domain.BatchStatus.CANCELLED else late_weight(order.late_penalty_per_day)
            job = len(jobs)
            jobs.append(Job(batch.lot_number, release, max(0, self.minutes(domain.due_at(order))), None, weight))
            process = order.program.process
            family = family_of[order.program]
            previous: int | None = None
            previous_hold: int | None = None
            for position, stage in enumerate(process.stages):
                suites = tuple(suite for suite in self.machines if stage.runs_in(suite))
                if not suites:
                    raise DomainError(
                        f"stage {stage.name!r} of process {process.name!r} can run in no suite of the network",
                        field="stages",
                    )
                modes = tuple(
                    Mode((self.resource_of[suite],), stage.duration_in(suite) * 60, name=suite.name) for suite in suites
                )
                ref = TaskRef(batch, domain.OperationKind.STAGE, stage.name, suites)
                task = Task(modes, job=job, name=f"{batch.lot_number} {stage.name}", family=family)
                placement = self.pinned.get(ref.key)
                if placement is None and started and position == 0:
                    placement = self._start_now(suites, prefer.get(batch), taken_at_origin)
                if placement is not None and placement.suite in suites:
                    task = replace(
                        task, fixed_start=self.minutes(placement.start), fixed_mode=suites.index(placement.suite)
                    )
                    pinned.add(len(tasks))
                elif not started or position > 0:
                    task = replace(task, earliest_start=self.not_before)
                if batch.status is domain.BatchStatus.CANCELLED and placement is None:
                    continue  # a failed batch keeps only what it already ran
                if previous is not None:
                    precedences.append(Precedence(previous, len(tasks), max_lag=previous_hold))
                previous = len(tasks)
                previous_hold = None if stage.max_hold_hours is None else stage.max_hold_hours * 60
                tasks.append(task)
                refs.append(ref)
            if process.qc_release_hours and previous is not None:
                self._qc_task(batch, job, process, previous, tasks, refs, precedences, pinned)
        problem = Problem(
            jobs=tuple(jobs),
            resources=tuple(resources),
            tasks=tuple(tasks),
            precedences=tuple(precedences),
            objective=self.objective,
            name="network plan",
        )
        return PlanModel(self.origin, problem, refs, [*self.machines, *self.labs], pinned)

    def _start_now(
        self, suites: tuple[domain.Suite, ...], preferred: domain.Suite | None, taken: set[domain.Suite]
    ) -> Placement | None:
        candidates = [preferred] if preferred in suites else []
        candidates += [suite for suite in suites if suite is not preferred]
        for suite in candidates:
            if suite is None or suite in taken:
                continue
            breaks = self.breaks(suite)
            if breaks and breaks[0][0] == 0:
                continue
            taken.add(suite)
            return Placement(suite, self.origin)
        return None

    def _qc_task(
        self,
        batch: domain.Batch,
        job: int,
        process: domain.ProcessTemplate,
        last: int,
        tasks: list[Task],
        refs: list[TaskRef],
        precedences: list[Precedence],
        pinned: set[int],
    ) -> None:
        need = process.qc_analysts
        able = [lab for lab in self.labs if lab.qc_analysts >= need]
        making = {self.site_of[suite] for suite in refs[last].suites}
        labs = tuple(lab for lab in able if self.site_of[lab] in making) or tuple(able)
        if not labs:
            raise DomainError(
                f"no QC lab has the {need} analysts the release of process {process.name!r} needs",
                field="qc_analysts",
            )
        modes = tuple(
            Mode((self.resource_of[lab],), process.qc_release_hours * 60, (need,), name=lab.name) for lab in labs
        )
        ref = TaskRef(batch, domain.OperationKind.QC_RELEASE, QC_RELEASE_STEP, labs)
        task = Task(modes, job=job, name=f"{batch.lot_number} {QC_RELEASE_STEP}")
        placement = self.pinned.get(ref.key)
        if placement is not None and placement.suite in labs:
            task = replace(task, fixed_start=self.minutes(placement.start), fixed_mode=labs.index(placement.suite))
            pinned.add(len(tasks))
        elif batch.status is domain.BatchStatus.CANCELLED:
            return
        else:
            task = replace(task, earliest_start=self.not_before)
        precedences.append(Precedence(last, len(tasks)))
        tasks.append(task)
        refs.append(ref)


def build_model(
    sites: list[domain.Site],
    batches: Sequence[domain.Batch],
    *,
    origin: datetime,
    objective: Objective,
    pinned: dict[Key, Placement] | None = None,
    not_before: datetime | None = None,
    extra_downtime: dict[domain.Suite, list[Window]] | None = None,
    prefer: dict[domain.Batch, domain.Suite] | None = None,
    reference: dict[Key, datetime] | None = None,
) -> PlanModel:
    """The problem of placing ``batches`` on the network of ``sites`` (see the module docstring).

    ``pinned`` operations keep their suite and start (they had started when the plan was made); no other
    operation starts before ``not_before``. ``reference`` starts feed the engine's penalty for moving a task.
    """
    builder = _Builder(
        sites=sites,
        origin=origin,
        objective=objective,
        pinned=pinned or {},
        not_before=0 if not_before is None else max(0, int((not_before - origin) // MINUTE)),
        extra_downtime=extra_downtime or {},
    )
    model = builder.build(batches, prefer or {})
    if reference:
        index = model.index()
        starts = {
            index[key]: max(0, model.minutes(start))
            for key, start in reference.items()
            if key in index and index[key] not in model.pinned
        }
        model.problem = replace(model.problem, reference=starts)
    return model


def relaxation_bound(problem: Problem) -> int:
    """A valid lower bound on the weighted tardiness of any plan: each batch on its own, in its quickest suites,
    with no queueing, downtime or cleaning. The engine's own bound, when it has one, is usually better."""
    earliest_end: list[int] = []
    ready: dict[int, int] = {}
    following: dict[int, list[Precedence]] = {}
    for precedence in problem.precedences:
        following.setdefault(precedence.before, []).append(precedence)
    # The planning model lists every task after the tasks it waits for, so one pass in task order suffices.
    for number, task in enumerate(problem.tasks):
        start = (
            task.fixed_start if task.fixed_start is not None else max(problem.release_of(number), ready.get(number, 0))
        )
        modes = [task.modes[task.fixed_mode]] if task.fixed_mode is not None else task.modes
        earliest_end.append(start + min(mode.duration for mode in modes))
        for precedence in following.get(number, ()):
            bound = earliest_end[number] + precedence.min_lag
            ready[precedence.after] = max(ready.get(precedence.after, 0), bound)
    total = 0
    for job_number, job in enumerate(problem.jobs):
        ends = [earliest_end[task] for task in problem.job_tasks[job_number]]
        if ends and job.due is not None:
            total += job.weight * max(0, max(ends) - job.due)
    return total * problem.objective.weighted_tardiness
