"""Master batch records, their steps and parameters: the domain's rules, and steps read from YAML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opencdmo import domain
from opencdmo.domain.master_records import MasterBatchRecord, MasterStep, Parameter, ParameterKind
from opencdmo.errors import DomainError
from opencdmo.services import master_records
from tests import factories

AT = datetime(2027, 3, 1, 8, tzinfo=UTC)
STEPS_YAML = """\
- title: Thaw
  instructions: Thaw the working cell bank vial.
  parameters:
    - {name: vial id, kind: text}
    - {name: thawed, kind: check}
- title: Inoculate
  instructions: Inoculate the bioreactor and check the pH.
  parameters:
    - {name: pH, unit: pH, low: 6.8, high: 7.2, critical: true}
    - {name: volume, unit: L, low: 1800}
"""


def _master(**overrides: object) -> MasterBatchRecord:
    fields: dict[str, object] = {
        "process": factories.process(),
        "version": 1,
        "procedure": "MBR-MAB-2000",
        "title": "mAb fed-batch",
        "created_by": "qa1",
        "created_at": AT,
        "steps": master_records.steps_from_yaml(STEPS_YAML),
    }
    fields.update(overrides)
    return MasterBatchRecord(**fields)  # type: ignore[arg-type]


def test_a_number_is_in_spec_within_its_limits_and_stored_as_written() -> None:
    ph = Parameter("pH", unit="pH", low=6.8, high=7.2)
    assert ph.normalise("7,0") == "7"
    assert [ph.in_spec(value) for value in ("6.8", "7.2", "7.21", "6.7")] == [True, True, False, False]
    assert ph.spec == "6.8 - 7.2 pH"
    assert Parameter("yield", unit="%", low=90).spec == ">= 90 %"
    with pytest.raises(DomainError, match="'seven' is not a number"):
        ph.normalise("seven")
    with pytest.raises(DomainError, match="finite"):
        ph.normalise("nan")


def test_a_check_is_answered_yes_or_no_and_text_has_no_spec() -> None:
    done = Parameter("done", ParameterKind.CHECK)
    assert (done.normalise("Y"), done.normalise("false")) == ("yes", "no")
    assert (done.in_spec("yes"), done.in_spec("no")) == (True, False)
    with pytest.raises(DomainError, match="answer yes or no"):
        done.normalise("maybe")
    note = Parameter("note", ParameterKind.TEXT)
    assert note.in_spec(note.normalise("all fine")) is None


def test_parameter_rules() -> None:
    with pytest.raises(DomainError, match="lower limit must not be above"):
        Parameter("pH", low=8, high=7)
    with pytest.raises(DomainError, match="only a number has a unit and limits"):
        Parameter("done", ParameterKind.CHECK, unit="x")
    assert Parameter("pH", critical=True).needs_verification
    assert Parameter("pH", verify=True).needs_verification
    assert not Parameter("pH").needs_verification


def test_steps_are_numbered_in_order_and_name_each_value_once() -> None:
    ph = Parameter("pH")
    with pytest.raises(DomainError, match="step 2 is numbered 3"):
        _master(steps=[MasterStep(1, "a", "b", (ph,)), MasterStep(3, "c", "d", (ph,))])
    with pytest.raises(DomainError, match="names pH twice"):
        MasterStep(1, "a", "b", (ph, ph))
    with pytest.raises(DomainError, match="records no value"):
        MasterStep(1, "a", "b", ())


def test_a_draft_is_approved_once_then_never_changes_and_is_superseded() -> None:
    master = _master()
    assert master.record_id == "mAb 2000 L/v1"
    with pytest.raises(DomainError, match="without steps cannot be approved"):
        _master(steps=[]).approve(AT)
    with pytest.raises(DomainError, match="only an approved version is superseded"):
        master.supersede()
    master.approve(AT)
    assert (master.status, master.approved_at) == (domain.MasterRecordStatus.APPROVED, AT)
    with pytest.raises(DomainError, match="can no longer change: write a new version"):
        master.replace_steps([])
    with pytest.raises(DomainError, match="can no longer change"):
        master.approve(AT)
    master.supersede()
    assert master.status is domain.MasterRecordStatus.SUPERSEDED


def test_the_signed_content_covers_every_instruction() -> None:
    master = _master()
    before = master.content()
    master.replace_steps(master_records.steps_from_yaml(STEPS_YAML.replace("high: 7.2", "high: 7.3")))
    assert master.content() != before
    assert master.content()["steps"][1]["parameters"][0]["high"] == 7.3


def test_a_procedure_code_is_upper_case() -> None:
    with pytest.raises(DomainError, match="upper-case"):
        _master(procedure="mbr lower")


def test_steps_from_yaml_round_trip_and_name_the_place_at_fault() -> None:
    steps = master_records.steps_from_yaml(STEPS_YAML)
    assert [step.position for step in steps] == [1, 2]
    assert steps[1].parameters[0] == Parameter("pH", unit="pH", low=6.8, high=7.2, critical=True)
    assert master_records.steps_from_yaml(master_records.steps_to_yaml(steps)) == steps
    assert (
        master_records.steps_from_yaml("steps:\n" + "\n".join("  " + line for line in STEPS_YAML.splitlines())) == steps
    )
    assert master_records.steps_from_yaml("") == []
    cases = {
        STEPS_YAML.replace("low: 6.8", "low: 7.8"): r"step 2, parameter 'pH': .*lower limit must not be above",
        STEPS_YAML.replace("kind: check}", "kind: check, colour: red}"): r"step 1, parameter 'thawed': unknown key",
        STEPS_YAML.replace("kind: text", "kind: photo"): r"step 1, parameter 'vial id': kind must be one of",
        STEPS_YAML.replace("critical: true", "critical: 'yes'"): r"parameter 'pH': critical is true or false",
        STEPS_YAML.replace("  instructions: Thaw the working cell bank vial.\n", ""): r"step 1: .*instructions",
        "- title: [\n  x: y": r"line 2",
        "just text": r"expected a list of steps",
        "- {title: a, instructions: b, parameters: []}": r"step 1: parameters must be a list",
        "- {title: a, instructions: b, parameters: [{name: x}], position: 4}": r"step 1: is numbered 4",
    }
    for text, message in cases.items():
        with pytest.raises(DomainError, match=message) as refused:
            master_records.steps_from_yaml(text)
        assert refused.value.field == "steps"
