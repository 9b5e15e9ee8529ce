"""PyJobShop ProblemData JSON (as written by ``ProblemData.to_json`` in PyJobShop 0.0.9).

Top-level keys: ``jobs``, ``resources`` (each with ``type`` machine / renewable / consumable), ``tasks``,
``modes`` (each naming its task), ``constraints`` (one list per kind) and ``objective`` (``weight_*``).
PyJobShop gives changeovers task by task (``setup_times``); they become setup families here: tasks whose
changeovers to and from every other task are the same share a family, so the matrices stay as small as the
data allows. Deadlines at PyJobShop's "no limit" value (2^42) mean no deadline.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from opencdmo.scheduling.errors import ProblemDataError, ReaderError
from opencdmo.scheduling.problem import (
    Consecutive,
    Consumable,
    DifferentResources,
    IdenticalResources,
    Job,
    Machine,
    Mode,
    ModeDependency,
    Objective,
    Point,
    Precedence,
    Problem,
    Renewable,
    SameSequence,
    Selection,
    SelectionKind,
    Task,
    record,
)

_NO_LIMIT = 2**42
_TIMING = {
    "start_before_start": (Point.START, Point.START, False),
    "start_before_end": (Point.START, Point.END, False),
    "end_before_start": (Point.END, Point.START, False),
    "end_before_end": (Point.END, Point.END, False),
    "start_at_start": (Point.START, Point.START, True),
    "start_at_end": (Point.START, Point.END, True),
    "end_at_start": (Point.END, Point.START, True),
    "end_at_end": (Point.END, Point.END, True),
}
_OBJECTIVE = {
    "weight_makespan": "makespan",
    "weight_tardy_jobs": "tardy_jobs",
    "weight_total_flow_time": "flow_time",
    "weight_total_tardiness": "weighted_tardiness",
    "weight_total_earliness": "earliness",
    "weight_max_tardiness": "max_tardiness",
    "weight_total_setup_time": "setup_time",
}


def _limit(value: Any) -> int | None:
    return None if value is None or int(value) >= _NO_LIMIT else int(value)


def _families(
    num_tasks: int, setups: list[dict[str, Any]], machines: list[int]
) -> tuple[list[int], dict[int, list[list[int]]]]:
    """Give tasks with identical changeover rows and columns (on every machine) one family."""
    if not setups:
        return [0] * num_tasks, {}
    table: dict[tuple[int, int, int], int] = {}
    for item in setups:
        table[int(item["machine"]), int(item["task1"]), int(item["task2"])] = int(item["duration"])
    rows: dict[int, dict[tuple[int, int], int]] = defaultdict(dict)  # task -> (machine, other) -> out
    cols: dict[int, dict[tuple[int, int], int]] = defaultdict(dict)
    for (machine, one, two), duration in table.items():
        if duration and one != two:
            rows[one][machine, two] = duration
            cols[two][machine, one] = duration
    # Tasks with the same changeovers to and from every single task are interchangeable: one family.
    signatures: dict[tuple[Any, ...], int] = {}
    family = [
        signatures.setdefault((tuple(sorted(rows[t].items())), tuple(sorted(cols[t].items()))), len(signatures))
        for t in range(num_tasks)
    ]
    count = max(family) + 1
    matrices: dict[int, list[list[int]]] = {m: [[0] * count for _ in range(count)] for m in machines}
    for (machine, one, two), duration in table.items():
        if machine in matrices and one != two:
            matrices[machine][family[one]][family[two]] = duration
    return family, matrices


def parse_pyjobshop(text: str, *, name: str = "", path: str = "<text>") -> Problem:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReaderError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from exc
    if not isinstance(data, dict):
        raise ReaderError("the document must be a JSON object", path=path)
    try:
        return _build(data, name)
    except ProblemDataError as exc:
        raise ReaderError(str(exc), path=path) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise ReaderError(f"unexpected shape: {exc!r}", path=path) from exc


def _build(data: dict[str, Any], name: str) -> Problem:
    constraints: dict[str, list[dict[str, Any]]] = data.get("constraints", {})
    raw_tasks: list[dict[str, Any]] = data.get("tasks", [])
    raw_resources: list[dict[str, Any]] = data.get("resources", [])
    machines = [i for i, r in enumerate(raw_resources) if r.get("type", "machine") == "machine"]
    family, matrices = _families(len(raw_tasks), constraints.get("setup_times", []), machines)

    resources: list[Machine | Renewable | Consumable] = []
    for index, raw in enumerate(raw_resources):
        kind = raw.get("type", "machine")
        breaks = tuple(tuple(b) for b in raw.get("breaks", []))
        label = raw.get("name", "")
        if kind == "machine":
            setup = tuple(tuple(row) for row in matrices.get(index, []))
            values = {"name": label, "breaks": breaks, "setup": setup, "no_idle": raw.get("no_idle", False)}
            resources.append(record(Machine, "resources", index, **values))
        elif kind == "renewable":
            values = {"name": label, "capacity": raw["capacity"], "breaks": breaks}
            resources.append(record(Renewable, "resources", index, **values))
        elif kind == "consumable":
            resources.append(record(Consumable, "resources", index, name=label, capacity=raw["capacity"]))
        else:
            raise ProblemDataError(f"unknown resource type {kind!r}", field=f"resources[{index}].type")

    jobs = [
        record(
            Job,
            "jobs",
            index,
            name=raw.get("name", ""),
            release=raw.get("release_date", 0),
            due=raw.get("due_date"),
            deadline=_limit(raw.get("deadline")),
            weight=raw.get("weight", 1),
        )
        for index, raw in enumerate(data.get("jobs", []))
    ]

    modes_of: dict[int, list[Mode]] = defaultdict(list)
    mode_position: dict[int, tuple[int, int]] = {}  # global mode index -> (task, index within task)
    for index, raw in enumerate(data.get("modes", [])):
        task = int(raw["task"])
        mode_position[index] = (task, len(modes_of[task]))
        demands = raw.get("demands") or [0] * len(raw["resources"])
        modes_of[task].append(
            record(
                Mode,
                "modes",
                index,
                resources=raw["resources"],
                duration=raw["duration"],
                demands=demands,
                name=raw.get("name", ""),
            )
        )

    tasks = []
    for index, raw in enumerate(raw_tasks):
        if not modes_of[index]:
            raise ProblemDataError("no mode runs this task", field=f"tasks[{index}]")
        tasks.append(
            record(
                Task,
                "tasks",
                index,
                modes=tuple(modes_of[index]),
                job=raw.get("job"),
                name=raw.get("name", ""),
                family=family[index],
                earliest_start=raw.get("earliest_start", 0),
                latest_start=_limit(raw.get("latest_start")),
                earliest_end=raw.get("earliest_end", 0),
                latest_end=_limit(raw.get("latest_end")),
                optional=raw.get("optional", False),
                allow_idle=raw.get("allow_idle", False),
                allow_breaks=raw.get("allow_breaks", False),
            )
        )

    precedences = []
    for kind, (before_point, after_point, exact) in _TIMING.items():
        for raw in constraints.get(kind, []):
            delay = int(raw.get("delay", 0))
            precedences.append(
                Precedence(
                    int(raw["task1"]),
                    int(raw["task2"]),
                    min_lag=delay,
                    max_lag=delay if exact else None,
                    before_point=before_point,
                    after_point=after_point,
                )
            )

    def pairs(kind: str) -> list[tuple[int, int]]:
        return [(int(raw["task1"]), int(raw["task2"])) for raw in constraints.get(kind, [])]

    dependencies = []
    for raw in constraints.get("mode_dependencies", []):
        task, mode = mode_position[int(raw["mode1"])]
        dependencies.append(ModeDependency(task, mode, tuple(mode_position[int(m)] for m in raw["modes2"])))

    selections = [
        Selection(SelectionKind(kind.removeprefix("select_")), tuple(raw["tasks"]), raw.get("condition_task"))
        for kind in ("select_all_or_none", "select_at_least_one", "select_exactly_one")
        for raw in constraints.get(kind, [])
    ]

    weights = {ours: int(data.get("objective", {}).get(theirs, 0)) for theirs, ours in _OBJECTIVE.items()}
    objective = Objective(**weights) if data.get("objective") is not None else Objective(makespan=1)
    return Problem(
        jobs=tuple(jobs),
        resources=tuple(resources),
        tasks=tuple(tasks),
        precedences=tuple(precedences),
        identical_resources=tuple(IdenticalResources(a, b) for a, b in pairs("identical_resources")),
        different_resources=tuple(DifferentResources(a, b) for a, b in pairs("different_resources")),
        consecutive=tuple(Consecutive(a, b) for a, b in pairs("consecutive")),
        same_sequence=tuple(
            SameSequence(int(r["machine1"]), int(r["machine2"]), r.get("tasks1"), r.get("tasks2"))
            for r in constraints.get("same_sequence", [])
        ),
        mode_dependencies=tuple(dependencies),
        selections=tuple(selections),
        objective=objective,
        name=name,
    )


def read_pyjobshop(path: Path) -> Problem:
    return parse_pyjobshop(path.read_text(), name=path.stem, path=str(path))
