"""The CP-SAT model: one method per constraint family, called in the order of :meth:`CpsatModel.__init__`.

Each task has a start, an end and a presence literal; each mode an optional interval sharing them. Machines get
a no-overlap over their mode intervals. Family changeovers need to know which task directly follows which: a
circuit over the machine's tasks when it has at most ``circuit_limit`` candidates, else each interval is
stretched by the longest changeover out of its family (a restriction, so the model is then not exact and
its bound is not reported). Circuit arcs that time windows rule out, and arcs between fixed tasks that are not
next to each other, are left out, so the windows of the large-neighbourhood search stay cheap. Tasks that
each need one machine also share a redundant cumulative over the machine pool, which tightens the bound.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

from opencdmo.scheduling import timeline
from opencdmo.scheduling.check import machine_sequences, mode_breaks
from opencdmo.scheduling.problem import (
    Consumable,
    Machine,
    Point,
    Problem,
    Renewable,
    SelectionKind,
)
from opencdmo.scheduling.result import Schedule, ScheduledTask

Literal = cp_model.IntVar
Expr = Any  # OR-Tools linear expressions (its stubs are partial)


@dataclass
class _Circuit:
    """Arc literals of one machine: ``arcs[(i, j)]`` with node 0 the dummy and task ``nodes[k-1]`` node k."""

    nodes: list[int]
    arcs: dict[tuple[int, int], Literal]


class CpsatModel:
    """Builds the model of a problem. ``exact`` is False when some changeovers had to be over-approximated."""

    def __init__(self, problem: Problem, *, horizon: int, circuit_limit: int = 300) -> None:
        self.problem = problem
        self.horizon = horizon
        self.circuit_limit = circuit_limit
        self.model = cp_model.CpModel()
        self.exact = True
        self._true = self.model.new_constant(1)
        self.present: list[Literal] = []
        self.start: list[cp_model.IntVar] = []
        self.end: list[cp_model.IntVar] = []
        self.mode_literals: list[dict[int, Literal]] = []
        self.intervals: list[dict[int, cp_model.IntervalVar]] = []
        self.break_choices: list[dict[int, dict[int, Literal]]] = []
        self.circuits: dict[int, _Circuit] = {}
        self.setup_terms: list[Expr] = []
        self._task_variables()
        self._machines()
        self._machine_pool()
        self._renewables()
        self._consumables()
        self._precedences()
        self._resource_relations()
        self._mode_dependencies()
        self._selections()
        self._objective()

    # Variables.

    def _task_variables(self) -> None:
        model, problem = self.model, self.problem
        for index, task in enumerate(problem.tasks):
            present = self._true if not task.optional or task.is_fixed else model.new_bool_var(f"p{index}")
            release = problem.release_of(index)
            latest_end = problem.latest_end_of(index)
            shortest = min(mode.duration for mode in task.modes)
            if task.optional and not task.is_fixed:
                start = model.new_int_var(0, self.horizon, f"s{index}")
                end = model.new_int_var(0, self.horizon, f"e{index}")
                model.add(start >= release).only_enforce_if(present)
                model.add(end >= task.earliest_end).only_enforce_if(present)
                if task.latest_start is not None:
                    model.add(start <= task.latest_start).only_enforce_if(present)
                if latest_end is not None:
                    model.add(end <= latest_end).only_enforce_if(present)
            else:
                first = task.fixed_start if task.fixed_start is not None else release
                last = task.fixed_start if task.fixed_start is not None else self.horizon
                if task.latest_start is not None and task.fixed_start is None:
                    last = min(last, task.latest_start)
                start = model.new_int_var(first, max(first, last), f"s{index}")
                upper = latest_end if latest_end is not None else self.horizon
                lower = max(task.earliest_end, first + shortest)
                if lower > upper:  # the deadline cannot be met: keep the domain valid, fail the model
                    model.add_bool_or([])
                    lower = upper
                end = model.new_int_var(lower, upper, f"e{index}")
            self.present.append(present)
            self.start.append(start)
            self.end.append(end)
            self._modes(index, present, start, end)

    def _modes(self, index: int, present: Literal, start: cp_model.IntVar, end: cp_model.IntVar) -> None:
        model, task = self.model, self.problem.tasks[index]
        allowed = list(task.allowed_modes())
        literals: dict[int, Literal] = {}
        intervals: dict[int, cp_model.IntervalVar] = {}
        choices: dict[int, dict[int, Literal]] = {}
        for mode_index in allowed:
            literal = present if len(allowed) == 1 else model.new_bool_var(f"m{index}_{mode_index}")
            literals[mode_index] = literal
            mode = task.modes[mode_index]
            breaks = mode_breaks(self.problem, index, mode_index)
            size: Expr = mode.duration
            if breaks and task.allow_breaks:
                extra = model.new_int_var(0, self.horizon, f"b{index}_{mode_index}")
                classes = timeline.start_classes(mode.duration, breaks, self.horizon)
                chosen: dict[int, Literal] = {}
                for minutes, ranges in classes.items():
                    pick = model.new_bool_var("")
                    domain = cp_model.Domain.from_intervals([list(r) for r in ranges])
                    model.add_linear_expression_in_domain(start, domain).only_enforce_if(pick)
                    model.add(extra == minutes).only_enforce_if(pick)
                    chosen[minutes] = pick
                model.add(sum(chosen.values()) == literal)
                choices[mode_index] = chosen
                size = mode.duration + extra
            elif breaks:
                forbidden = [[max(0, s - mode.duration + 1), e - 1] for s, e in breaks]
                domain = cp_model.Domain.from_intervals(forbidden).complement()
                model.add_linear_expression_in_domain(start, domain).only_enforce_if(literal)
            if task.allow_idle:
                size = size + model.new_int_var(0, self.horizon, f"i{index}_{mode_index}")
            intervals[mode_index] = model.new_optional_interval_var(start, size, end, literal, "")
        if len(allowed) > 1:
            model.add(sum(literals.values()) == present)
        self.mode_literals.append(literals)
        self.intervals.append(intervals)
        self.break_choices.append(choices)

    def uses(self, task: int, resource: int) -> list[Literal]:
        """Mode literals of a task whose mode uses the resource."""
        record = self.problem.tasks[task]
        return [lit for m, lit in self.mode_literals[task].items() if resource in record.modes[m].resources]

    def _on(self, task: int, resource: int) -> Literal:
        literals = self.uses(task, resource)
        if len(literals) == 1:
            return literals[0]
        on = self.model.new_bool_var("")
        self.model.add(sum(literals) == on)
        return on

    # Resources.

    def _needs_circuit(self) -> set[int]:
        problem = self.problem
        needed = {m for m in problem.machine_indices if self._machine(m).has_setups or self._machine(m).no_idle}
        for consecutive in problem.consecutive:
            shared = {r for mode in problem.tasks[consecutive.task1].modes for r in mode.resources} & {
                r for mode in problem.tasks[consecutive.task2].modes for r in mode.resources
            }
            needed |= shared & set(problem.machine_indices)
        for same in problem.same_sequence:
            needed |= {same.machine1, same.machine2}
        return needed

    def _machine(self, index: int) -> Machine:
        record = self.problem.resources[index]
        assert isinstance(record, Machine)
        return record

    def _machines(self) -> None:
        problem, model = self.problem, self.model
        circuit_machines = self._needs_circuit()
        same_sequence = {m for same in problem.same_sequence for m in (same.machine1, same.machine2)}
        for machine_index, tasks in problem.machine_tasks.items():
            machine = self._machine(machine_index)
            intervals = [
                self.intervals[t][m]
                for t in tasks
                for m in self.intervals[t]
                if machine_index in problem.tasks[t].modes[m].resources
            ]
            exact_sequence = machine_index in circuit_machines and (
                len(tasks) <= self.circuit_limit or not machine.has_setups
            )
            if machine.has_setups and not exact_sequence:
                self.exact = False
                intervals = self._stretched(machine_index, tasks)
            pausing = any(problem.tasks[t].allow_breaks for t in tasks)
            if machine.breaks and not pausing:
                intervals += [model.new_fixed_size_interval_var(s, e - s, "") for s, e in machine.breaks]
            model.add_no_overlap(intervals)
            if exact_sequence:
                self._circuit(machine_index, list(tasks), machine_index in same_sequence)

    def _machine_pool(self) -> None:
        """Redundant: tasks that each need exactly one machine never run more at once than there are machines.

        Tightens the lower bound on flexible job shops, where the machines form one pool.
        """
        model, problem = self.model, self.problem
        pool: set[int] = set()
        intervals, demands = [], []
        machines = set(problem.machine_indices)
        for index, task in enumerate(problem.tasks):
            modes = [task.modes[m] for m in self.mode_literals[index]]
            if task.optional or task.allow_idle or task.allow_breaks:
                continue
            if not all(len(m.resources) == 1 and m.resources[0] in machines for m in modes):
                continue
            durations = sorted({m.duration for m in modes})
            size = model.new_int_var_from_domain(cp_model.Domain.from_values(durations), "")
            intervals.append(model.new_interval_var(self.start[index], size, self.end[index], ""))
            demands.append(1)
            pool.update(m.resources[0] for m in modes)
        if len(pool) > 1 and len(intervals) > len(pool):
            model.add_cumulative(intervals, demands, len(pool))

    def _stretched(self, machine_index: int, tasks: tuple[int, ...]) -> list[cp_model.IntervalVar]:
        """Intervals padded by the longest changeover out of their family (valid whatever follows)."""
        machine, model = self._machine(machine_index), self.model
        intervals = []
        for task in tasks:
            family = self.problem.tasks[task].family
            pad = max(machine.setup[family])
            for mode_index, literal in self.mode_literals[task].items():
                if machine_index in self.problem.tasks[task].modes[mode_index].resources:
                    size = self.end[task] - self.start[task] + pad
                    stretched_end = model.new_int_var(0, self.horizon + pad, "")
                    intervals.append(
                        model.new_optional_interval_var(self.start[task], size, stretched_end, literal, "")
                    )
        return intervals

    def _bounds(self, variable: cp_model.IntVar) -> tuple[int, int]:
        domain = list(self.model.proto.variables[variable.index].domain)
        return int(domain[0]), int(domain[-1])

    def _possible_arcs(self, machine_index: int, tasks: list[int], exhaustive: bool) -> set[tuple[int, int]]:
        """Pairs (i, j) of positions in ``tasks`` where j may directly follow i.

        Arcs are left out when the time windows rule them out, and between two fixed tasks that are not
        next to each other among the fixed ones: that keeps windows of a large-neighbourhood step small.
        """
        machine = self._machine(machine_index)
        families = [self.problem.tasks[t].family for t in tasks]
        ends = [self._bounds(self.end[t])[0] for t in tasks]
        latest = [self._bounds(self.start[t])[1] for t in tasks]
        fixed: dict[int, int] = {}
        elsewhere: set[int] = set()  # positions of tasks whose allowed modes never use this machine
        for k, t in enumerate(tasks):
            record = self.problem.tasks[t]
            if not self.uses(t, machine_index):
                elsewhere.add(k)
            elif record.fixed_start is not None and record.fixed_mode is not None and not record.optional:
                fixed[k] = record.fixed_start
        movable = [k for k in range(len(tasks)) if k not in fixed and k not in elsewhere]
        by_start = sorted(fixed, key=lambda k: fixed[k])
        following: dict[int, list[int]] = {}
        for position, k in enumerate(by_start):
            later = [m for m in by_start[position + 1 :] if fixed[m] > fixed[k]]
            following[k] = [m for m in later if fixed[m] == fixed[later[0]]] if later else []
        pairs = set()
        for i in range(len(tasks)):
            if i in elsewhere:
                continue
            if exhaustive:
                candidates = [j for j in range(len(tasks)) if j not in elsewhere]
            elif i in fixed:
                candidates = movable + following[i]
            else:
                candidates = movable + by_start
            for j in candidates:
                if i == j:
                    continue
                if not exhaustive and ends[i] + machine.setup_time(families[i], families[j]) > latest[j]:
                    continue
                pairs.add((i, j))
        return pairs

    def _circuit(self, machine_index: int, tasks: list[int], exhaustive: bool) -> None:
        model, machine = self.model, self._machine(machine_index)
        families = [self.problem.tasks[t].family for t in tasks]
        on = [self._on(t, machine_index) for t in tasks]
        arcs: dict[tuple[int, int], Literal] = {(0, 0): model.new_bool_var("")}
        for i in range(1, len(tasks) + 1):
            arcs[0, i] = model.new_bool_var("")
            arcs[i, 0] = model.new_bool_var("")
            arcs[i, i] = ~on[i - 1]  # type: ignore[assignment]
            model.add_implication(arcs[0, 0], ~on[i - 1])
        for i, j in sorted(self._possible_arcs(machine_index, tasks, exhaustive)):
            task, other = tasks[i], tasks[j]
            arc = model.new_bool_var("")
            arcs[i + 1, j + 1] = arc
            setup = machine.setup_time(families[i], families[j])
            if machine.no_idle:
                model.add(self.end[task] + setup == self.start[other]).only_enforce_if(arc)
            else:
                model.add(self.end[task] + setup <= self.start[other]).only_enforce_if(arc)
            if setup:
                self.setup_terms.append(setup * arc)
        model.add_circuit([(i, j, lit) for (i, j), lit in arcs.items()])
        self.circuits[machine_index] = _Circuit(tasks, arcs)

    def _renewables(self) -> None:
        for resource_index, resource in enumerate(self.problem.resources):
            if not isinstance(resource, Renewable):
                continue
            intervals, demands = [], []
            for task, record in enumerate(self.problem.tasks):
                for mode_index, interval in self.intervals[task].items():
                    mode = record.modes[mode_index]
                    if resource_index in mode.resources:
                        demand = mode.demands[mode.resources.index(resource_index)]
                        if demand:
                            intervals.append(interval)
                            demands.append(demand)
            if intervals:
                self.model.add_cumulative(intervals, demands, resource.capacity)

    def _consumables(self) -> None:
        for resource_index, resource in enumerate(self.problem.resources):
            if not isinstance(resource, Consumable):
                continue
            terms: list[Expr] = []
            for task, record in enumerate(self.problem.tasks):
                for mode_index, literal in self.mode_literals[task].items():
                    mode = record.modes[mode_index]
                    if resource_index in mode.resources:
                        terms.append(mode.demands[mode.resources.index(resource_index)] * literal)
            if terms:
                self.model.add(sum(terms) <= resource.capacity)

    # Relations between tasks.

    def _both(self, one: int, two: int) -> list[Literal]:
        return [self.present[t] for t in (one, two) if self.problem.tasks[t].optional]

    def _point(self, task: int, point: Point) -> cp_model.IntVar:
        return self.start[task] if point is Point.START else self.end[task]

    def _precedences(self) -> None:
        for precedence in self.problem.precedences:
            lag = self._point(precedence.after, precedence.after_point) - self._point(
                precedence.before, precedence.before_point
            )
            condition = self._both(precedence.before, precedence.after)
            self.model.add(lag >= precedence.min_lag).only_enforce_if(condition)
            if precedence.max_lag is not None:
                self.model.add(lag <= precedence.max_lag).only_enforce_if(condition)

    def _resource_relations(self) -> None:
        model, problem = self.model, self.problem
        for pair in problem.identical_resources:
            condition = self._both(pair.task1, pair.task2)
            for resource in range(len(problem.resources)):
                model.add(sum(self.uses(pair.task1, resource)) == sum(self.uses(pair.task2, resource))).only_enforce_if(
                    condition
                )
        for other in problem.different_resources:
            for resource in range(len(problem.resources)):
                both = self.uses(other.task1, resource) + self.uses(other.task2, resource)
                if len(both) > 1:
                    model.add(sum(both) <= 1)
        for consecutive in problem.consecutive:
            for machine_index, circuit in self.circuits.items():
                one, two = consecutive.task1, consecutive.task2
                if one in circuit.nodes and two in circuit.nodes:
                    i, j = circuit.nodes.index(one) + 1, circuit.nodes.index(two) + 1
                    on = [self._on(one, machine_index), self._on(two, machine_index)]
                    if (i, j) in circuit.arcs:
                        model.add(circuit.arcs[i, j] == 1).only_enforce_if(on)
                    else:  # they cannot follow each other here, so they cannot both run here
                        model.add_bool_or([~literal for literal in on])
        for same in problem.same_sequence:
            tasks1 = list(same.tasks1 or problem.machine_tasks[same.machine1])
            tasks2 = list(same.tasks2 or problem.machine_tasks[same.machine2])
            first, second = self.circuits[same.machine1], self.circuits[same.machine2]
            position1 = {t: first.nodes.index(t) + 1 for t in tasks1}
            position2 = {t: second.nodes.index(t) + 1 for t in tasks2}
            mapping = [(0, 0)] + [(position1[a], position2[b]) for a, b in zip(tasks1, tasks2, strict=True)]
            for i, u in mapping:
                for j, v in mapping:
                    model.add(first.arcs[i, j] == second.arcs[u, v])

    def _mode_dependencies(self) -> None:
        for dependency in self.problem.mode_dependencies:
            literal = self.mode_literals[dependency.task].get(dependency.mode)
            if literal is None:
                continue
            options = [self.mode_literals[t][m] for t, m in dependency.then if m in self.mode_literals[t]]
            self.model.add_bool_or(options).only_enforce_if(literal)

    def _selections(self) -> None:
        model = self.model
        for selection in self.problem.selections:
            condition = [self.present[selection.condition]] if selection.condition is not None else []
            literals = [self.present[t] for t in selection.tasks]
            if selection.kind is SelectionKind.ALL_OR_NONE:
                for one, two in itertools.pairwise(literals):
                    model.add(one == two).only_enforce_if(condition)
            elif selection.kind is SelectionKind.AT_LEAST_ONE:
                model.add_bool_or(literals).only_enforce_if(condition)
            else:
                model.add(sum(literals) == 1).only_enforce_if(condition)

    # Objective.

    def _completion(self, job: int) -> cp_model.IntVar:
        model, problem = self.model, self.problem
        ends: list[Expr] = []
        for task in problem.job_tasks[job]:
            if problem.tasks[task].optional:
                counted = model.new_int_var(0, self.horizon, "")
                model.add(counted == self.end[task]).only_enforce_if(self.present[task])
                model.add(counted == 0).only_enforce_if(~self.present[task])
                ends.append(counted)
            else:
                ends.append(self.end[task])
        completion = model.new_int_var(0, self.horizon, f"c{job}")
        if ends:
            model.add_max_equality(completion, ends)
        else:
            model.add(completion == 0)
        return completion

    def _objective(self) -> None:
        model, problem = self.model, self.problem
        weights = problem.objective.weights()
        terms: list[Expr] = []
        if weights["makespan"]:
            makespan = model.new_int_var(0, self.horizon, "makespan")
            for task in range(len(problem.tasks)):
                model.add(makespan >= self.end[task]).only_enforce_if(self.present[task])
            terms.append(weights["makespan"] * makespan)
        job_terms = ("weighted_tardiness", "tardy_jobs", "earliness", "flow_time", "max_tardiness")
        if any(weights[name] for name in job_terms):
            worst = model.new_int_var(0, self.horizon * max((j.weight for j in problem.jobs), default=1), "")
            for index, job in enumerate(problem.jobs):
                if not problem.job_tasks[index]:
                    continue
                completion = self._completion(index)
                if weights["flow_time"]:
                    terms.append(weights["flow_time"] * job.weight * (completion - job.release))
                if job.due is None:
                    continue
                lateness = completion - job.due
                if weights["weighted_tardiness"] or weights["max_tardiness"]:
                    tardiness = model.new_int_var(0, self.horizon, "")
                    model.add(tardiness >= lateness)
                    terms.append(weights["weighted_tardiness"] * job.weight * tardiness)
                    model.add(worst >= job.weight * tardiness)
                if weights["tardy_jobs"]:
                    tardy = model.new_bool_var("")
                    model.add(completion <= job.due).only_enforce_if(~tardy)
                    terms.append(weights["tardy_jobs"] * job.weight * tardy)
                if weights["earliness"]:
                    earliness = model.new_int_var(0, self.horizon, "")
                    model.add(earliness >= -lateness)
                    terms.append(weights["earliness"] * job.weight * earliness)
            if weights["max_tardiness"]:
                terms.append(weights["max_tardiness"] * worst)
        if weights["setup_time"]:
            terms.append(weights["setup_time"] * sum(self.setup_terms))
        if weights["deviation"]:
            for task, reference in problem.reference.items():
                deviation = model.new_int_var(0, self.horizon, "")
                model.add(deviation >= self.start[task] - reference).only_enforce_if(self.present[task])
                model.add(deviation >= reference - self.start[task]).only_enforce_if(self.present[task])
                terms.append(weights["deviation"] * deviation)
        if terms:
            model.minimize(sum(terms))

    # Solutions in and out.

    def add_hint(self, schedule: Schedule) -> None:
        """Hint a schedule (complete or not feasible: CP-SAT repairs what it can)."""
        model, problem = self.model, self.problem
        model.clear_hints()  # type: ignore[no-untyped-call]
        for item in schedule.tasks:
            task = problem.tasks[item.task]
            if task.optional and not task.is_fixed:
                model.add_hint(self.present[item.task], item.present)
            if not item.present:
                continue
            model.add_hint(self.start[item.task], item.start)
            model.add_hint(self.end[item.task], item.end)
            literals = self.mode_literals[item.task]
            if len(literals) > 1:
                for mode_index, literal in literals.items():
                    model.add_hint(literal, mode_index == item.mode)
            for mode_index, choices in self.break_choices[item.task].items():
                extra = item.end - item.start - task.modes[mode_index].duration
                for minutes, pick in choices.items():
                    model.add_hint(pick, mode_index == item.mode and minutes == extra)
        sequences = machine_sequences(problem, schedule)
        for machine_index, circuit in self.circuits.items():
            position = {t: k for k, t in enumerate(circuit.nodes, start=1)}
            order = [position[item.task] for item in sequences[machine_index] if item.task in position]
            chosen = set(zip([0, *order], [*order, 0], strict=True)) if order else {(0, 0)}
            for (i, j), literal in circuit.arcs.items():
                if i != j or i == 0:
                    model.add_hint(literal, (i, j) in chosen)

    def decode(self, solver: cp_model.CpSolver) -> Schedule:
        items = []
        for index in range(len(self.problem.tasks)):
            if not solver.boolean_value(self.present[index]):
                items.append(ScheduledTask(index, 0, 0, 0, present=False))
                continue
            mode = next(m for m, lit in self.mode_literals[index].items() if solver.boolean_value(lit))
            items.append(ScheduledTask(index, mode, solver.value(self.start[index]), solver.value(self.end[index])))
        return Schedule(tuple(items))


def default_horizon(problem: Problem) -> int:
    """A horizon long enough for any schedule without needless waiting."""
    longest_setup: dict[int, int] = defaultdict(int)
    for index in problem.machine_indices:
        machine = problem.resources[index]
        assert isinstance(machine, Machine)
        for family, row in enumerate(machine.setup):
            longest_setup[family] = max(longest_setup[family], max(row, default=0))
    start = max(
        [problem.release_of(t) for t in range(len(problem.tasks))]
        + [t.fixed_start or 0 for t in problem.tasks]
        + [t.earliest_end for t in problem.tasks]
        + list(problem.reference.values())
        + [0]
    )
    work = sum(max(m.duration for m in t.modes) + longest_setup[t.family] for t in problem.tasks)
    lags = sum(max(0, p.min_lag) for p in problem.precedences)
    downtime = sum(e - s for r in problem.resources if isinstance(r, Machine | Renewable) for s, e in r.breaks)
    last_break = max(
        (e for r in problem.resources if isinstance(r, Machine | Renewable) for _, e in r.breaks), default=0
    )
    return max(start, last_break) + work + lags + downtime + 1
