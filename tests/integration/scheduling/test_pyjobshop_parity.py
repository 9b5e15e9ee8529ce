"""PyJobShop instances read from their JSON solve to the same optimum as PyJobShop itself finds."""

from typing import Any

import pytest

from opencdmo.scheduling import Status, check, solve
from opencdmo.scheduling.readers.pyjobshop_json import parse_pyjobshop

pyjobshop = pytest.importorskip("pyjobshop")


def rich_model(no_idle: bool) -> Any:
    model = pyjobshop.Model()
    jobs = [model.add_job(due_date=6, weight=1 + j, release_date=j) for j in range(3)]
    machines = [model.add_machine(breaks=[] if no_idle else [(7, 9)], no_idle=no_idle), model.add_machine()]
    staff = model.add_renewable(capacity=1)
    tasks = []
    for job in jobs:
        for stage in range(2):
            task = model.add_task(job=job, allow_breaks=stage == 1)
            model.add_mode(task, [machines[0], staff], 2 + stage, demands=[0, 1])
            model.add_mode(task, [machines[1]], 4 + stage)
            tasks.append(task)
    for first, second in zip(tasks[::2], tasks[1::2], strict=True):
        model.add_end_before_start(first, second)
    for one in tasks:
        for two in tasks:
            if one is not two:
                model.add_setup_time(machines[0], one, two, 1 if one.job is not two.job else 0)
    model.add_different_resources(tasks[0], tasks[2])
    model.set_objective(weight_makespan=1, weight_total_tardiness=2)
    return model


@pytest.mark.parametrize("no_idle", [False, True])
def test_same_optimum_as_pyjobshop(no_idle: bool) -> None:
    model = rich_model(no_idle)
    theirs = model.solve(time_limit=10, num_workers=1, display=False)
    problem = parse_pyjobshop(model.data().to_json())
    ours = solve(problem, time_limit=10, workers=1)
    assert ours.schedule is not None
    assert check(problem, ours.schedule) == []
    assert theirs.status.value == "Optimal"
    assert ours.status is Status.OPTIMAL
    assert ours.objective == round(theirs.objective)
