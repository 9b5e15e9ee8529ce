"""Assembling the demo CDMO: the network, the order book, and due dates from the witness schedule."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from opencdmo import domain
from opencdmo.demo.catalogue import FAMILIES, LINES, PROCESSES
from opencdmo.demo.network import build_site, process_templates, site_plans
from opencdmo.demo.orderbook import (
    build_order,
    choose_cancelled,
    mark_under_way,
    order_specs,
    share_out,
    sponsors_and_programs,
)
from opencdmo.demo.witness import Job, Witness
from opencdmo.errors import InputError

MAX_SITES = 100
MAX_BATCHES = 100_000
MAX_MONTHS = 60


def build_demo(
    *,
    sites: int = 5,
    batches: int = 300,
    seed: int = 2027,
    start: date = date(2027, 1, 1),
    months: int = 12,
    progress: Callable[[str], None] | None = None,
) -> domain.Scenario:
    """Build the demo CDMO: ``sites`` sites, exactly ``batches`` batches released over ``months`` from ``start``.

    The same arguments always give the same scenario. Raises :class:`InputError` for arguments out of range.
    """
    return build(sites=sites, batches=batches, seed=seed, start=start, months=months, progress=progress).scenario


def check_arguments(sites: object, batches: object, seed: object, start: object, months: object) -> None:
    def whole(value: object, name: str, low: int, high: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"demo: {name} must be a whole number, not {value!r}")
        if not low <= value <= high:
            raise InputError(f"demo: {name} must be between {low} and {high:,}, not {value}")

    whole(sites, "sites", 1, MAX_SITES)
    whole(batches, "batches", 0, MAX_BATCHES)
    whole(months, "months", 1, MAX_MONTHS)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"demo: seed must be a whole number, not {seed!r}")
    if not isinstance(start, date) or isinstance(start, datetime):
        raise InputError(f"demo: start must be a date, not {start!r}")


@dataclass
class Built:
    scenario: domain.Scenario
    origin: datetime
    horizon_hours: int
    jobs: dict[str, Job]  # by lot number, every active batch
    utilization: dict[str, float]  # by suite name, within the horizon


def build(
    *,
    sites: int,
    batches: int,
    seed: int,
    start: date,
    months: int,
    progress: Callable[[str], None] | None,
) -> Built:
    check_arguments(sites, batches, seed, start, months)

    def step(text: str) -> None:
        if progress is not None:
            progress(text)

    rng = random.Random(seed)
    origin = datetime.combine(start, time(), tzinfo=UTC)
    horizon_days = (add_months(start, months) - start).days
    scenario = domain.Scenario()
    families = {name: domain.ProductFamily(name=name, description=text) for name, text in FAMILIES}
    scenario.product_families.extend(families.values())

    step("sites")
    plans = site_plans(sites)
    active_batches = batches - 1 if batches >= 10 else batches  # one lot is cancelled and replaced
    site_demand = share_out(plans, active_batches, months)
    for plan, demand_here in zip(plans, site_demand, strict=True):
        scenario.sites.append(build_site(plan, families, demand_here, horizon_days, origin, rng))

    step("processes")
    scenario.processes.extend(process_templates(scenario.sites))
    available = {process.name: process for process in scenario.processes}
    process_of = {spec.key: available[spec.name] for spec in PROCESSES if spec.name in available}

    step("sponsors and programs")
    lines = [line for line in LINES if line.process in process_of]
    sponsors_and_programs(scenario, lines, families, process_of, sites, rng)

    step("orders")
    demand: dict[str, int] = {}
    for per_site in site_demand:
        for key, count in per_site.items():
            demand[key] = demand.get(key, 0) + count
    specs = order_specs(scenario, demand, process_of, horizon_days, rng)
    mark_under_way(specs, process_of, rng)
    specs.sort(key=lambda spec: (spec.release_day, spec.priority, spec.sequence))

    step("due dates")
    witness = Witness(scenario, origin)
    lot_counter = 0
    year = start.year % 100
    cancel_at = choose_cancelled(specs, active_batches != batches, rng)
    jobs: dict[str, Job] = {}
    for number, spec in enumerate(specs, start=1):
        spec.number = f"SO-{year:02d}-{number:05d}"
        lots: list[str] = []
        for _ in range(spec.batch_count + (1 if number - 1 == cancel_at else 0)):
            lot_counter += 1
            lots.append(f"L{year:02d}-{lot_counter:06d}")
        if number - 1 == cancel_at:
            spec.cancelled_lot = lots.pop(0)
        release_hour = spec.release_day * 24
        for lot in lots:
            job = Job(lot, spec.program_index, spec.family_index, spec.process_index, release_hour)
            witness.place(job)
            jobs[lot] = job
            spec.jobs.append(job)
        # Slack: 5-25 % of the process's own lead time (not of the witness's, which includes its queues).
        process = scenario.processes[spec.process_index]
        nominal = sum(stage.duration_hours for stage in process.stages) + process.qc_release_hours
        finish = max(job.finish for job in spec.jobs)
        spec.due_day = math.ceil((finish + nominal * rng.uniform(0.05, 0.25)) / 24)

    step("batches")
    for spec in specs:
        scenario.orders.append(build_order(spec, scenario, start))

    return Built(scenario, origin, horizon_days * 24, jobs, witness.utilization(horizon_days * 24))


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, 28))
