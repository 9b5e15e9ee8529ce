"""Reading and writing scenario files: canonical output, and bad input located precisely."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from opencdmo import domain
from opencdmo.adapters import scenario_file
from opencdmo.errors import ScenarioFileError

Edit = Callable[[dict[str, Any]], None]


def edited(sample_text: str, edit: Edit) -> str:
    document = yaml.safe_load(sample_text)
    edit(document)
    return yaml.safe_dump(document, sort_keys=False)


def test_the_sample_reads_into_the_domain(sample_text: str) -> None:
    scenario = scenario_file.parse_scenario(sample_text, "small-network.yaml")
    assert [site.name for site in scenario.sites] == ["Site B Leiden", "Site D Rockville"]
    assert [suite.name for suite in scenario.suites][:3] == ["B-USP-1", "B-USP-2", "B-DSP-1"]
    production = scenario.processes[0].stages[1]
    assert production.duration_in(scenario.sites[0].suites[1]) == 312
    assert production.max_hold_hours == 48
    rule = scenario.sites[0].suites[0].changeovers[0]
    assert (rule.from_family.name, rule.to_family.name, rule.hours) == ("mab-igg", "vaccine", 48)
    order = scenario.orders[2]
    assert order.program.sponsor is order.sponsor
    assert [b.status for b in order.batches] == [domain.BatchStatus.CANCELLED, domain.BatchStatus.PLANNED]
    assert order.batches[0].cancel_reason == "sponsor paused the program"
    assert sum(1 for _ in scenario.batches) == 7


def test_writing_is_canonical_and_reads_back_to_the_same_text(sample_text: str) -> None:
    first = scenario_file.dump_scenario(scenario_file.parse_scenario(sample_text))
    second = scenario_file.dump_scenario(scenario_file.parse_scenario(first))
    assert first == second
    assert first.startswith("# OpenCDMO scenario")
    assert "'2027-08-02T06:00:00Z'" in first
    assert "price_per_batch: 650000.5" in first


def test_write_replaces_the_file_whole(tmp_path: Path, sample_text: str) -> None:
    target = tmp_path / "out" / "network.yaml"
    scenario_file.write_scenario(scenario_file.parse_scenario(sample_text), target)
    assert scenario_file.read_scenario(target).orders[0].number == "PO-2027-001"
    assert [path.name for path in target.parent.iterdir()] == ["network.yaml"]


def _set(path: str, value: Any) -> Edit:
    """An edit that sets ``value`` at a dotted path such as 'sites.1.suites.0.kind'."""

    def edit(document: dict[str, Any]) -> None:
        *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
        node: Any = document
        for part in parents:
            node = node[part]
        node[last] = value

    return edit


def _delete(path: str) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
        node: Any = document
        for part in parents:
            node = node[part]
        del node[last]

    return edit


def _append(path: str, value: Any) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        node: Any = document
        for part in [int(p) if p.isdigit() else p for p in path.split(".")]:
            node = node[part]
        node.append(value)

    return edit


BAD_INPUT = [
    # shape and types
    ("wrong suite kind", _set("sites.1.suites.0.kind", "cleanroom"), "sites[1].suites[0].kind", "Input should be"),
    ("missing key", _delete("orders.0.due_date"), "orders[0].due_date", "Field required"),
    ("unknown key", _set("sites.0.suites.1.colour", "blue"), "sites[0].suites[1].colour", "unknown key"),
    (
        "text for a number",
        _set("processes.0.stages.0.duration_hours", "3 weeks"),
        "processes[0].stages[0].duration_hours",
        "integer",
    ),
    (
        "negative hours",
        _set("sites.0.suites.0.changeovers.default_hours", -4),
        "sites[0].suites[0].changeovers.default_hours",
        "greater than or equal to 0",
    ),
    (
        "naive downtime",
        _set("sites.0.suites.0.downtime.0.start", "2027-08-02T06:00:00"),
        "sites[0].suites[0].downtime[0].start",
        "timezone",
    ),
    ("bad date", _set("orders.1.release_date", "2027-02-30"), "orders[1].release_date", "date"),
    ("three decimals", _set("orders.1.price_per_batch", 1.005), "orders[1].price_per_batch", "decimal"),
    ("wrong version", _set("opencdmo_scenario", 2), "opencdmo_scenario", "Input should be 1"),
    ("a date as a number", _set("orders.0.release_date", 0), "orders[0].release_date", "must be written as text"),
    (
        "a time as a number",
        _set("sites.0.suites.0.downtime.0.start", 1798761600),
        "sites[0].suites[0].downtime[0].start",
        "must be written as text",
    ),
    ("a boolean scale", _set("sites.0.suites.0.scale", True), "sites[0].suites[0].scale", "must be a number"),
    (
        "downtime to the second",
        _set("sites.0.suites.0.downtime.0.start", "2027-08-02T06:00:30Z"),
        "sites[0].suites[0].downtime[0].start",
        "must be a whole minute",
    ),
    (
        "hours beyond a century",
        _set("processes.0.stages.0.duration_hours", 2**31),
        "processes[0].stages[0].duration_hours",
        "at most 1000000",
    ),
    (
        "an amount beyond a trillion",
        _set("orders.0.price_per_batch", "123456789012345678.91"),
        "orders[0].price_per_batch",
        "must be at most",
    ),
    (
        "an amount beyond decimal precision",
        _set("orders.0.price_per_batch", 10**27),
        "orders[0].price_per_batch",
        "must be at most",
    ),
    (
        "a control character in a name",
        _set("sponsors.1.name", "Helix\x00Vaccines"),
        "sponsors[1].name",
        "control characters",
    ),
    # business rules
    ("due before release", _set("orders.0.due_date", "2026-12-31"), "orders[0].due_date", "before the release date"),
    (
        "campaign longer than cleaning",
        _set("sites.0.suites.0.changeovers.same_product_hours", 40),
        "sites[0].suites[0].default_changeover_hours",
        "cannot be shorter",
    ),
    (
        "overlapping downtime",
        _append(
            "sites.0.suites.0.downtime", {"start": "2027-08-10T00:00:00Z", "end": "2027-08-20T00:00:00Z", "reason": "x"}
        ),
        "sites[0].suites[0].downtime[1].start",
        "overlaps",
    ),
    ("too many batches", _set("orders.0.batch_count", 2), "orders[0].batches[2]", "for 2 batch"),
    (
        "cancelled without reason",
        _delete("orders.2.batches.0.cancel_reason"),
        "orders[2].batches[0].cancel_reason",
        "non-empty",
    ),
    # broken references
    (
        "changeover to an unknown family",
        _set("sites.0.suites.0.changeovers.rules.0.to", "adc"),
        "sites[0].suites[0].changeovers.rules[0].to",
        "unknown product family 'adc'",
    ),
    (
        "program of an unknown family",
        _set("sponsors.1.programs.0.product_family", "plasma"),
        "sponsors[1].programs[0].product_family",
        "unknown product family",
    ),
    (
        "program of an unknown process",
        _set("sponsors.0.programs.0.process", "mAb 20000 L"),
        "sponsors[0].programs[0].process",
        "unknown process",
    ),
    ("order for an unknown program", _set("orders.1.program", "NWB-999"), "orders[1].program", "unknown program"),
    (
        "order for another sponsor's program",
        _set("orders.2.program", "NWB-101"),
        "orders[2].program",
        "unknown program of 'Helix Vaccines'",
    ),
    ("order for an unknown sponsor", _set("orders.0.sponsor", "Nobody Inc"), "orders[0].sponsor", "unknown sponsor"),
    (
        "stage no suite can run",
        _set("processes.1.stages.0.capabilities", ["aseptic", "lyophilization"]),
        "processes[1].stages[0]",
        "no suite in the network can run stage 'aseptic fill'",
    ),
    (
        "suite duration in an unknown suite",
        _set("processes.0.stages.1.suite_durations", {"X-1": 10}),
        "processes[0].stages[1].suite_durations.X-1",
        "unknown suite",
    ),
    (
        "suite duration in an unfit suite",
        _set("processes.0.stages.1.suite_durations", {"B-DSP-1": 10}),
        "processes[0].stages[1].suite_durations.B-DSP-1",
        "cannot run this stage",
    ),
    (
        "duplicate lot number",
        _set("orders.2.batches.1.lot_number", "NWB101-27-002"),
        "orders[2].batches[1].lot_number",
        "already used at orders[0].batches[1]",
    ),
    ("duplicate order", _set("orders.1.number", "PO-2027-001"), "orders[1].number", "defined twice"),
    (
        "duplicate suite across sites",
        _set("sites.1.suites.0.name", "B-USP-1"),
        "sites[1].suites[0].name",
        "defined twice",
    ),
    ("duplicate sponsor", _set("sponsors.1.name", "Northwind Biologics"), "sponsors[1].name", "defined twice"),
    ("duplicate family", _set("product_families.1.name", "mab-igg"), "product_families[1].name", "defined twice"),
]


@pytest.mark.parametrize(("case", "edit", "location", "problem"), BAD_INPUT, ids=[row[0] for row in BAD_INPUT])
def test_bad_input_names_the_file_the_place_and_the_problem(
    sample_text: str, case: str, edit: Edit, location: str, problem: str
) -> None:
    with pytest.raises(ScenarioFileError) as raised:
        scenario_file.parse_scenario(edited(sample_text, edit), "network.yaml")
    error = raised.value
    assert error.source == "network.yaml"
    assert error.location == location, case
    assert problem in error.problem, case
    assert str(error).startswith(f"network.yaml: {location}: ")


@pytest.mark.parametrize(
    ("text", "location", "problem"),
    [
        ("sites: [\n  {name: a\n", "line 3, column 1", "not valid YAML"),
        ("opencdmo_scenario: 1\nsites:\n\t- name: a\n", "line 3, column 1", "not valid YAML"),
        ("- just\n- a list\n", "", "expected a mapping"),
        ("", "", "expected a mapping"),
        ("sites: []\n", "opencdmo_scenario", "Field required"),
        (
            "opencdmo_scenario: 1\norders: []\nsites: []\norders: []\n",
            "line 4, column 1",
            "the key 'orders' appears twice",
        ),
        ("opencdmo_scenario: 1\nsites:\n- &a {name: x, region: EU}\n- *a\n", "line 3, column 3", "aliases"),
    ],
)
def test_malformed_yaml(text: str, location: str, problem: str) -> None:
    with pytest.raises(ScenarioFileError) as raised:
        scenario_file.parse_scenario(text, "broken.yaml")
    assert raised.value.location == location
    assert problem in raised.value.problem


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFileError, match="no such file"):
        scenario_file.read_scenario(tmp_path / "absent.yaml")


def test_yaml_tags_that_build_objects_are_refused() -> None:
    with pytest.raises(ScenarioFileError, match="not valid YAML"):
        scenario_file.parse_scenario("opencdmo_scenario: !!python/object/apply:os.system ['true']\n")


def test_a_nested_alias_bomb_is_refused_quickly() -> None:
    lines = ["opencdmo_scenario: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 30)]
    with pytest.raises(ScenarioFileError, match="aliases"):
        scenario_file.parse_scenario("\n".join(lines) + "\n")


def test_large_amounts_round_trip_to_the_cent(sample_text: str) -> None:
    document = yaml.safe_load(sample_text)
    document["orders"][0]["price_per_batch"] = "999999999999.99"
    text = scenario_file.dump_scenario(scenario_file.parse_scenario(yaml.safe_dump(document, sort_keys=False)))
    assert "price_per_batch: 999999999999.99" in text
    assert scenario_file.dump_scenario(scenario_file.parse_scenario(text)) == text
