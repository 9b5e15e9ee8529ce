"""Executed batch records: the domain's rules of execution (step order, corrections, second-person verification,
completion)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opencdmo import domain
from opencdmo.domain.batch_records import BatchRecord, BatchRecordStatus
from opencdmo.domain.master_records import MasterBatchRecord
from opencdmo.errors import DomainError
from opencdmo.services import master_records
from tests import factories
from tests.unit.test_master_records import STEPS_YAML

AT = datetime(2027, 3, 1, 8, tzinfo=UTC)


def _record(approved: bool = True) -> BatchRecord:
    master = MasterBatchRecord(
        process=factories.process(),
        version=1,
        procedure="MBR-MAB-2000",
        title="mAb fed-batch",
        created_by="qa1",
        created_at=AT,
        steps=master_records.steps_from_yaml(STEPS_YAML),
    )
    if approved:
        master.approve(AT)
    batch = factories.order().add_batch("PO-1-001", domain.BatchStatus.IN_PROGRESS)
    return BatchRecord(batch=batch, master=master, started_by="op1", started_at=AT)


def _step_one(record: BatchRecord) -> None:
    record.record(1, "vial id", "WCB-0042", by="op1", at=AT)
    record.record(1, "thawed", "yes", by="op1", at=AT)


def test_a_batch_starts_only_on_an_approved_master() -> None:
    with pytest.raises(DomainError, match="a batch starts only on an approved version"):
        _record(approved=False)


def test_steps_are_recorded_in_order() -> None:
    record = _record()
    assert record.next_step == 1
    with pytest.raises(
        DomainError, match=r"step 2 cannot be recorded before step 1 is complete \(still missing: vial id, thawed\)"
    ):
        record.record(2, "pH", "7.0", by="op1", at=AT)
    record.record(1, "vial id", "WCB-0042", by="op1", at=AT)
    assert record.missing(1) == ["thawed"]
    record.record(1, "thawed", "yes", by="op1", at=AT)
    assert (record.is_step_complete(1), record.next_step) == (True, 2)
    with pytest.raises(DomainError, match="already recorded: correct it with a reason"):
        record.record(1, "thawed", "no", by="op1", at=AT)
    with pytest.raises(DomainError, match="has no step 9"):
        record.record(9, "x", "1", by="op1", at=AT)
    with pytest.raises(DomainError, match="records no 'colour'"):
        record.record(1, "colour", "red", by="op1", at=AT)


def test_a_value_needing_verification_holds_its_step_open_until_a_second_person_verifies() -> None:
    record = _record()
    _step_one(record)
    ph = record.record(2, "pH", "7.1", by="op1", at=AT)
    record.record(2, "volume", "1900", by="op1", at=AT)
    assert record.missing(2) == ["verification of pH"]
    with pytest.raises(DomainError, match="op1 recorded this value and cannot verify it"):
        record.verify(ph, by="op1", at=AT)
    volume = record.current(2, "volume")
    assert volume is not None
    with pytest.raises(DomainError, match="needs no second-person verification"):
        record.verify(volume, by="op2", at=AT)
    record.verify(ph, by="op2", at=AT + timedelta(minutes=5))
    assert (ph.verified_by, record.next_step) == ("op2", None)
    with pytest.raises(DomainError, match="already verified by op2"):
        record.verify(ph, by="qa1", at=AT)


def test_out_of_spec_values_are_marked() -> None:
    record = _record()
    _step_one(record)
    high = record.record(2, "pH", "7.5", by="op1", at=AT)
    low = record.record(2, "volume", "100", by="op1", at=AT)
    assert (high.in_spec, low.in_spec) == (False, False)
    assert record.out_of_spec == [high, low]
    text = record.current(1, "vial id")
    assert text is not None
    assert text.in_spec is None


def test_a_correction_keeps_the_original_superseded_and_restarts_verification() -> None:
    record = _record()
    _step_one(record)
    original = record.record(2, "pH", "7.5", by="op1", at=AT)
    record.verify(original, by="op2", at=AT)
    with pytest.raises(DomainError, match="reason"):
        record.correct(2, "pH", "7.1", reason="", by="op1", at=AT)
    with pytest.raises(DomainError, match="has not been recorded yet"):
        record.correct(2, "volume", "1900", reason="typo", by="op1", at=AT)
    correction = record.correct(2, "pH", "7.1", reason="transcription error", by="op1", at=AT)
    assert original.superseded
    assert not correction.superseded
    assert correction.corrects is original
    assert (correction.is_correction, correction.reason, correction.in_spec) == (True, "transcription error", True)
    assert record.current(2, "pH") is correction
    assert record.entries.count(original) == 1  # the original stays in the record
    assert record.corrections == [correction]
    assert record.out_of_spec == []
    assert "verification of pH" in record.missing(2)
    with pytest.raises(DomainError, match="verify the correction"):
        record.verify(original, by="qa1", at=AT)


def test_completion_needs_every_step_done_and_closes_the_record() -> None:
    record = _record()
    with pytest.raises(DomainError, match="step 1 still lacks vial id, thawed"):
        record.complete(AT)
    _step_one(record)
    ph = record.record(2, "pH", "7.0", by="op1", at=AT)
    record.record(2, "volume", "1900", by="op1", at=AT)
    record.verify(ph, by="op2", at=AT)
    record.complete(AT)
    assert (record.status, record.completed_at) == (BatchRecordStatus.COMPLETE, AT)
    with pytest.raises(DomainError, match="complete and closed"):
        record.correct(2, "volume", "1950", reason="late", by="op1", at=AT)


def test_the_verified_content_names_the_value_and_who_recorded_it() -> None:
    record = _record()
    entry = record.record(1, "vial id", "WCB-0042", by="op1", at=AT)
    assert entry.content("PO-1-001") == {
        "lot": "PO-1-001",
        "step": 1,
        "parameter": "vial id",
        "value": "WCB-0042",
        "recorded_by": "op1",
        "recorded_at": AT.isoformat(),
        "corrects": None,
        "reason": None,
    }
