"""The demo network: sites built from their archetypes, their suites, downtime and the process templates."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from opencdmo import domain
from opencdmo.demo.catalogue import (
    ARCHETYPES,
    CHANGEOVERS,
    PROCESS_SPECS,
    PROCESSES,
    REGULATORS,
    Archetype,
    SuiteSpec,
    changeover_rules,
)

S = domain.SuiteKind


@dataclass(frozen=True)
class SitePlan:
    """Which archetype a site follows, and whether it is one of the larger sites built after the first cycle."""

    archetype: Archetype
    ordinal: int  # 1 in the first cycle of archetypes, 2 in the second, ...

    @property
    def expanded(self) -> bool:
        return self.ordinal > 1


def site_plans(sites: int) -> list[SitePlan]:
    return [SitePlan(ARCHETYPES[i % len(ARCHETYPES)], i // len(ARCHETYPES) + 1) for i in range(sites)]


def build_site(
    plan: SitePlan,
    families: dict[str, domain.ProductFamily],
    demand: dict[str, int],
    horizon_days: int,
    origin: datetime,
    rng: random.Random,
) -> domain.Site:
    archetype, ordinal = plan.archetype, plan.ordinal
    city, region = archetype.places[(ordinal - 1) % len(archetype.places)]
    prefix = f"{archetype.letter}{ordinal}"
    site = domain.Site(
        name=f"Site {prefix} {city}",
        region=region,
        biosafety_level=archetype.biosafety_level,
        certifications=frozenset((*REGULATORS[region], *archetype.certifications)),
    )
    # Release testing this site's share of the order book occupies, in analyst-hours, kept ~70 % busy.
    analyst_hours = sum(
        count * PROCESS_SPECS[key].qc_hours * PROCESS_SPECS[key].qc_analysts for key, count in demand.items()
    )
    analysts = max(4, math.ceil(analyst_hours / max(horizon_days * 24, 1) / 0.7) + 2)
    shutdown: tuple[int, int] | None = None
    if horizon_days >= 120:
        first = rng.randint(horizon_days * 3 // 10, horizon_days * 7 // 10)
        shutdown = (first * 24, (first + archetype.shutdown_days) * 24)
    numbers: dict[str, int] = {}
    for spec in archetype.suite_specs(plan.expanded):
        for _ in range(spec.count):
            numbers[spec.code] = numbers.get(spec.code, 0) + 1
            same, default, rules = CHANGEOVERS[spec.changeovers]
            is_lab = spec.kind is S.QC_LAB
            suite = domain.Suite(
                name=f"{prefix}-{spec.code}-{numbers[spec.code]:02d}",
                kind=spec.kind,
                scale=spec.scale,
                scale_unit=spec.unit,
                capabilities=frozenset(spec.capabilities.split()),
                construction=spec.construction,
                qc_analysts=analysts if is_lab else 0,
                same_product_hours=same,
                default_changeover_hours=default,
                changeovers=[
                    domain.ChangeoverRule(families[a], families[b], hours) for a, b, hours in changeover_rules(rules)
                ],
            )
            if not is_lab:
                for begin, end, reason in downtime_windows(spec, shutdown, horizon_days, rng):
                    suite.add_downtime(
                        domain.DowntimeWindow(
                            start=origin + timedelta(hours=begin), end=origin + timedelta(hours=end), reason=reason
                        )
                    )
            site.add_suite(suite)
    return site


def downtime_windows(
    spec: SuiteSpec, shutdown: tuple[int, int] | None, horizon_days: int, rng: random.Random
) -> list[tuple[int, int, str]]:
    """The site's annual shutdown and one or two short windows, in hours from the origin, apart by a day."""
    windows: list[tuple[int, int, str]] = []
    if shutdown is not None:
        windows.append((shutdown[0], shutdown[1], "annual site shutdown"))
    if horizon_days < 30:
        return windows
    wanted = rng.randint(1, 2) if horizon_days >= 180 else 1
    for _ in range(wanted * 10):
        if len(windows) >= wanted + (shutdown is not None):
            break
        length = rng.choice((24, 36, 48, 72))
        begin = rng.randint(3, horizon_days - 4) * 24 + 6
        end = begin + length
        if end > horizon_days * 24:
            continue
        if all(end + 24 <= other_begin or other_end + 24 <= begin for other_begin, other_end, _ in windows):
            windows.append((begin, end, rng.choice(spec.downtime_reasons)))
    return sorted(windows)


def process_templates(sites: Sequence[domain.Site]) -> list[domain.ProcessTemplate]:
    """The process templates the network can run (every stage has a suite), with per-suite durations."""
    suites = {suite.name: suite for site in sites for suite in site.suites}
    result: list[domain.ProcessTemplate] = []
    for spec in PROCESSES:
        stages: list[domain.Stage] = []
        for stage_spec in spec.stages:
            stage = domain.Stage(
                name=stage_spec.name,
                suite_kind=stage_spec.kind,
                duration_hours=stage_spec.hours,
                capabilities=frozenset(stage_spec.capabilities.split()),
                max_hold_hours=stage_spec.hold,
            )
            if not domain.suites_able_to_run(stage, list(sites)):
                break
            for code, hours in stage_spec.faster_in:
                letter, rest = code.split("-", 1)
                for name, suite in suites.items():
                    if name.startswith(letter) and name.endswith(f"-{rest}") and stage.runs_in(suite):
                        stage.set_duration_in(suite, hours)
            stages.append(stage)
        else:
            result.append(
                domain.ProcessTemplate(
                    name=spec.name, stages=stages, qc_release_hours=spec.qc_hours, qc_analysts=spec.qc_analysts
                )
            )
    return result
