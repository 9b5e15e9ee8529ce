"""The demo order book: how many batches each site's share holds, sponsors and programs, orders and statuses."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from opencdmo import domain
from opencdmo.demo.catalogue import (
    CANCEL_REASON,
    LINES,
    NAME_ENDINGS,
    NAME_STEMS,
    ORDER_WEIGHT,
    PHASE_WEIGHT,
    PHASES,
    PROCESS_SPECS,
    PROGRAMS_PER_SPONSOR,
    UNDER_WAY,
    Line,
)
from opencdmo.demo.network import SitePlan
from opencdmo.demo.witness import Job

# --- sizing ------------------------------------------------------------------------------------------------


def largest_remainder(values: Sequence[float], total: int) -> list[int]:
    """Round ``values`` (summing to ``total``) to whole numbers with the same sum."""
    floors = [math.floor(value) for value in values]
    missing = total - sum(floors)
    order = sorted(range(len(values)), key=lambda i: (-(values[i] - floors[i]), i))
    for i in order[:missing]:
        floors[i] += 1
    return floors


def share_out(plans: Sequence[SitePlan], batches: int, months: int) -> list[dict[str, int]]:
    """How many batches of each process each site's share of the order book holds.

    Up to the default density (300 batches a year on five sites) every process keeps its default share, where
    the biologics suites are the busiest. Beyond it the order book fills the network like water: every process
    gets ``level`` times its capacity, or its default if that is more, with the one level that sums to
    ``batches``. So the least loaded suites fill first, and once every process is above its default the batches
    are in proportion to capacity: every site's bottlenecks equally busy. Beyond capacity the level passes 1
    and orders simply finish later.
    """
    rows = [(site, demand) for site, plan in enumerate(plans) for demand in plan.archetype.demand]
    years = months / 12
    default = [demand.default * years for _, demand in rows]
    capacity = [(demand.expanded if plans[site].expanded else demand.capacity) * years for site, demand in rows]
    if batches <= sum(default):
        wanted = default
    else:
        low, high = 0.0, batches / sum(capacity) + 1
        for _ in range(60):  # bisection: the sum below grows with the level
            level = (low + high) / 2
            if sum(max(d, level * c) for d, c in zip(default, capacity, strict=True)) < batches:
                low = level
            else:
                high = level
        wanted = [max(d, high * c) for d, c in zip(default, capacity, strict=True)]
    total = sum(wanted)
    counts = largest_remainder([value * batches / total for value in wanted], batches)
    result: list[dict[str, int]] = [{} for _ in plans]
    for (site, demand), count in zip(rows, counts, strict=True):
        result[site][demand.process] = count
    return result


# --- sponsors and programs ---------------------------------------------------------------------------------


def sponsors_and_programs(
    scenario: domain.Scenario,
    lines: Sequence[Line],
    families: dict[str, domain.ProductFamily],
    process_of: dict[str, domain.ProcessTemplate],
    sites: int,
    rng: random.Random,
) -> None:
    sizes = (
        [domain.SponsorSize.LARGE] * (2 + sites // 5)
        + [domain.SponsorSize.MID] * max(2, round(1.2 * sites))
        + [domain.SponsorSize.SMALL] * max(3, round(2.4 * sites))
    )
    stems = list(NAME_STEMS)
    rng.shuffle(stems)
    names: set[str] = set()
    for i, size in enumerate(sizes):
        name = f"{stems[i % len(stems)]} {rng.choice(NAME_ENDINGS[size])}"
        while name in names:
            name = f"{stems[i % len(stems)]} {rng.choice(NAME_ENDINGS[size])} {i // len(stems) + 1}"
        names.add(name)
        scenario.sponsors.append(domain.Sponsor(name=name, size=size))

    # Every line at least once (so every modality and process has a program), then each sponsor's portfolio.
    portfolio: list[list[Line]] = [[] for _ in scenario.sponsors]
    for i, line in enumerate(lines):
        portfolio[i % len(scenario.sponsors)].append(line)
    size_index = {domain.SponsorSize.LARGE: 0, domain.SponsorSize.MID: 1, domain.SponsorSize.SMALL: 2}
    for sponsor, held in zip(scenario.sponsors, portfolio, strict=True):
        low, high = PROGRAMS_PER_SPONSOR[sponsor.size]
        weights = [line.weights[size_index[sponsor.size]] for line in lines]
        for _ in range(max(0, rng.randint(low, high) - len(held))):
            held.append(rng.choices(lines, weights=weights)[0] if sum(weights) > 0 else rng.choice(lines))
    used: set[str] = set()
    for sponsor, held in zip(scenario.sponsors, portfolio, strict=True):
        code = "".join(ch for ch in sponsor.name.split()[0].upper() if ch.isalpha())[:3]
        for line in held:
            number = rng.randint(100, 899)
            while f"{code}-{number}" in used:
                number += 1
            used.add(f"{code}-{number}")
            scenario.programs.append(
                domain.Program(
                    sponsor=sponsor,
                    name=f"{code}-{number}",
                    modality=line.modality,
                    phase=PHASES[rng.choice(line.phases)],
                    product_family=families[line.family],
                    process=process_of[line.process],
                )
            )


# --- orders ------------------------------------------------------------------------------------------------


@dataclass
class OrderSpec:
    sequence: int
    program_index: int
    process_index: int
    family_index: int
    line: Line
    batch_count: int
    release_day: int
    priority: int
    price: Decimal
    penalty: Decimal
    number: str = ""
    due_day: int = 0
    cancelled_lot: str | None = None
    jobs: list[Job] = field(default_factory=list)


def line_of(program: domain.Program) -> Line:
    for line in LINES:
        same_kind = line.modality is program.modality and line.family == program.product_family.name
        if same_kind and PROCESS_SPECS[line.process].name == program.process.name:
            return line
    raise AssertionError(f"no line for {program!r}")  # pragma: no cover - the demo builds programs from lines


def order_specs(
    scenario: domain.Scenario,
    demand: dict[str, int],
    process_of: dict[str, domain.ProcessTemplate],
    horizon_days: int,
    rng: random.Random,
) -> list[OrderSpec]:
    process_index = {id(process): i for i, process in enumerate(scenario.processes)}
    family_index = {id(family): i for i, family in enumerate(scenario.product_families)}
    counts = _order_sizes(scenario, demand, process_of, rng)
    specs: list[OrderSpec] = []
    for key, total in demand.items():
        if total <= 0:
            continue
        process = process_of[key]
        lead_days = (sum(stage.duration_hours for stage in process.stages) + process.qc_release_hours) // 24
        span = max(horizon_days - lead_days, horizon_days // 2, 1)
        for i, (program_index, count) in enumerate(counts[key]):
            program = scenario.programs[program_index]
            line = line_of(program)
            price = Decimal(rng.randint(line.price[0], line.price[1]) * 1000)
            penalty = (price * count * Decimal(str(round(rng.uniform(*line.penalty), 4)))).quantize(Decimal(1))
            specs.append(
                OrderSpec(
                    sequence=len(specs),
                    program_index=program_index,
                    process_index=process_index[id(process)],
                    family_index=family_index[id(program.product_family)],
                    line=line,
                    batch_count=count,
                    release_day=int((i + rng.random()) * span / len(counts[key])),  # stratified: no bursts
                    priority=int(rng.choice(line.priorities)),
                    price=price,
                    penalty=max(penalty, Decimal(100)),
                )
            )
    return specs


def _order_sizes(
    scenario: domain.Scenario,
    demand: dict[str, int],
    process_of: dict[str, domain.ProcessTemplate],
    rng: random.Random,
) -> dict[str, list[tuple[int, int]]]:
    """Per process key, the orders as (program index, batches), in release order.

    First one order for every sponsor (those with the fewest programs choose first, while the demand lasts),
    then the rest of each process's batches to its programs by weight: large sponsors and late phases buy more.
    """
    key_of = {id(process): key for key, process in process_of.items()}
    remaining = dict(demand)
    counts: dict[str, list[tuple[int, int]]] = {key: [] for key in demand}

    def weight(index: int) -> float:
        program = scenario.programs[index]
        return ORDER_WEIGHT[program.sponsor.size] * PHASE_WEIGHT[program.phase]

    def draw(index: int, key: str) -> None:
        low, high = line_of(scenario.programs[index]).batches
        count = min(remaining[key], rng.randint(low, high))
        counts[key].append((index, count))
        remaining[key] -= count

    held: dict[int, list[int]] = {id(sponsor): [] for sponsor in scenario.sponsors}
    for index, program in enumerate(scenario.programs):
        held[id(program.sponsor)].append(index)
    for sponsor in sorted(scenario.sponsors, key=lambda sponsor: len(held[id(sponsor)])):  # stable: deterministic
        own = [i for i in held[id(sponsor)] if remaining.get(key_of[id(scenario.programs[i].process)], 0) > 0]
        if own:
            index = rng.choices(own, weights=[weight(i) for i in own])[0]
            draw(index, key_of[id(scenario.programs[index].process)])
    for key in demand:
        programs = [i for i, program in enumerate(scenario.programs) if program.process is process_of[key]]
        weights = [weight(i) for i in programs]
        while remaining[key] > 0:
            draw(rng.choices(programs, weights=weights)[0], key)
        rng.shuffle(counts[key])  # the sponsors' first orders anywhere in the year
    return counts


def mark_under_way(specs: list[OrderSpec], process_of: dict[str, domain.ProcessTemplate], rng: random.Random) -> None:
    """Move a handful of small orders before the horizon start so their first batches are under way."""
    taken: set[int] = set()
    for key, status in UNDER_WAY:
        process = process_of.get(key)
        if process is None or len(taken) >= len(specs) // 12:
            continue
        candidates = [spec for spec in specs if spec.line.process == key and spec.sequence not in taken]
        if not candidates:
            continue
        spec = min(candidates, key=lambda spec: (spec.batch_count, spec.sequence))
        taken.add(spec.sequence)
        making = sum(stage.duration_hours for stage in process.stages)
        testing = process.qc_release_hours
        if status == "released":
            hours = making + testing + rng.randint(2, 10) * 24
        elif status == "in-qc":
            hours = making + testing // 2
        elif status == "completed":
            hours = making + 12
        else:
            hours = making // 2
        spec.release_day = -math.ceil(hours / 24)


def choose_cancelled(specs: Sequence[OrderSpec], wanted: bool, rng: random.Random) -> int | None:
    """The order that gets one cancelled (and replaced) lot: a planned biologics order."""
    if not wanted:
        return None
    candidates = [
        i
        for i, spec in enumerate(specs)
        if spec.release_day > 0 and spec.line.process in ("mab-2kl", "mab-15kl", "rp-2kl", "mab-500l")
    ]
    if not candidates:
        candidates = [i for i, spec in enumerate(specs) if spec.release_day > 0]
    return rng.choice(candidates) if candidates else None


def status_at_start(job: Job) -> domain.BatchStatus:
    """A batch's status at the horizon start (hour 0), from where its witness schedule puts it."""
    if job.stages[0][1] >= 0:
        return domain.BatchStatus.PLANNED
    if job.stages[-1][2] > 0:
        return domain.BatchStatus.IN_PROGRESS
    if job.stages[-1][2] > -48:
        return domain.BatchStatus.COMPLETED
    if job.finish > 0:
        return domain.BatchStatus.IN_QC
    return domain.BatchStatus.RELEASED


def build_order(spec: OrderSpec, scenario: domain.Scenario, start: date) -> domain.Order:
    program = scenario.programs[spec.program_index]
    order = domain.Order(
        number=spec.number,
        sponsor=program.sponsor,
        program=program,
        batch_count=spec.batch_count,
        release_date=start + timedelta(days=spec.release_day),
        due_date=start + timedelta(days=spec.due_day),
        priority=spec.priority,
        late_penalty_per_day=spec.penalty,
        price_per_batch=spec.price,
    )
    if spec.cancelled_lot is not None:
        order.add_batch(spec.cancelled_lot, domain.BatchStatus.CANCELLED, CANCEL_REASON)
    for job in spec.jobs:
        order.add_batch(job.lot, status_at_start(job))
    return order
