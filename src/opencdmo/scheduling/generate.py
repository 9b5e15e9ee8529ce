"""Generated instances shaped like a CDMO network-year, for benchmarks and scale tests.

Jobs are batches of 3-5 stages (upstream, downstream, formulation, fill, packaging); each stage can run in
one of three suites of its kind with different speeds; suites change over between product families; the
next stage must start within a hold time; the fill stage also needs a QC analyst (a renewable resource);
batches have release and due dates over a year.
"""

from __future__ import annotations

import math
import random

from opencdmo.scheduling.problem import Job, Machine, Mode, Objective, Precedence, Problem, Renewable, Task

YEAR = 365 * 24 * 60
_STAGES = 5


def network_year(
    num_jobs: int = 5000,
    num_machines: int = 200,
    *,
    families: int = 12,
    qc_capacity: int | None = None,
    horizon: int = YEAR,
    seed: int = 0,
) -> Problem:
    """A random instance; the defaults are the issue's target: 5,000 batches on 200 suites over a year."""
    rng = random.Random(seed)
    per_kind = max(1, num_machines // _STAGES)
    setup = tuple(
        tuple(0 if f == g else rng.choice((60, 120, 240, 480)) for g in range(families)) for f in range(families)
    )
    resources: list[Machine | Renewable] = [
        Machine(name=f"suite-{k}-{i}", setup=setup) for k in range(_STAGES) for i in range(per_kind)
    ]
    # Planned maintenance: one 2-day window per suite per quarter, staggered.
    resources = [
        Machine(
            name=m.name,
            setup=m.setup,
            breaks=tuple(
                (q * horizon // 4 + (i * 9973) % (horizon // 5), q * horizon // 4 + (i * 9973) % (horizon // 5) + 2880)
                for q in range(4)
            ),
        )
        if isinstance(m, Machine)
        else m
        for i, m in enumerate(resources)
    ]
    qc = len(resources)
    # About 4 in 5 batches have a fill stage of about 2,500 min; releases spread over 90 % of the horizon.
    # Size the QC pool for about 75 % utilisation over that window (the suites end up near 60 %).
    fill_load = num_jobs * 0.8 * 2500 / (horizon * 0.9)
    resources.append(Renewable(name="qc-analysts", capacity=qc_capacity or max(1, math.ceil(fill_load / 0.75))))
    jobs: list[Job] = []
    tasks: list[Task] = []
    precedences: list[Precedence] = []
    for job_index in range(num_jobs):
        stages = rng.randint(3, _STAGES)
        kinds = sorted(rng.sample(range(_STAGES), stages))
        family = rng.randrange(families)
        release = rng.randrange(int(horizon * 0.9))
        work = 0
        for position, kind in enumerate(kinds):
            base = rng.randint(600, 4200)
            suites = rng.sample(range(per_kind), min(3, per_kind))
            modes = []
            for suite in suites:
                duration = int(base * rng.uniform(0.85, 1.25))
                machine = kind * per_kind + suite
                if kind == 3:
                    modes.append(Mode((machine, qc), duration, (1, 1)))
                else:
                    modes.append(Mode((machine,), duration))
            work += base
            if position > 0:
                precedences.append(Precedence(len(tasks) - 1, len(tasks), max_lag=rng.choice((2880, 4320, 7200))))
            tasks.append(Task(tuple(modes), job=job_index, family=family, name=f"B{job_index}.S{kind}"))
        due = release + int(work * rng.uniform(1.1, 1.8))
        jobs.append(Job(name=f"B{job_index}", release=release, due=due, weight=rng.choice((1, 1, 2, 3))))
    return Problem(
        jobs=tuple(jobs),
        resources=tuple(resources),
        tasks=tuple(tasks),
        precedences=tuple(precedences),
        objective=Objective(weighted_tardiness=1),
        name=f"network-year-{num_jobs}x{num_machines}-s{seed}",
    )
