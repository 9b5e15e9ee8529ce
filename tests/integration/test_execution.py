"""Master batch records and batch execution through the services, on SQLite and PostgreSQL: drafting and
approving by signature, starting a batch record, recording in step order, out-of-specification values opening
deviations, corrections, second-person verification, completion, and who may read what.

The helpers at the top (:func:`prepare`, :data:`STEPS_YAML`...) are shared with the e2e and browser tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from opencdmo import domain
from opencdmo.adapters import scenario_file
from opencdmo.adapters.repositories import Scope
from opencdmo.bootstrap import App
from opencdmo.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorized
from opencdmo.services import accounts, audit, batch_records, master_records, scenarios, training
from opencdmo.services.signatures import Credentials

PASSWORD = "correct horse battery staple"
PROCESS = "mAb fed-batch 2000 L"
PROCEDURE = "MBR-MAB-2000"
LOT = "NWB101-27-002"  # scheduled, Northwind's
HELIX_LOT = "HXV7-27-002"  # planned, Helix's, same process
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
    - {name: volume, unit: L, low: 1800, high: 2100}
- title: Harvest
  instructions: Harvest the culture.
  parameters:
    - {name: harvested, kind: check}
"""
STAFF = {
    "qa1": domain.Role.QA,
    "qa2": domain.Role.QA,
    "op1": domain.Role.OPERATOR,
    "op2": domain.Role.OPERATOR,
    "ana": domain.Role.PLANNER,
}
AT = datetime(2027, 3, 1, 8, tzinfo=UTC)


@dataclass
class Clock:
    """A clock the test moves."""

    at: datetime = AT

    def __call__(self) -> datetime:
        return self.at

    def tick(self, minutes: int = 1) -> datetime:
        self.at += timedelta(minutes=minutes)
        return self.at


def sign_as(username: str) -> Credentials:
    return Credentials(password=PASSWORD, username=username)


def add_staff(app: App, clock: Clock | None = None, users: dict[str, domain.Role] = STAFF) -> None:
    """The staff users, each trained on :data:`PROCEDURE` (and the planner on it too, to test roles)."""
    now: Callable[[], datetime] = clock or audit.utcnow
    today = now().date()
    for username, role in users.items():
        accounts.add_user(app.unit_of_work(), username, role, password=PASSWORD, now=now)
        training.grant(
            app.unit_of_work(),
            username,
            PROCEDURE,
            trained_on=today - timedelta(days=30),
            valid_until=today + timedelta(days=365),
            actor="qa1",
            now=now,
        )


def approved_master(app: App, clock: Clock | None = None) -> domain.MasterBatchRecord:
    """Version 1 of :data:`PROCESS`'s master record, drafted by qa1 and approved by qa2."""
    now: Callable[[], datetime] = clock or audit.utcnow
    master_records.draft(
        app.unit_of_work(),
        PROCESS,
        procedure=PROCEDURE,
        title="mAb fed-batch",
        steps=master_records.steps_from_yaml(STEPS_YAML),
        actor="qa1",
        now=now,
    )
    return master_records.approve(app.unit_of_work(), PROCESS, 1, signer="qa2", credentials=sign_as("qa2"), now=now)


def prepare(app: App, sample_text: str, clock: Clock | None = None) -> None:
    """The sample network, the staff, an approved master record of :data:`PROCESS`."""
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    add_staff(app, clock)
    approved_master(app, clock)


def do_step_one(app: App, lot: str, clock: Clock | None = None, by: str = "op1") -> None:
    now: Callable[[], datetime] = clock or audit.utcnow
    batch_records.record(app.unit_of_work(), lot, 1, "vial id", "WCB-0042", actor=by, now=now)
    batch_records.record(app.unit_of_work(), lot, 1, "thawed", "yes", actor=by, now=now)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ready(app: App, sample_text: str, clock: Clock) -> App:
    prepare(app, sample_text, clock)
    return app


def _scope_of(app: App, sponsor: str) -> Scope:
    with app.unit_of_work() as uow:
        found = uow.sponsors.get(sponsor)
    assert found is not None
    return Scope(sponsor_id=found.id)


def _events(app: App, record_id: str) -> list[tuple[str, str, str | None, str | None, str | None, str | None]]:
    found = audit.search(app.unit_of_work(), audit.AuditQuery(record_id=record_id))
    return [(e.username, e.action, e.field, e.old_value, e.new_value, e.reason) for e in found]


# Master batch records ------------------------------------------------------------------------------------------


def test_a_draft_is_approved_by_signature_and_supersedes_the_approved_version(ready: App, clock: Clock) -> None:
    view = master_records.get(ready.unit_of_work(), PROCESS, 1)
    assert view.record.status is domain.MasterRecordStatus.APPROVED
    assert view.approval is not None
    assert (view.approval.username, view.approval.meaning.value, view.approval.intact) == ("qa2", "approved", True)
    assert [step.title for step in view.record.steps] == ["Thaw", "Inoculate", "Harvest"]

    clock.tick()
    second = master_records.draft(
        ready.unit_of_work(), PROCESS, procedure=PROCEDURE, title="mAb fed-batch", steps=None, actor="qa2", now=clock
    )
    assert (second.version, second.status, second.steps) == (2, domain.MasterRecordStatus.DRAFT, view.record.steps)
    with pytest.raises(Conflict, match="already has a draft, v2"):
        master_records.draft(
            ready.unit_of_work(), PROCESS, procedure=PROCEDURE, title="x", steps=None, actor="qa1", now=clock
        )
    master_records.approve(ready.unit_of_work(), PROCESS, 2, signer="qa1", credentials=sign_as("qa1"), now=clock)

    versions = master_records.versions(ready.unit_of_work(), PROCESS)
    assert [(item.record.version, item.record.status.value) for item in versions] == [
        (1, "superseded"),
        (2, "approved"),
    ]
    assert all(item.approval is not None and item.approval.intact for item in versions)
    assert ("qa1", "change", "status", '"approved"', '"superseded"', "superseded by v2") in _events(
        ready, f"{PROCESS}/v1"
    )
    with ready.unit_of_work() as uow:
        approved = uow.master_records.approved(PROCESS)
        assert approved is not None
        assert approved.version == 2


def test_the_author_cannot_approve_their_own_master_record(ready: App, clock: Clock) -> None:
    master_records.draft(
        ready.unit_of_work(), PROCESS, procedure=PROCEDURE, title="t", steps=None, actor="qa1", now=clock
    )
    with pytest.raises(Forbidden, match="the author cannot approve their own master record"):
        master_records.approve(ready.unit_of_work(), PROCESS, 2, signer="qa1", credentials=sign_as("qa1"), now=clock)
    assert master_records.get(ready.unit_of_work(), PROCESS, 2).record.is_draft


def test_approval_needs_the_quality_role_training_and_the_right_password(ready: App, clock: Clock) -> None:
    master_records.draft(
        ready.unit_of_work(), PROCESS, procedure="MBR-OTHER", title="t", steps=None, actor="qa1", now=clock
    )
    with pytest.raises(Forbidden, match="may not approve"):
        master_records.approve(ready.unit_of_work(), PROCESS, 2, signer="op1", credentials=sign_as("op1"), now=clock)
    with pytest.raises(Forbidden, match="qa2 has no training on MBR-OTHER"):
        master_records.approve(ready.unit_of_work(), PROCESS, 2, signer="qa2", credentials=sign_as("qa2"), now=clock)
    wrong = Credentials(password="wrong password", username="qa2")
    with pytest.raises(Unauthorized):
        master_records.approve(ready.unit_of_work(), PROCESS, 2, signer="qa2", credentials=wrong, now=clock)
    view = master_records.get(ready.unit_of_work(), PROCESS, 2)
    assert view.record.is_draft
    assert view.signatures == []


def test_a_draft_changes_audited_and_an_approved_version_never(ready: App, clock: Clock) -> None:
    master_records.draft(
        ready.unit_of_work(), PROCESS, procedure=PROCEDURE, title="old", steps=None, actor="qa1", now=clock
    )
    steps = master_records.steps_from_yaml(STEPS_YAML.replace("high: 7.2", "high: 7.4"))
    changed = master_records.update_draft(
        ready.unit_of_work(),
        PROCESS,
        2,
        master_records.DraftChanges(title="new", steps=steps),
        actor="qa1",
        now=clock,
    )
    assert changed.title == "new"
    assert changed.steps[1].parameters[0].high == 7.4
    fields = [event[2] for event in _events(ready, f"{PROCESS}/v2") if event[1] == "change"]
    assert fields == ["title", "steps"]
    with pytest.raises(DomainError, match="approved and can no longer change"):
        master_records.update_draft(
            ready.unit_of_work(), PROCESS, 1, master_records.DraftChanges(title="x"), actor="qa1", now=clock
        )
    with pytest.raises(DomainError, match="must be 2 to 60 upper-case"):
        master_records.update_draft(
            ready.unit_of_work(), PROCESS, 2, master_records.DraftChanges(procedure="lower"), actor="qa1", now=clock
        )
    assert master_records.get(ready.unit_of_work(), PROCESS, 2).record.procedure == PROCEDURE


def test_master_records_are_for_staff_only(ready: App) -> None:
    with pytest.raises(Forbidden):
        master_records.list_records(ready.unit_of_work(_scope_of(ready, "Northwind Biologics")))


# Executing a batch ---------------------------------------------------------------------------------------------


def test_a_batch_record_runs_in_step_order_and_completes(ready: App, clock: Clock) -> None:
    record = batch_records.start(ready.unit_of_work(), LOT, actor="op1", now=clock)
    assert record.master.record_id == f"{PROCESS}/v1"
    assert ready.unit_of_work() is not None
    with pytest.raises(DomainError, match="step 2 cannot be recorded before step 1 is complete"):
        batch_records.record(ready.unit_of_work(), LOT, 2, "pH", "7.0", actor="op1", now=clock)
    do_step_one(ready, LOT, clock)
    with pytest.raises(DomainError, match="already recorded: correct it with a reason"):
        batch_records.record(ready.unit_of_work(), LOT, 1, "thawed", "yes", actor="op1", now=clock)
    done = batch_records.record(ready.unit_of_work(), LOT, 2, "pH", "7.0", actor="op1", now=clock)
    assert done.deviation is None
    batch_records.record(ready.unit_of_work(), LOT, 2, "volume", "2000", actor="op1", now=clock)
    with pytest.raises(DomainError, match="still missing: verification of pH"):
        batch_records.record(ready.unit_of_work(), LOT, 3, "harvested", "yes", actor="op1", now=clock)
    with pytest.raises(DomainError, match="a second person verifies"):
        batch_records.verify(ready.unit_of_work(), LOT, _id(done), signer="op1", credentials=sign_as("op1"), now=clock)
    batch_records.verify(ready.unit_of_work(), LOT, _id(done), signer="op2", credentials=sign_as("op2"), now=clock)
    batch_records.record(ready.unit_of_work(), LOT, 3, "harvested", "yes", actor="op1", now=clock)
    batch_records.complete(ready.unit_of_work(), LOT, actor="op1", now=clock)

    view = batch_records.get(ready.unit_of_work(), LOT)
    assert (view.status, view.batch_status, view.next_step) == ("complete", domain.BatchStatus.IN_QC, None)
    [ph] = [entry for entry in view.entries if entry.parameter == "pH"]
    assert ph.verification is not None
    assert (ph.verification.username, ph.verification.meaning.value, ph.verification.intact) == (
        "op2",
        "verified",
        True,
    )
    statuses = [(old, new) for _, action, field, old, new, _ in _events(ready, LOT) if field == "status"]
    assert statuses == [
        ('"scheduled"', '"in-progress"'),
        ('"in-progress"', '"completed"'),
        ('"completed"', '"in-qc"'),
        ('"in-progress"', '"complete"'),
    ]
    with pytest.raises(DomainError, match="complete and closed"):
        batch_records.record(ready.unit_of_work(), LOT, 3, "harvested", "no", actor="op1", now=clock)


def _id(recorded: batch_records.Recorded) -> int:
    assert recorded.entry.id is not None
    return recorded.entry.id


def test_starting_needs_an_approved_master_and_training(app: App, sample_text: str, clock: Clock) -> None:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    add_staff(app, clock)
    with pytest.raises(DomainError, match="has no approved master batch record"):
        batch_records.start(app.unit_of_work(), LOT, actor="op1", now=clock)
    approved_master(app, clock)
    accounts.add_user(app.unit_of_work(), "newbie", domain.Role.OPERATOR, password=PASSWORD, now=clock)
    with pytest.raises(Forbidden, match="newbie has no training on MBR-MAB-2000"):
        batch_records.start(app.unit_of_work(), LOT, actor="newbie", now=clock)
    with pytest.raises(NotFound):
        batch_records.start(app.unit_of_work(), "NO-SUCH-LOT", actor="op1", now=clock)
    batch_records.start(app.unit_of_work(), "NWB101-27-003", actor="op1", now=clock)  # planned: scheduled, started
    assert batch_records.get(app.unit_of_work(), "NWB101-27-003").batch_status is domain.BatchStatus.IN_PROGRESS
    with pytest.raises(Conflict, match="already has a batch record"):
        batch_records.start(app.unit_of_work(), "NWB101-27-003", actor="op1", now=clock)
    with pytest.raises(DomainError, match="cannot go from 'cancelled'"):
        batch_records.start(app.unit_of_work(), "HXV7-27-001", actor="op1", now=clock)


def test_an_expired_training_stops_the_operator(ready: App, clock: Clock) -> None:
    batch_records.start(ready.unit_of_work(), LOT, actor="op1", now=clock)
    clock.at += timedelta(days=400)
    with pytest.raises(Forbidden, match="op1's training on MBR-MAB-2000 expired"):
        batch_records.record(ready.unit_of_work(), LOT, 1, "vial id", "WCB-1", actor="op1", now=clock)


def test_an_out_of_spec_value_opens_a_deviation_in_the_same_transaction(ready: App, clock: Clock) -> None:
    batch_records.start(ready.unit_of_work(), LOT, actor="op1", now=clock)
    do_step_one(ready, LOT, clock)
    clock.tick()
    recorded = batch_records.record(ready.unit_of_work(), LOT, 2, "pH", "7.5", actor="op1", now=clock)
    assert recorded.entry.in_spec is False
    assert recorded.deviation == "DEV-2027-0001"
    minor = batch_records.record(ready.unit_of_work(), LOT, 2, "volume", "1700", actor="op1", now=clock)
    assert minor.deviation == "DEV-2027-0002"
    with ready.unit_of_work() as uow:
        found = {d.number: d for d in uow.deviations.list(lot_number=LOT)}
    major = found["DEV-2027-0001"]
    assert (major.severity, major.title, major.source) == (
        domain.Severity.MAJOR,
        "pH out of specification at step 2",
        "step 2 / pH",
    )
    assert "7.5 pH" in major.description
    assert "6.8 - 7.2 pH" in major.description
    assert found["DEV-2027-0002"].severity is domain.Severity.MINOR
    view = batch_records.get(ready.unit_of_work(), LOT)
    assert {entry.parameter: entry.deviation for entry in view.entries if entry.step == 2} == {
        "pH": "DEV-2027-0001",
        "volume": "DEV-2027-0002",
    }


def test_a_refused_value_stores_nothing(ready: App, clock: Clock) -> None:
    batch_records.start(ready.unit_of_work(), LOT, actor="op1", now=clock)
    do_step_one(ready, LOT, clock)
    with pytest.raises(DomainError, match="'seven' is not a number"):
        batch_records.record(ready.unit_of_work(), LOT, 2, "pH", "seven", actor="op1", now=clock)
    with pytest.raises(DomainError, match="records no 'colour'"):
        batch_records.record(ready.unit_of_work(), LOT, 2, "colour", "red", actor="op1", now=clock)
    view = batch_records.get(ready.unit_of_work(), LOT)
    assert len(view.entries) == 2
    assert view.next_step == 2


def test_a_correction_keeps_the_original_and_restarts_verification(ready: App, clock: Clock) -> None:
    batch_records.start(ready.unit_of_work(), LOT, actor="op1", now=clock)
    do_step_one(ready, LOT, clock)
    original = batch_records.record(ready.unit_of_work(), LOT, 2, "pH", "7.1", actor="op1", now=clock)
    batch_records.verify(ready.unit_of_work(), LOT, _id(original), signer="op2", credentials=sign_as("op2"), now=clock)
    with pytest.raises(DomainError, match="reason"):
        batch_records.correct(ready.unit_of_work(), LOT, _id(original), "7.0", reason=" ", actor="op1", now=clock)
    clock.tick()
    corrected = batch_records.correct(
        ready.unit_of_work(), LOT, _id(original), "7.0", reason="transcription error", actor="op1", now=clock
    )
    assert corrected.deviation is None
    with pytest.raises(DomainError, match="already corrected"):
        batch_records.correct(ready.unit_of_work(), LOT, _id(original), "6.9", reason="again", actor="op1", now=clock)

    view = batch_records.get(ready.unit_of_work(), LOT)
    [step] = [step for step in view.steps if step.position == 2]
    [ph] = [parameter for parameter in step.parameters if parameter.name == "pH"]
    assert [(e.value, e.superseded, e.reason) for e in ph.history] == [
        ("7.1", True, None),
        ("7", False, "transcription error"),  # numbers are stored as people write them
    ]
    assert ph.current is not None
    assert ph.current.corrects == _id(original)
    assert ph.current.awaiting_verification
    assert ph.history[0].verification is not None  # the original's signature stays, intact
    assert ph.history[0].verification.intact
    assert "verification of pH" in step.missing
    assert ("op1", "correct", "value", '"7.1"', '"7"', "transcription error") in _events(ready, f"{LOT}/step-2/pH")


def test_the_verifier_needs_a_role_that_may_verify(ready: App, clock: Clock) -> None:
    batch_records.start(ready.unit_of_work(), LOT, actor="op1", now=clock)
    do_step_one(ready, LOT, clock)
    ph = batch_records.record(ready.unit_of_work(), LOT, 2, "pH", "7.1", actor="op1", now=clock)
    with pytest.raises(Forbidden, match="may not verify"):
        batch_records.verify(ready.unit_of_work(), LOT, _id(ph), signer="ana", credentials=sign_as("ana"), now=clock)
    with pytest.raises(Forbidden, match="nobody can sign for another user"):
        batch_records.verify(ready.unit_of_work(), LOT, _id(ph), signer="qa1", credentials=sign_as("op2"), now=clock)
    batch_records.verify(ready.unit_of_work(), LOT, _id(ph), signer="qa1", credentials=sign_as("qa1"), now=clock)
    assert batch_records.get(ready.unit_of_work(), LOT).steps[1].missing == ["volume"]


def test_completing_an_unfinished_record_is_refused(ready: App, clock: Clock) -> None:
    batch_records.start(ready.unit_of_work(), LOT, actor="op1", now=clock)
    with pytest.raises(DomainError, match="step 1 still lacks vial id, thawed"):
        batch_records.complete(ready.unit_of_work(), LOT, actor="op1", now=clock)
    assert batch_records.get(ready.unit_of_work(), LOT).batch_status is domain.BatchStatus.IN_PROGRESS


def test_a_sponsor_reads_only_its_own_released_batch_records(ready: App, clock: Clock) -> None:
    batch_records.start(ready.unit_of_work(), LOT, actor="op1", now=clock)
    batch_records.start(ready.unit_of_work(), HELIX_LOT, actor="op1", now=clock)
    northwind = ready.unit_of_work(_scope_of(ready, "Northwind Biologics"))
    helix = _scope_of(ready, "Helix Vaccines")
    with pytest.raises(NotFound):
        batch_records.get(northwind, LOT)  # its own, not released
    with pytest.raises(NotFound):
        batch_records.get(ready.unit_of_work(helix), LOT)  # another sponsor's
    assert batch_records.list_records(ready.unit_of_work(helix)) == []
    with pytest.raises(Forbidden):
        batch_records.record(ready.unit_of_work(helix), HELIX_LOT, 1, "vial id", "x", actor="op1", now=clock)
    with ready.unit_of_work() as uow:
        batch = uow.batches.get(LOT)
        assert batch is not None
        batch.status = domain.BatchStatus.RELEASED
        uow.commit()
    assert batch_records.get(ready.unit_of_work(_scope_of(ready, "Northwind Biologics")), LOT).started
    lots = [
        line.lot_number
        for line in batch_records.list_records(ready.unit_of_work(_scope_of(ready, "Northwind Biologics")))
    ]
    assert lots == [LOT]
    assert {line.lot_number for line in batch_records.list_records(ready.unit_of_work())} == {LOT, HELIX_LOT}


def test_a_batch_without_a_record_shows_the_master_a_start_would_use(ready: App) -> None:
    view = batch_records.get(ready.unit_of_work(), LOT)
    assert (view.status, view.started, view.approved_master) == ("not-started", False, f"{PROCESS}/v1")


def test_every_write_is_in_the_audit_trail_of_the_batch(ready: App, clock: Clock) -> None:
    batch_records.start(ready.unit_of_work(), LOT, actor="op1", now=clock)
    do_step_one(ready, LOT, clock)
    ph = batch_records.record(ready.unit_of_work(), LOT, 2, "pH", "7.5", actor="op1", now=clock)
    batch_records.correct(ready.unit_of_work(), LOT, _id(ph), "7.1", reason="probe drift", actor="op1", now=clock)
    corrected = batch_records.get(ready.unit_of_work(), LOT).steps[1].parameters[0].current
    assert corrected is not None
    batch_records.verify(ready.unit_of_work(), LOT, corrected.id, signer="qa1", credentials=sign_as("qa1"), now=clock)
    with ready.unit_of_work() as uow:
        events = [
            event for event in uow.audit.events() if event.record_id == LOT or event.record_id.startswith(f"{LOT}/")
        ]
    assert [(event.action, event.record_type) for event in events] == [
        ("change", "batch"),
        ("create", "batch-record"),
        ("create", "step-entry"),
        ("create", "step-entry"),
        ("create", "step-entry"),
        ("create", "deviation"),
        ("correct", "step-entry"),
        ("verify", "step-entry"),
        ("sign", "step-entry"),
    ]
    assert audit.verify(ready.unit_of_work()).first_break is None


def test_dates_use_the_injected_clock(ready: App, clock: Clock) -> None:
    clock.at = datetime(2027, 5, 4, 10, 30, tzinfo=UTC)
    record = batch_records.start(ready.unit_of_work(), LOT, actor="op1", now=clock)
    assert record.started_at == clock.at
    assert clock.at.date() > date(2027, 3, 1)
