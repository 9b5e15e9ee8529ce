"""The demo CDMO: realistic, deterministic, valid as a scenario file, and with due dates a plan can meet."""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from opencdmo import demo, domain
from opencdmo.adapters import scenario_file
from opencdmo.demo import builder, catalogue, network, orderbook
from opencdmo.errors import InputError

START = date(2027, 1, 1)


END = date(2028, 1, 1)  # the end of the default twelve-month horizon


@pytest.fixture(scope="module")
def built() -> builder.Built:
    return builder.build(sites=5, batches=300, seed=2027, start=START, months=12, progress=None)


@pytest.fixture(scope="module")
def scenario(built: builder.Built) -> domain.Scenario:
    return built.scenario


@pytest.fixture(scope="module")
def large_built() -> builder.Built:
    return builder.build(sites=20, batches=5000, seed=2027, start=START, months=12, progress=None)


@pytest.fixture(scope="module")
def large(large_built: builder.Built) -> domain.Scenario:
    return large_built.scenario


@pytest.fixture(params=["default", "large"], scope="module")
def either(request: pytest.FixtureRequest) -> builder.Built:
    """The default demo and the 20-site / 5,000-batch one, for checks that hold at both scales."""
    return request.getfixturevalue("built" if request.param == "default" else "large_built")  # type: ignore[no-any-return]


def _digest(scenario: domain.Scenario) -> str:
    return hashlib.sha256(scenario_file.dump_scenario(scenario).encode()).hexdigest()


# --- determinism ---------------------------------------------------------------------------------------------


def test_same_seed_gives_the_identical_scenario(scenario: domain.Scenario) -> None:
    again = demo.build_demo()
    assert scenario_file.dump_scenario(again) == scenario_file.dump_scenario(scenario)


def test_same_seed_gives_the_identical_scenario_in_another_process(scenario: domain.Scenario) -> None:
    """String hashing differs between processes; the demo must not depend on set order."""
    code = (
        "import hashlib; from opencdmo import demo; from opencdmo.adapters import scenario_file; "
        "print(hashlib.sha256(scenario_file.dump_scenario(demo.build_demo()).encode()).hexdigest())"
    )
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert result.stdout.strip() == _digest(scenario)


def test_another_seed_gives_another_scenario(scenario: domain.Scenario) -> None:
    other = demo.build_demo(seed=2028)
    assert scenario_file.dump_scenario(other) != scenario_file.dump_scenario(scenario)


# --- size and shape ------------------------------------------------------------------------------------------


def test_default_size(scenario: domain.Scenario) -> None:
    suites = list(scenario.suites)
    assert len(scenario.sites) == 5
    assert 35 <= len(suites) <= 45
    assert sum(1 for _ in scenario.batches) == 300
    assert len({site.name for site in scenario.sites}) == 5
    assert len({suite.name for suite in suites}) == len(suites)


def test_twenty_sites_and_five_thousand_batches(large: domain.Scenario) -> None:
    suites = list(large.suites)
    lots = [batch.lot_number for batch in large.batches]
    assert len(large.sites) == 20
    assert 190 <= len(suites) <= 210  # "20 sites / 200 suites": later sites are larger
    assert len({suite.name for suite in suites}) == len(suites)
    assert len({site.name for site in large.sites}) == 20
    assert len(lots) == len(set(lots)) == 5000
    for process in large.processes:
        for stage in process.stages:
            assert domain.suites_able_to_run(stage, large.sites), (process.name, stage.name)


@pytest.mark.parametrize("sites", [1, 2, 3, 4, 6])
def test_any_number_of_sites_gives_a_valid_scenario(sites: int) -> None:
    scenario = demo.build_demo(sites=sites, batches=60, seed=sites)
    assert sum(1 for _ in scenario.batches) == 60
    assert scenario_file.parse_scenario(scenario_file.dump_scenario(scenario)) is not None


@pytest.mark.parametrize("batches", [0, 1, 9, 10])
def test_small_order_books_have_exactly_the_batches_asked_for(batches: int) -> None:
    scenario = demo.build_demo(batches=batches)
    assert sum(1 for _ in scenario.batches) == batches


def test_every_segment_modality_and_phase_is_present(scenario: domain.Scenario) -> None:
    assert {program.modality for program in scenario.programs} == set(domain.Modality)
    kinds = {suite.kind for suite in scenario.suites}
    assert kinds == set(domain.SuiteKind)
    assert {program.phase for program in scenario.programs} == set(domain.Phase)
    ordered = {order.program.modality for order in scenario.orders}
    assert ordered == set(domain.Modality)


def test_every_sponsor_orders_large_ones_most(scenario: domain.Scenario) -> None:
    orders = Counter(order.sponsor.name for order in scenario.orders)
    assert all(orders[sponsor.name] >= 1 for sponsor in scenario.sponsors)
    by_size: dict[domain.SponsorSize, list[int]] = defaultdict(list)
    for sponsor in scenario.sponsors:
        by_size[sponsor.size].append(orders[sponsor.name])
    large, mid, small = (sorted(by_size[size]) for size in domain.SponsorSize)
    assert min(large) > max(small)
    assert sum(large) / len(large) > sum(mid) / len(mid) > sum(small) / len(small)
    assert sum(1 for count in small if count <= 2) >= len(small) / 2  # small sponsors: one or two orders


def test_sponsors_of_every_size_large_ones_with_many_programs(scenario: domain.Scenario) -> None:
    programs = Counter(program.sponsor.name for program in scenario.programs)
    by_size = defaultdict(list)
    for sponsor in scenario.sponsors:
        by_size[sponsor.size].append(programs[sponsor.name])
    assert set(by_size) == set(domain.SponsorSize)
    assert min(by_size[domain.SponsorSize.LARGE]) >= 6
    assert len(by_size[domain.SponsorSize.SMALL]) > len(by_size[domain.SponsorSize.LARGE])
    assert all(count >= 1 for count in programs.values())
    assert len(programs) == len(scenario.sponsors)


def test_sites_have_regions_certifications_and_a_qc_lab(scenario: domain.Scenario) -> None:
    for site in scenario.sites:
        labs = [suite for suite in site.suites if suite.kind is domain.SuiteKind.QC_LAB]
        assert len(labs) == 1, site.name
        assert labs[0].qc_analysts >= 4, site.name
        assert site.certifications & {"fda", "ema", "pmda"}, site.name
        assert site.region
    assert {site.biosafety_level for site in scenario.sites} == {1, 2}
    assert len({site.region for site in scenario.sites}) >= 2


# --- rules a scenario file enforces, and the round trip ----------------------------------------------------


def test_every_stage_can_run_somewhere(scenario: domain.Scenario) -> None:
    for process in scenario.processes:
        assert 1 <= process.qc_analysts <= 3
        for stage in process.stages:
            assert domain.suites_able_to_run(stage, scenario.sites), (process.name, stage.name)
            for duration in stage.suite_durations:
                assert stage.runs_in(duration.suite)
    assert any(stage.suite_durations for process in scenario.processes for stage in process.stages)


def test_round_trip_through_the_scenario_file(scenario: domain.Scenario) -> None:
    text = scenario_file.dump_scenario(scenario)
    again = scenario_file.parse_scenario(text, "demo.yaml")
    assert scenario_file.dump_scenario(again) == text


def test_changeovers_are_longer_between_families_than_within_a_campaign(scenario: domain.Scenario) -> None:
    families = {id(family) for family in scenario.product_families}
    for suite in scenario.suites:
        assert suite.same_product_hours <= suite.default_changeover_hours
        for rule in suite.changeovers:
            assert id(rule.from_family) in families
            assert id(rule.to_family) in families
            assert rule.hours >= suite.same_product_hours
        if suite.kind is not domain.SuiteKind.QC_LAB:
            assert suite.default_changeover_hours > suite.same_product_hours, suite.name
    hp = next(suite for suite in scenario.suites if "high-potency" in suite.capabilities)
    names = {family.name: family for family in scenario.product_families}
    assert hp.changeover_hours(names["hpapi"], names["api-general"], same_product=False) >= 7 * 24
    stainless = next(suite for suite in scenario.suites if suite.construction is domain.Construction.STAINLESS)
    assert 48 <= stainless.default_changeover_hours <= 96  # CIP/SIP 2-4 days


def test_downtime_lies_inside_the_horizon(scenario: domain.Scenario) -> None:
    begin = datetime(2027, 1, 1, tzinfo=UTC)
    end = datetime(2028, 1, 1, tzinfo=UTC)
    for suite in scenario.suites:
        if suite.kind is domain.SuiteKind.QC_LAB:
            continue
        assert suite.downtime, suite.name
        assert any(window.end - window.start >= timedelta(days=7) for window in suite.downtime), suite.name
        for window in suite.downtime:
            assert begin <= window.start < window.end <= end
            assert window.start.tzinfo is not None


# --- orders and batches --------------------------------------------------------------------------------------


def test_orders_are_realistic(scenario: domain.Scenario) -> None:
    lots = [batch.lot_number for batch in scenario.batches]
    assert len(lots) == len(set(lots))
    assert len({order.number for order in scenario.orders}) == len(scenario.orders)
    for order in scenario.orders:
        assert 1 <= order.batch_count <= 10
        assert len(order.active_batches) == order.batch_count
        assert 1 <= order.priority <= 5
        assert order.price_per_batch > 0
        assert 0 < order.late_penalty_per_day < order.value
        assert START - timedelta(days=200) <= order.release_date < date(2028, 1, 1)
        if order.program.modality is domain.Modality.CELL_THERAPY:
            assert order.batch_count == 1
        if order.program.process.name.startswith("mAb drug substance, 2,000 L"):
            assert 1_000_000 <= order.price_per_batch <= 3_000_000
    releases = sorted(order.release_date for order in scenario.orders)
    assert releases[len(releases) // 4] < date(2027, 5, 1)
    assert releases[-1] > date(2027, 8, 1)


def test_batches_are_mostly_planned_with_a_few_under_way(scenario: domain.Scenario) -> None:
    statuses = Counter(batch.status for batch in scenario.batches)
    assert statuses[domain.BatchStatus.PLANNED] >= 0.9 * 300
    assert statuses[domain.BatchStatus.IN_PROGRESS] >= 1
    assert statuses[domain.BatchStatus.IN_QC] + statuses[domain.BatchStatus.RELEASED] >= 1
    cancelled = [batch for batch in scenario.batches if batch.status is domain.BatchStatus.CANCELLED]
    assert len(cancelled) == 1
    assert cancelled[0].cancel_reason
    for order in scenario.orders:
        if any(batch.status is not domain.BatchStatus.PLANNED for batch in order.active_batches):
            assert order.release_date < START


def test_due_dates_leave_at_least_the_fastest_lead_time(scenario: domain.Scenario) -> None:
    for order in scenario.orders:
        process = order.program.process
        fastest = sum(
            min([stage.duration_hours, *(d.hours for d in stage.suite_durations)]) for stage in process.stages
        )
        lead = math.ceil((fastest + process.qc_release_hours) / 24)
        assert order.due_date >= order.release_date + timedelta(days=lead), order.number


def test_due_dates_are_tight(either: builder.Built) -> None:
    """Due dates are the witness finish plus 5-25 % of the process's lead time: none has months of spare room."""
    for order in either.scenario.orders:
        process = order.program.process
        lead = sum(stage.duration_hours for stage in process.stages) + process.qc_release_hours
        finish = max(either.jobs[batch.lot_number].finish for batch in order.active_batches)
        due = (order.due_date - START).days * 24
        assert finish + 0.05 * lead <= due <= finish + 0.25 * lead + 24, order.number


def _utilization_by_kind(built: builder.Built) -> list[tuple[float, domain.SuiteKind]]:
    """Mean witness utilization per suite kind, busiest first."""
    by_kind: dict[domain.SuiteKind, list[float]] = defaultdict(list)
    for suite in built.scenario.suites:
        by_kind[suite.kind].append(built.utilization[suite.name])
    return sorted(((sum(values) / len(values), kind) for kind, values in by_kind.items()), reverse=True)


def test_the_busiest_suites_are_realistically_loaded(built: builder.Built) -> None:
    """The default demo loads the biologics suites most, about 55-60 % of their time running batches."""
    kinds = _utilization_by_kind(built)
    busiest = kinds[0][0]
    assert 0.55 <= busiest <= 0.9
    assert {kind for _, kind in kinds[:2]} == {domain.SuiteKind.UPSTREAM, domain.SuiteKind.DOWNSTREAM}
    assert all(value <= 1 for value in built.utilization.values())


def test_a_large_network_is_loaded_evenly_and_realistically(large_built: builder.Built) -> None:
    """At 20 sites and 5,000 batches the busiest kinds run 70-85 % (80 % of available time is "excellent")."""
    kinds = _utilization_by_kind(large_built)
    assert 0.7 <= kinds[0][0] <= 0.85, kinds
    assert kinds[1][0] >= 0.6, kinds  # not one kind carrying the order book alone
    by_kind = {kind: value for value, kind in kinds}
    for kind in (domain.SuiteKind.UPSTREAM, domain.SuiteKind.DOWNSTREAM, domain.SuiteKind.FORMULATION):
        assert 0.5 <= by_kind[kind] <= 0.85, (kind, kinds)
    assert all(value <= 1 for value in large_built.utilization.values())


@pytest.mark.parametrize(("fixture", "days"), [("built", 75), ("large_built", 75)])
def test_the_order_book_fits_the_horizon(fixture: str, days: int, request: pytest.FixtureRequest) -> None:
    """Orders come due within the year plus the longest QC release and a little slack (the queues are short)."""
    scenario = request.getfixturevalue(fixture).scenario
    longest_release = max(process.qc_release_hours for process in scenario.processes) // 24
    assert longest_release == 50
    latest = max(order.due_date for order in scenario.orders)
    assert latest <= END + timedelta(days=days), latest
    late = sum(1 for order in scenario.orders if order.due_date > END)
    assert late <= 0.15 * len(scenario.orders)  # long-lead orders released late in the year


def test_a_large_order_book_is_shared_in_proportion_to_capacity() -> None:
    """Beyond the default density every site's processes get the same share of their capacity."""
    plans = network.site_plans(20)
    shares = orderbook.share_out(plans, 5000, 12)
    assert sum(sum(per_site.values()) for per_site in shares) == 5000
    ratios = []
    for plan, per_site in zip(plans[5:], shares[5:], strict=True):
        assert plan.expanded
        for row in plan.archetype.demand:
            if row.default <= 0.75 * row.expanded:
                ratios.append(per_site[row.process] / row.expanded)
            else:  # already busier than the rest at the default density: keeps its default
                assert abs(per_site[row.process] - row.default) <= 1, (plan, row)
    assert len(ratios) >= 40
    assert 0.7 <= min(ratios) <= max(ratios) <= 0.9
    assert max(ratios) - min(ratios) <= 0.06, (min(ratios), max(ratios))
    default = orderbook.share_out(network.site_plans(5), 300, 12)
    for plan, per_site in zip(network.site_plans(5), default, strict=True):
        assert per_site == {row.process: round(row.default) for row in plan.archetype.demand}


def test_later_sites_are_the_larger_ones() -> None:
    plans = network.site_plans(10)
    assert [plan.expanded for plan in plans] == [False] * 5 + [True] * 5
    for archetype in catalogue.ARCHETYPES:
        first, later = archetype.suite_specs(expanded=False), archetype.suite_specs(expanded=True)
        assert sum(spec.count for spec in later) > sum(spec.count for spec in first), archetype.letter
        assert later[-1].kind is domain.SuiteKind.QC_LAB


def test_the_witness_is_a_plan_that_meets_every_due_date(either: builder.Built) -> None:
    """Check the witness schedule against the domain's own rules, independently of how it was built."""
    built = either
    scenario = built.scenario
    suites = {suite.name: suite for suite in scenario.suites}
    site_of = {suite.name: site for site in scenario.sites for suite in site.suites}
    origin = built.origin
    busy: dict[str, list[tuple[int, int, domain.Program]]] = defaultdict(list)
    lab_use: dict[str, list[tuple[int, int]]] = defaultdict(list)

    def hour(moment: datetime) -> float:
        return (moment - origin).total_seconds() / 3600

    for order in scenario.orders:
        release = (order.release_date - START).days * 24
        due = (order.due_date - START).days * 24
        process = order.program.process
        for batch in order.active_batches:
            job = built.jobs[batch.lot_number]
            assert len(job.stages) == len(process.stages)
            assert job.stages[0][1] >= release
            if batch.status is domain.BatchStatus.PLANNED:
                assert job.stages[0][1] >= 0
            previous_end: int | None = None
            hold: int | None = None
            for stage, (name, begin, end) in zip(process.stages, job.stages, strict=True):
                suite = suites[name]
                assert stage.runs_in(suite)
                assert end - begin == stage.duration_in(suite)
                if previous_end is not None:
                    assert begin >= previous_end
                    if hold is not None:
                        assert begin - previous_end <= hold, batch.lot_number
                previous_end, hold = end, stage.max_hold_hours
                busy[name].append((begin, end, order.program))
            assert job.qc is not None
            lab, qc_begin, qc_end, analysts = job.qc
            assert qc_begin >= job.stages[-1][2]
            assert qc_end - qc_begin == process.qc_release_hours
            assert analysts == process.qc_analysts
            assert site_of[lab] is site_of[job.stages[-1][0]]
            lab_use[lab] += [(qc_begin, analysts), (qc_end, -analysts)]
            assert qc_end <= due, batch.lot_number

    for name, intervals in busy.items():
        suite = suites[name]
        windows = [(hour(w.start), hour(w.end)) for w in suite.downtime]
        intervals.sort(key=lambda item: item[0])
        for begin, end, _ in intervals:
            assert all(end <= w_begin or begin >= w_end for w_begin, w_end in windows), name
        for (_, end_a, program_a), (begin_b, _, program_b) in itertools.pairwise(intervals):
            cleaning = suite.changeover_hours(
                program_a.product_family, program_b.product_family, same_product=program_a is program_b
            )
            assert begin_b - end_a >= cleaning, name
            assert all(begin_b <= w_begin or begin_b - cleaning >= w_end for w_begin, w_end in windows), name

    for name, events in lab_use.items():
        analysts = suites[name].qc_analysts
        in_use = 0
        for _, change in sorted(events):
            in_use += change
            assert in_use <= analysts, name


# --- arguments and progress ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        {"sites": 0},
        {"sites": -3},
        {"sites": True},
        {"sites": "5"},
        {"sites": 10_000},
        {"batches": -1},
        {"batches": 2.5},
        {"months": 0},
        {"seed": "x"},
        {"start": datetime(2027, 1, 1, tzinfo=UTC)},
    ],
)
def test_bad_arguments_are_refused(arguments: dict[str, object]) -> None:
    with pytest.raises(InputError, match="demo: "):
        demo.build_demo(**arguments)  # type: ignore[arg-type]


def test_progress_names_the_steps() -> None:
    steps: list[str] = []
    demo.build_demo(batches=20, progress=steps.append)
    assert steps[0] == "sites"
    assert {"processes", "orders", "due dates"} <= set(steps)
