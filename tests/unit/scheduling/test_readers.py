"""Readers of FJSPLIB, JSSP and PyJobShop JSON text, and their errors (file and line)."""

from pathlib import Path

import pytest

from opencdmo.scheduling import Machine, Point, ReaderError, SelectionKind
from opencdmo.scheduling.readers import read_problem
from opencdmo.scheduling.readers.fjsp import parse_fjsp
from opencdmo.scheduling.readers.jssp import parse_jssp
from opencdmo.scheduling.readers.pyjobshop_json import parse_pyjobshop

FJSP = "2 2 1.5\n2  2 1 3 2 4  1 2 5\n1  1 1 2\n"
JSSP = "# a comment\n2 2\n0 3 1 2\n1 4 0 1\n"


def test_fjsp_text_becomes_jobs_of_chained_flexible_operations() -> None:
    problem = parse_fjsp(FJSP, name="tiny")
    assert len(problem.tasks) == 3
    assert [(m.resources, m.duration) for m in problem.tasks[0].modes] == [((0,), 3), ((1,), 4)]
    assert [(p.before, p.after) for p in problem.precedences] == [(0, 1)]
    assert problem.job_tasks == ((0, 1), (2,))


def test_jssp_text_becomes_one_mode_per_operation() -> None:
    problem = parse_jssp(JSSP)
    assert [(t.modes[0].resources, t.modes[0].duration) for t in problem.tasks] == [
        ((0,), 3),
        ((1,), 2),
        ((1,), 4),
        ((0,), 1),
    ]
    assert len(problem.precedences) == 2


@pytest.mark.parametrize(
    ("parse", "text", "line", "words"),
    [
        (parse_fjsp, "", 1, "first line"),
        (parse_fjsp, "2 2\n1 1 1 3\n", None, "found 1 job lines"),
        (parse_fjsp, "1 2\n1 1 3 3\n", 2, "machine 3 is not in 1..2"),
        (parse_fjsp, "1 2\n2 1 1 3\n", 2, "line ends early"),
        (parse_fjsp, "1 2\n1 1 1 3 9\n", 2, "extra numbers"),
        (parse_fjsp, "1 2\n1 x\n", 2, "expected numbers"),
        (parse_jssp, "1 2\n0 3 1\n", 2, "pairs"),
        (parse_jssp, "1 2\n0 3 5 1\n", 2, "machine 5"),
        (parse_pyjobshop, "{", 1, "not valid JSON"),
        (parse_pyjobshop, "[]", None, "JSON object"),
        (parse_pyjobshop, '{"resources": [{"type": "robot"}]}', None, "unknown resource type"),
        (parse_pyjobshop, '{"jobs": [{"weight": -1}]}', None, "jobs[0].weight"),
        (parse_pyjobshop, '{"tasks": [{}]}', None, "no mode runs this task"),
    ],
)
def test_malformed_files_say_where(parse: object, text: str, line: int | None, words: str) -> None:
    with pytest.raises(ReaderError) as caught:
        parse(text, path="in.txt")  # type: ignore[operator]
    assert caught.value.line == line
    assert words in str(caught.value)
    assert str(caught.value).startswith("in.txt")


def test_pyjobshop_json_with_every_constraint_kind() -> None:
    pyjobshop = pytest.importorskip("pyjobshop")
    model = pyjobshop.Model()
    job = model.add_job(due_date=5, weight=2)
    machines = [model.add_machine(breaks=[(20, 25)]), model.add_machine(no_idle=True)]
    staff = model.add_renewable(capacity=2)
    stock = model.add_consumable(capacity=9)
    tasks = [model.add_task(job=job, optional=i == 3) for i in range(4)]
    for task in tasks:
        model.add_mode(task, [machines[0], staff], 2, demands=[0, 1])
        model.add_mode(task, [machines[1], stock], 3, demands=[0, 1])
    model.add_end_before_start(tasks[0], tasks[1], delay=1)
    model.add_start_at_start(tasks[1], tasks[2])
    model.add_identical_resources(tasks[0], tasks[1])
    model.add_different_resources(tasks[1], tasks[2])
    model.add_consecutive(tasks[0], tasks[1])
    model.add_setup_time(machines[0], tasks[0], tasks[2], 4)
    model.add_setup_time(machines[0], tasks[1], tasks[2], 4)
    model.add_select_exactly_one([tasks[3]], tasks[0])
    model.add_mode_dependency(model.modes[0], [model.modes[2]])
    model.set_objective(weight_makespan=1, weight_total_tardiness=3)
    problem = parse_pyjobshop(model.data().to_json())

    assert [type(r).__name__ for r in problem.resources] == ["Machine", "Machine", "Renewable", "Consumable"]
    first = problem.resources[0]
    assert isinstance(first, Machine)
    assert first.breaks == ((20, 25),)
    assert first.setup_time(problem.tasks[0].family, problem.tasks[2].family) == 4
    assert problem.tasks[0].family == problem.tasks[1].family != problem.tasks[2].family
    assert problem.jobs[0].deadline is None
    assert problem.tasks[3].optional
    exact = [p for p in problem.precedences if p.max_lag is not None]
    assert [(p.before_point, p.after_point, p.min_lag) for p in exact] == [(Point.START, Point.START, 0)]
    assert problem.mode_dependencies[0].then == ((1, 0),)
    assert problem.selections[0].kind is SelectionKind.EXACTLY_ONE
    assert problem.objective.makespan == 1
    assert problem.objective.weighted_tardiness == 3
    assert len(problem.identical_resources) == len(problem.different_resources) == len(problem.consecutive) == 1


def test_read_problem_picks_the_format_from_the_suffix(tmp_path: Path) -> None:
    (tmp_path / "a.fjs").write_text(FJSP)
    (tmp_path / "b.dat").write_text(JSSP)
    assert len(read_problem(tmp_path / "a.fjs").tasks) == 3
    assert len(read_problem(tmp_path / "b.dat", "jssp").tasks) == 4
    with pytest.raises(ReaderError, match="cannot tell the format"):
        read_problem(tmp_path / "b.dat")
    with pytest.raises(ReaderError, match="cannot read the file"):
        read_problem(tmp_path / "missing.fjs")
