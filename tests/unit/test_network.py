"""Sites, suites, downtime and changeover rules."""

from __future__ import annotations

from datetime import datetime

import pytest

from opencdmo import domain
from opencdmo.errors import DomainError
from tests import factories
from tests.factories import at


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"kind": "cleanroom"}, "kind"),
        ({"scale": 0}, "scale"),
        ({"scale": -5}, "scale"),
        ({"scale": float("inf")}, "scale"),
        ({"scale": "big"}, "scale"),
        ({"scale_unit": "gallons"}, "scale_unit"),
        ({"construction": "glass"}, "construction"),
        ({"capabilities": frozenset({"Single Use"})}, "capabilities"),
        ({"capabilities": "single-use"}, "capabilities"),
        ({"qc_analysts": 3}, "qc_analysts"),
        ({"same_product_hours": -1}, "same_product_hours"),
        ({"same_product_hours": 1.5}, "same_product_hours"),
        ({"default_changeover_hours": True}, "default_changeover_hours"),
        ({"same_product_hours": 48, "default_changeover_hours": 24}, "default_changeover_hours"),
    ],
)
def test_invalid_suites_are_refused_naming_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(DomainError) as raised:
        factories.suite(**overrides)
    assert raised.value.field == field


def test_a_qc_lab_needs_analysts() -> None:
    with pytest.raises(DomainError, match="at least one analyst"):
        factories.suite("QC", kind="qc-lab", qc_analysts=0, construction=None)
    lab = factories.suite("QC", kind="qc-lab", qc_analysts=5, construction=None)
    assert lab.qc_analysts == 5


def test_changeover_times_by_family_pair_with_campaign_and_default() -> None:
    mab, vaccine = factories.family("mab-igg"), factories.family("vaccine")
    suite = factories.suite(same_product_hours=12, default_changeover_hours=36)
    suite.add_changeover(domain.ChangeoverRule(mab, vaccine, 72))
    assert suite.changeover_hours(mab, vaccine, same_product=False) == 72
    assert suite.changeover_hours(vaccine, mab, same_product=False) == 36  # rules are directional
    assert suite.changeover_hours(mab, mab, same_product=False) == 36
    assert suite.changeover_hours(mab, mab, same_product=True) == 12


def test_a_changeover_is_never_shorter_than_a_campaign_changeover() -> None:
    mab, vaccine = factories.family("mab-igg"), factories.family("vaccine")
    suite = factories.suite(same_product_hours=12, default_changeover_hours=36)
    with pytest.raises(DomainError, match="cannot be shorter"):
        suite.add_changeover(domain.ChangeoverRule(mab, vaccine, 6))
    assert suite.changeovers == []


def test_one_rule_per_family_pair() -> None:
    mab, vaccine = factories.family("mab-igg"), factories.family("vaccine")
    suite = factories.suite()
    suite.add_changeover(domain.ChangeoverRule(mab, vaccine, 48))
    with pytest.raises(DomainError, match="already set"):
        suite.add_changeover(domain.ChangeoverRule(mab, vaccine, 60))
    assert [rule.hours for rule in suite.changeovers] == [48]


def test_negative_cleaning_time_is_refused() -> None:
    with pytest.raises(DomainError, match="hours"):
        domain.ChangeoverRule(factories.family("a"), factories.family("b"), -1)


def test_downtime_windows_are_kept_sorted_and_must_not_overlap() -> None:
    suite = factories.suite()
    suite.add_downtime(domain.DowntimeWindow(at(20), at(25), "requalification"))
    suite.add_downtime(domain.DowntimeWindow(at(1), at(5), "shutdown"))
    suite.add_downtime(domain.DowntimeWindow(at(5), at(6), "touching is fine"))
    assert [window.reason for window in suite.downtime] == ["shutdown", "touching is fine", "requalification"]
    with pytest.raises(DomainError, match="overlaps"):
        suite.add_downtime(domain.DowntimeWindow(at(24), at(28), "too late"))
    assert len(suite.downtime) == 3


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (at(5), at(5), "end"),
        (at(6), at(5), "end"),
        (datetime(2027, 3, 1), at(5), "start"),  # naive: no time zone
        ("2027-03-01", at(5), "start"),
    ],
)
def test_invalid_downtime_windows(start: object, end: object, field: str) -> None:
    with pytest.raises(DomainError) as raised:
        domain.DowntimeWindow(start, end, "maintenance")  # type: ignore[arg-type]
    assert raised.value.field == field


def test_downtime_times_are_converted_to_utc() -> None:
    from datetime import timedelta, timezone

    cet = timezone(timedelta(hours=1))
    window = domain.DowntimeWindow(datetime(2027, 3, 1, 7, tzinfo=cet), datetime(2027, 3, 2, tzinfo=cet), "x")
    assert window.start == at(1, 6)
    assert window.start.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"region": ""}, "region"),
        ({"biosafety_level": 0}, "biosafety_level"),
        ({"biosafety_level": 5}, "biosafety_level"),
        ({"certifications": frozenset({"FDA"})}, "certifications"),
    ],
)
def test_invalid_sites(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(DomainError) as raised:
        factories.site(**overrides)
    assert raised.value.field == field


def test_suite_names_are_unique_within_a_site() -> None:
    site = factories.site(suites=[factories.suite("A")])
    with pytest.raises(DomainError, match="already exists"):
        site.add_suite(factories.suite("A"))
    assert len(site.suites) == 1


def test_which_suites_can_run_a_stage() -> None:
    single_use = factories.suite("SU", capabilities=frozenset({"single-use", "bsl2"}))
    stainless = factories.suite("SS", capabilities=frozenset({"stainless"}), construction="stainless")
    downstream = factories.suite("DSP", kind="downstream", capabilities=frozenset({"single-use"}))
    site = factories.site(suites=[single_use, stainless, downstream])
    stage = factories.stage(capabilities=frozenset({"single-use"}))
    assert domain.suites_able_to_run(stage, [site]) == [single_use]
    assert domain.suites_able_to_run(factories.stage(capabilities=frozenset({"high-potency"})), [site]) == []


def test_which_qc_labs_can_staff_a_release() -> None:
    small = factories.suite("QC-S", kind="qc-lab", qc_analysts=2, construction=None, capabilities=frozenset())
    large = factories.suite("QC-L", kind="qc-lab", qc_analysts=6, construction=None, capabilities=frozenset())
    site = factories.site(suites=[factories.suite("USP"), small, large])
    assert domain.qc_labs_able_to_release(factories.process(qc_analysts=2), [site]) == [small, large]
    assert domain.qc_labs_able_to_release(factories.process(qc_analysts=3), [site]) == [large]
    assert domain.qc_labs_able_to_release(factories.process(qc_analysts=7), [site]) == []
