"""The witness schedule: a feasible plan of every active batch, built greedily while the demo is generated.

Orders are placed in release order, each batch's stages one after the other in the suite where each can start
earliest, at the site (of those that can run the first stage) where the batch finishes earliest. The plan
respects downtime, the changeover between neighbouring batches in a suite (family pair, or same product), the
longest changeover into or out of the batch's family next to a downtime window, and every stage's maximum hold
time (when the wait would exceed it, the batch starts later and is placed again); then QC release in the lab of
the site of the last stage, within its analysts. Due dates are set after it, so a plan that meets every one
exists by construction.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from opencdmo import domain

S = domain.SuiteKind


@dataclass
class Job:
    """A batch as the witness schedule sees it."""

    lot: str
    program: int
    family: int
    process: int
    lower: int  # earliest start, hours from the horizon origin
    stages: list[tuple[str, int, int]] = field(default_factory=list)  # (suite, start, end)
    qc: tuple[str, int, int, int] | None = None  # (lab, start, end, analysts)

    @property
    def finish(self) -> int:
        if self.qc is not None:
            return self.qc[2]
        return self.stages[-1][2]


class Timeline:
    """One suite's busy intervals in hours, sorted, each with the family and program that ran (-1: downtime).

    Between two batches the gap is the suite's changeover for that pair. Next to a downtime window it is the
    longest changeover into (or out of) the batch's family from any family the suite may run, so whatever ran
    on the other side of the window, the cleaning fits outside it.
    """

    __slots__ = (
        *("default", "ends", "families", "into", "longest", "name"),
        *("out_of", "programs", "rules", "same", "site", "starts"),
    )

    def __init__(self, suite: domain.Suite, site: int, family_index: dict[int, int], origin: datetime) -> None:
        self.name = suite.name
        self.site = site
        self.same = suite.same_product_hours
        self.default = suite.default_changeover_hours
        self.rules = {
            (family_index[id(rule.from_family)], family_index[id(rule.to_family)]): rule.hours
            for rule in suite.changeovers
        }
        self.longest = max([self.same, self.default, *self.rules.values()])
        self.into: dict[int, int] = {}
        self.out_of: dict[int, int] = {}
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.families: list[int] = []
        self.programs: list[int] = []
        for window in suite.downtime:
            begin = int((window.start - origin).total_seconds() // 3600)
            end = math.ceil((window.end - origin).total_seconds() / 3600)
            self.insert(begin, end, -1, -1)

    def runs(self, families: Sequence[int]) -> None:
        """Declare the families that may run here (for the gaps next to downtime)."""
        for family in families:
            self.into[family] = max(self.same, *(self._between(other, family) for other in families))
            self.out_of[family] = max(self.same, *(self._between(family, other) for other in families))

    def _between(self, family_a: int, family_b: int) -> int:
        return self.rules.get((family_a, family_b), self.default)

    def gap(self, family_a: int, program_a: int, family_b: int, program_b: int) -> int:
        if family_a < 0:
            return self.into.get(family_b, self.longest)
        if family_b < 0:
            return self.out_of.get(family_a, self.longest)
        if program_a == program_b:
            return self.same
        return self._between(family_a, family_b)

    def earliest(self, after: int, hours: int, family: int, program: int) -> int:
        """The earliest start at or after ``after`` where ``hours`` fit with the changeovers to both neighbours."""
        starts, ends, families, programs = self.starts, self.ends, self.families, self.programs
        i = bisect.bisect_right(starts, after)
        begin = after
        while True:
            if i > 0:
                begin = max(begin, ends[i - 1] + self.gap(families[i - 1], programs[i - 1], family, program))
            if i == len(starts):
                return begin
            if begin + hours + self.gap(family, program, families[i], programs[i]) <= starts[i]:
                return begin
            i += 1

    def insert(self, begin: int, end: int, family: int, program: int) -> None:
        i = bisect.bisect_right(self.starts, begin)
        self.starts.insert(i, begin)
        self.ends.insert(i, end)
        self.families.insert(i, family)
        self.programs.insert(i, program)

    def remove(self, begin: int) -> None:
        i = bisect.bisect_left(self.starts, begin)
        del self.starts[i], self.ends[i], self.families[i], self.programs[i]


class Lab:
    """A QC lab: release tests hold some of its analysts for their whole duration."""

    __slots__ = ("analysts", "ends", "items", "longest", "name", "starts")

    def __init__(self, suite: domain.Suite) -> None:
        self.name = suite.name
        self.analysts = suite.qc_analysts
        self.starts: list[int] = []
        self.items: list[tuple[int, int, int]] = []  # (start, end, analysts), sorted by start
        self.ends: list[int] = []  # sorted
        self.longest = 0

    def earliest(self, after: int, hours: int, need: int) -> int:
        if self._fits(after, hours, need):
            return after
        for candidate in self.ends[bisect.bisect_right(self.ends, after) :]:
            if self._fits(candidate, hours, need):
                return candidate
        return max(after, self.ends[-1])  # pragma: no cover - the last end always fits

    def _fits(self, begin: int, hours: int, need: int) -> bool:
        low = bisect.bisect_left(self.starts, begin - self.longest)
        high = bisect.bisect_left(self.starts, begin + hours)
        events: list[tuple[int, int]] = []
        for item_start, item_end, item_need in self.items[low:high]:
            if item_end > begin:
                events.append((max(item_start, begin), item_need))
                events.append((item_end, -item_need))
        if not events:
            return need <= self.analysts
        events.sort()
        busy = 0
        for _, change in events:
            busy += change
            if busy + need > self.analysts:
                return False
        return True

    def insert(self, begin: int, end: int, need: int) -> None:
        i = bisect.bisect_right(self.starts, begin)
        self.starts.insert(i, begin)
        self.items.insert(i, (begin, end, need))
        bisect.insort(self.ends, end)
        self.longest = max(self.longest, end - begin)


_Options = list[tuple[Timeline, int]]  # the suites that can run a stage, with its duration in each
_Plan = list[tuple[_Options, dict[int, _Options], int | None]]  # per stage: options, options per site, hold


class Witness:
    """A feasible schedule of every active batch, built greedily in release order (see the module docstring)."""

    MAX_ATTEMPTS = 100_000

    def __init__(self, scenario: domain.Scenario, origin: datetime) -> None:
        family_index = {id(family): i for i, family in enumerate(scenario.product_families)}
        self.timelines: list[Timeline] = []
        self.labs: list[Lab] = []
        timeline_of: dict[int, Timeline] = {}
        for site_index, site in enumerate(scenario.sites):
            lab: Lab | None = None
            for suite in site.suites:
                if suite.kind is S.QC_LAB:
                    lab = lab or Lab(suite)
                else:
                    timeline = Timeline(suite, site_index, family_index, origin)
                    timeline_of[id(suite)] = timeline
                    self.timelines.append(timeline)
            if lab is None:  # pragma: no cover - every archetype has a QC lab
                raise AssertionError(f"{site.name} has no QC lab")
            self.labs.append(lab)
        # per process, per stage: every (timeline, hours) that can run it, and the same grouped by site
        self.stages: list[_Plan] = []
        self.release: list[tuple[int, int]] = []
        runs: dict[int, set[int]] = {}  # timeline -> families that may run there
        for process in scenario.processes:
            plan: _Plan = []
            process_families = {family_index[id(p.product_family)] for p in scenario.programs if p.process is process}
            for stage in process.stages:
                options = [
                    (timeline_of[id(suite)], stage.duration_in(suite))
                    for suite in domain.suites_able_to_run(stage, scenario.sites)
                ]
                for timeline, _ in options:
                    runs.setdefault(id(timeline), set()).update(process_families)
                by_site: dict[int, list[tuple[Timeline, int]]] = {}
                for option in options:
                    by_site.setdefault(option[0].site, []).append(option)
                plan.append((options, by_site, stage.max_hold_hours))
            self.stages.append(plan)
            self.release.append((process.qc_release_hours, process.qc_analysts))
        for timeline in self.timelines:
            timeline.runs(sorted(runs.get(id(timeline), ())))

    def place(self, job: Job) -> None:
        """Place the batch at the site where its stages finish earliest, then its QC release."""
        plan = self.stages[job.process]
        best: list[tuple[Timeline, int, int]] | None = None
        for site in plan[0][1]:
            placed = self._chain(job, plan, site)
            for timeline, begin, _ in placed:
                timeline.remove(begin)
            if best is None or placed[-1][2] < best[-1][2]:
                best = placed
        assert best is not None
        for timeline, begin, end in best:
            timeline.insert(begin, end, job.family, job.program)
        job.stages = [(timeline.name, begin, end) for timeline, begin, end in best]
        hours, need = self.release[job.process]
        if hours:
            lab = self.labs[best[-1][0].site]
            begin = lab.earliest(best[-1][2], hours, need)
            lab.insert(begin, begin + hours, need)
            job.qc = (lab.name, begin, begin + hours, need)

    def _chain(self, job: Job, plan: _Plan, site: int) -> list[tuple[Timeline, int, int]]:
        """The stages one after the other at ``site`` (elsewhere if it cannot run one), within every hold.

        The stages stay in their timelines (so a later stage in the same suite keeps its changeover); the
        caller removes them.
        """
        lower = job.lower
        for _ in range(self.MAX_ATTEMPTS):
            placed: list[tuple[Timeline, int, int]] = []
            after = lower
            for index, (options, by_site, _) in enumerate(plan):
                best: tuple[int, Timeline, int] | None = None
                for timeline, hours in by_site.get(site, options):
                    begin = timeline.earliest(after, hours, job.family, job.program)
                    if best is None or begin < best[0]:
                        best = (begin, timeline, hours)
                assert best is not None
                begin, timeline, hours = best
                hold = plan[index - 1][2] if index else None
                if hold is not None and begin > after + hold:
                    lower = placed[0][1] + (begin - after - hold)  # start the batch later and try again
                    for timeline, begin, _ in placed:
                        timeline.remove(begin)
                    break
                timeline.insert(begin, begin + hours, job.family, job.program)
                placed.append((timeline, begin, begin + hours))
                after = begin + hours
            else:
                return placed
        raise AssertionError(f"the demo's witness schedule could not place {job.lot}")  # pragma: no cover

    def utilization(self, horizon: int) -> dict[str, float]:
        """Busy share of each suite's available time within the horizon (downtime excluded)."""
        result: dict[str, float] = {}
        for timeline in self.timelines:
            busy = down = 0
            for begin, end, family in zip(timeline.starts, timeline.ends, timeline.families, strict=True):
                overlap = max(0, min(end, horizon) - max(begin, 0))
                if family < 0:
                    down += overlap
                else:
                    busy += overlap
            result[timeline.name] = busy / max(horizon - down, 1)
        for lab in self.labs:
            used = sum(max(0, min(end, horizon) - max(begin, 0)) * need for begin, end, need in lab.items)
            result[lab.name] = used / (horizon * lab.analysts)
        return result
