"""Training records (P11-09) in the domain and the training service, and the checked import's fingerprints (A11-01),
without a database."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pytest

from opencdmo import domain
from opencdmo.adapters import scenario_file
from opencdmo.domain.training import TrainingRecord, TrainingStatus, add_months, latest, procedure_code
from opencdmo.errors import Conflict, DomainError, Forbidden, InputError, NotFound
from opencdmo.services import scenarios, training
from tests import factories
from tests.conftest import SAMPLE_SCENARIO
from tests.fakes import FakeTrainingUnitOfWork

NOW = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


def _clock() -> datetime:
    return NOW


def user(username: str = "op.jones", role: domain.Role = domain.Role.OPERATOR, **overrides: Any) -> domain.User:
    return domain.User(username=username, role=role, password_hash="x", created_at=NOW, **overrides)


def record(trained_on: date, valid_until: date, *, procedure: str = "MBR-MAB-DS", **overrides: Any) -> TrainingRecord:
    fields: dict[str, Any] = {"user": user(), "recorded_by": "qa.lead", "recorded_at": NOW}
    fields.update(overrides)
    return TrainingRecord(procedure=procedure, trained_on=trained_on, valid_until=valid_until, **fields)


# The domain ------------------------------------------------------------------------------------------------------


def test_a_training_is_current_from_its_day_up_to_but_not_on_its_expiry() -> None:
    held = record(date(2027, 1, 10), date(2027, 7, 10))
    assert not held.is_current(date(2027, 1, 9))
    assert held.is_current(date(2027, 1, 10))
    assert held.is_current(date(2027, 7, 9))
    assert not held.is_current(date(2027, 7, 10))
    assert held.status(date(2027, 1, 9)) is TrainingStatus.NOT_YET
    assert held.status(date(2027, 6, 9)) is TrainingStatus.CURRENT
    assert held.status(date(2027, 6, 10)) is TrainingStatus.EXPIRING
    assert held.status(date(2027, 7, 10)) is TrainingStatus.EXPIRED


@pytest.mark.parametrize(
    ("code", "accepted"),
    [
        ("MBR-MAB-DS", True),
        ("QCM-HPLC-ASSAY", True),
        ("SOP_12.3", True),
        ("A1", True),
        ("X" * 60, True),
        ("X" * 61, False),
        ("A", False),
        ("mbr-mab-ds", False),
        ("-MBR", False),
        ("MBR MAB", False),
        (" MBR", False),
        ("", False),
    ],
)
def test_procedure_codes(code: str, accepted: bool) -> None:
    if accepted:
        assert procedure_code(code) == code
    else:
        with pytest.raises(DomainError) as refused:
            procedure_code(code)
        assert refused.value.field == "procedure"


def test_a_record_refuses_bad_dates_and_sponsor_users() -> None:
    with pytest.raises(DomainError) as backwards:
        record(date(2027, 3, 1), date(2027, 3, 1))
    assert backwards.value.field == "valid_until"
    with pytest.raises(DomainError) as moment:
        record(datetime(2027, 3, 1, tzinfo=UTC), date(2027, 4, 1))
    assert moment.value.field == "trained_on"
    with pytest.raises(DomainError, match="at most 10 years"):
        record(date(2027, 3, 1), date(2037, 3, 2))
    assert record(date(2027, 3, 1), date(2037, 3, 1)).valid_until == date(2037, 3, 1)
    sponsor_user = user("hx", domain.Role.SPONSOR, sponsor=factories.sponsor())
    with pytest.raises(DomainError, match="only CDMO staff") as sponsor:
        record(date(2027, 3, 1), date(2028, 3, 1), user=sponsor_user)
    assert sponsor.value.field == "user"
    with pytest.raises(DomainError) as naive:
        record(date(2027, 3, 1), date(2028, 3, 1), recorded_at=datetime(2027, 3, 1))
    assert naive.value.field == "recorded_at"


def test_add_months_keeps_the_day_or_takes_the_end_of_a_shorter_month() -> None:
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2027, 11, 15), 3) == date(2028, 2, 15)
    assert add_months(date(2027, 3, 1), 0) == date(2027, 3, 1)
    with pytest.raises(ValueError, match="after the year 9999"):
        add_months(date(9999, 12, 1), 1)


def test_the_record_that_counts_has_the_latest_validity() -> None:
    first = record(date(2026, 1, 1), date(2027, 1, 1))
    retrained = record(date(2026, 12, 1), date(2027, 12, 1))
    assert latest([retrained, first]) is retrained
    assert latest([]) is None


# The service -----------------------------------------------------------------------------------------------------


@pytest.fixture
def uow() -> FakeTrainingUnitOfWork:
    fake = FakeTrainingUnitOfWork()
    fake.users.add(user())
    fake.users.add(user("qc.kim", domain.Role.QC_ANALYST))
    fake.users.add(user("hx", domain.Role.SPONSOR, sponsor=factories.sponsor()))
    gone = user("old.timer")
    gone.deactivate()
    fake.users.add(gone)
    fake.commit()
    return fake


def grant(uow: FakeTrainingUnitOfWork, username: str, procedure: str, trained_on: date, until: date) -> TrainingRecord:
    return training.grant(
        uow, username, procedure, trained_on=trained_on, valid_until=until, actor="qa.lead", now=_clock
    )


def test_grant_stores_a_record_and_audits_it(uow: FakeTrainingUnitOfWork) -> None:
    stored = grant(uow, "op.jones", "MBR-MAB-DS", date(2027, 2, 1), date(2028, 2, 1))
    assert uow.training.items == [stored]
    assert (stored.recorded_by, stored.recorded_at) == ("qa.lead", NOW)
    events = uow.audit.items
    assert [(e.username, e.action, e.record_type, e.record_id) for e in events] == [
        ("qa.lead", "create", "training", "op.jones/MBR-MAB-DS")
    ]
    assert json.loads(events[0].new_value or "") == {"trained_on": "2027-02-01", "valid_until": "2028-02-01"}
    assert events[0].occurred_at == NOW


def test_grant_refuses_and_stores_nothing(uow: FakeTrainingUnitOfWork) -> None:
    with pytest.raises(NotFound):
        grant(uow, "nobody", "MBR-MAB-DS", date(2027, 2, 1), date(2028, 2, 1))
    with pytest.raises(DomainError, match="sponsor user") as sponsor:
        grant(uow, "hx", "MBR-MAB-DS", date(2027, 2, 1), date(2028, 2, 1))
    assert sponsor.value.field == "username"
    with pytest.raises(DomainError, match="deactivated"):
        grant(uow, "old.timer", "MBR-MAB-DS", date(2027, 2, 1), date(2028, 2, 1))
    with pytest.raises(DomainError, match="after today") as future:
        grant(uow, "op.jones", "MBR-MAB-DS", date(2027, 3, 2), date(2028, 2, 1))
    assert future.value.field == "trained_on"
    with pytest.raises(DomainError) as code:
        grant(uow, "op.jones", "mbr mab", date(2027, 2, 1), date(2028, 2, 1))
    assert code.value.field == "procedure"
    grant(uow, "op.jones", "MBR-MAB-DS", date(2027, 2, 1), date(2028, 2, 1))
    with pytest.raises(Conflict, match="already recorded"):
        grant(uow, "op.jones", "MBR-MAB-DS", date(2027, 2, 1), date(2028, 2, 1))
    assert len(uow.training.items) == 1
    assert len(uow.audit.items) == 1


def test_only_staff_units_of_work_read_or_record_training(uow: FakeTrainingUnitOfWork) -> None:
    uow.sponsor_id = 7
    with pytest.raises(Forbidden):
        grant(uow, "op.jones", "MBR-MAB-DS", date(2027, 2, 1), date(2028, 2, 1))
    with pytest.raises(Forbidden):
        training.matrix(uow, date(2027, 3, 1))
    with pytest.raises(Forbidden), uow:
        training.require_current(uow, "op.jones", "MBR-MAB-DS", on=date(2027, 3, 1))


def test_require_current_names_what_is_missing(uow: FakeTrainingUnitOfWork) -> None:
    grant(uow, "op.jones", "MBR-MAB-DS", date(2026, 1, 10), date(2026, 7, 10))
    with uow:
        with pytest.raises(Forbidden, match=r"^op.jones has no training on QCM-HPLC-ASSAY$"):
            training.require_current(uow, "op.jones", "QCM-HPLC-ASSAY", on=date(2026, 3, 1))
        training.require_current(uow, "op.jones", "MBR-MAB-DS", on=date(2026, 7, 9))
        with pytest.raises(Forbidden, match=r"^op.jones's training on MBR-MAB-DS expired on 2026-07-10$"):
            training.require_current(uow, "op.jones", "MBR-MAB-DS", on=date(2026, 7, 10))
        with pytest.raises(Forbidden, match="valid only from 2026-01-10"):
            training.require_current(uow, "op.jones", "MBR-MAB-DS", on=date(2026, 1, 9))
        with pytest.raises(Forbidden, match=r"qc\.kim has no training"):
            training.require_current(uow, "qc.kim", "MBR-MAB-DS", on=date(2026, 3, 1))
    # Retraining adds a record; the newer one makes the user current again, the old one stays.
    grant(uow, "op.jones", "MBR-MAB-DS", date(2027, 2, 1), date(2028, 2, 1))
    with uow:
        training.require_current(uow, "op.jones", "MBR-MAB-DS", on=date(2027, 3, 1))
    assert [r.valid_until for r in training.of_user(uow, "op.jones")] == [date(2026, 7, 10), date(2028, 2, 1)]


def test_matrix_shows_the_record_that_counts_per_user_and_procedure(uow: FakeTrainingUnitOfWork) -> None:
    grant(uow, "op.jones", "MBR-MAB-DS", date(2026, 1, 10), date(2026, 7, 10))
    grant(uow, "op.jones", "MBR-MAB-DS", date(2027, 1, 10), date(2027, 3, 20))
    grant(uow, "qc.kim", "QCM-HPLC-ASSAY", date(2027, 1, 10), date(2028, 1, 10))
    grant(uow, "op.jones", "CLEAN-SUITE-B", date(2025, 1, 10), date(2026, 1, 10))
    rows = training.matrix(uow, date(2027, 3, 1))
    assert [(r.username, r.procedure, r.valid_until, r.status, r.current) for r in rows] == [
        ("op.jones", "CLEAN-SUITE-B", date(2026, 1, 10), TrainingStatus.EXPIRED, False),
        ("op.jones", "MBR-MAB-DS", date(2027, 3, 20), TrainingStatus.EXPIRING, True),
        ("qc.kim", "QCM-HPLC-ASSAY", date(2028, 1, 10), TrainingStatus.CURRENT, True),
    ]
    assert [r.procedure for r in training.matrix(uow, date(2027, 3, 1), username="qc.kim")] == ["QCM-HPLC-ASSAY"]
    with pytest.raises(NotFound):
        training.matrix(uow, date(2027, 3, 1), username="nobody")


def test_valid_until_from_a_date_or_months() -> None:
    assert training.valid_until(date(2027, 1, 31)) == date(2028, 1, 31)
    assert training.valid_until(date(2027, 1, 31), months=1) == date(2027, 2, 28)
    assert training.valid_until(date(2027, 1, 31), until=date(2027, 5, 1)) == date(2027, 5, 1)
    with pytest.raises(InputError, match="not both"):
        training.valid_until(date(2027, 1, 31), until=date(2027, 5, 1), months=3)
    for months in (0, 121, -1):
        with pytest.raises(InputError, match="1 to 120 months"):
            training.valid_until(date(2027, 1, 31), months=months)
    with pytest.raises(InputError, match="year 9999"):
        training.valid_until(date(9999, 6, 1), months=12)


# Checked import: the fingerprints ---------------------------------------------------------------------------------


def _document() -> dict[str, Any]:
    return dict(scenario_file.scenario_document(scenario_file.read_scenario(SAMPLE_SCENARIO)))


def test_fingerprints_count_each_kind_and_ignore_the_order_of_records() -> None:
    document = _document()
    prints = scenarios.fingerprint(document)
    assert list(prints) == list(scenarios.KINDS)
    assert {kind: count for kind, (count, _) in prints.items()} == {
        "product_families": 3,
        "processes": 2,
        "sites": 2,
        "suites": 6,
        "sponsors": 2,
        "programs": 3,
        "orders": 3,
        "batches": 7,
    }
    reordered = {**document, "orders": list(reversed(document["orders"]))}
    assert scenarios.fingerprint(reordered) == prints


def test_a_changed_child_record_changes_its_own_kind_only() -> None:
    document = _document()
    before = scenarios.fingerprint(document)
    site = dict(document["sites"][0])
    site["suites"] = [{**site["suites"][0], "scale": 999}, *site["suites"][1:]]
    changed = scenarios.fingerprint({**document, "sites": [site, *document["sites"][1:]]})
    assert [kind for kind in scenarios.KINDS if changed[kind] != before[kind]] == ["suites"]
    order = dict(document["orders"][0])
    order["batches"] = order["batches"][1:]
    dropped = scenarios.fingerprint({**document, "orders": [order, *document["orders"][1:]]})
    assert dropped["batches"][0] == before["batches"][0] - 1
    assert [kind for kind in scenarios.KINDS if dropped[kind] != before[kind]] == ["batches"]


def test_a_checked_import_refuses_when_what_is_read_back_differs() -> None:
    uow = FakeTrainingUnitOfWork()
    scenario = scenario_file.read_scenario(SAMPLE_SCENARIO)
    calls = 0

    def corrupting(value: domain.Scenario) -> Mapping[str, Any]:
        """The canonical document, with one suite's scale changed on the read back (the second call)."""
        nonlocal calls
        calls += 1
        document = dict(scenario_file.scenario_document(value))
        if calls == 2:
            site = dict(document["sites"][1])
            site["suites"] = [{**site["suites"][0], "scale": 1}, *site["suites"][1:]]
            document["sites"] = [document["sites"][0], site]
        return document

    with pytest.raises(Conflict, match=r"checked and refused.*differs from the file for suites \(suites: 6 in"):
        scenarios.import_checked(uow, scenario, source="net.yaml", document=corrupting)
    assert uow.sites.list() == []
    assert uow.audit.items == []
    assert uow.committed == 0


def test_a_checked_import_audits_its_counts_and_hashes() -> None:
    uow = FakeTrainingUnitOfWork()
    scenario = scenario_file.read_scenario(SAMPLE_SCENARIO)
    expected = scenarios.fingerprint(scenario_file.scenario_document(scenario))
    report = scenarios.import_checked(
        uow, scenario, source="net.yaml", document=scenario_file.scenario_document, actor="ana"
    )
    assert all(check.matches for check in report.checks)
    assert [(c.kind, c.file_count, c.file_sha256) for c in report.checks] == [
        (kind, *expected[kind]) for kind in scenarios.KINDS
    ]
    (event,) = uow.audit.items
    assert (event.username, event.action, event.record_type, event.record_id) == (
        "ana",
        "import",
        "scenario",
        "net.yaml",
    )
    evidence = json.loads(event.new_value or "")
    assert evidence["replace"] is False
    assert evidence["kinds"]["batches"] == {"count": 7, "sha256": expected["batches"][1]}
    assert report.row_counts["batches"] == 7
