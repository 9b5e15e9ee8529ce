"""Disposition by the qualified person on SQLite and PostgreSQL: blockers in words, the audit-trail review and when
it goes stale, release refused with every reason, release and rejection by electronic signature."""

from __future__ import annotations

import pytest

from opencdmo import domain
from opencdmo.adapters import scenario_file
from opencdmo.bootstrap import App
from opencdmo.domain.audit import AuditEvent
from opencdmo.domain.signatures import Meaning
from opencdmo.errors import DomainError, Forbidden, NotFound, Unauthorized
from opencdmo.services import audit, batch_record_export, deviations, disposition, qc, scenarios
from opencdmo.services.signatures import Credentials
from tests import gmp_batches
from tests.gmp_batches import LOT, credentials


@pytest.fixture
def gmp(app: App, sample_text: str) -> App:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    gmp_batches.add_staff(app)
    return app


def _status(app: App, lot: str = LOT) -> domain.BatchStatus:
    with app.unit_of_work() as uow:
        batch = uow.batches.get(lot)
        assert batch is not None
        return batch.status


def _events(app: App, action: str) -> list[AuditEvent]:
    return [event for event in audit.for_batch(app.unit_of_work(), LOT) if event.action == action]


def test_a_batch_in_qc_without_records_lists_every_blocker_in_words(gmp: App) -> None:
    reasons = disposition.blockers(gmp.unit_of_work(), "NWB220-27-002")
    assert reasons == [
        "the batch has no batch record",
        "the process Vial fill 10 mL has no release specification",
        "the audit trail is not reviewed",
    ]


def test_a_planned_batch_is_not_in_qc(gmp: App) -> None:
    assert disposition.blockers(gmp.unit_of_work(), LOT)[:2] == [
        "the batch is planned, not in QC",
        "the batch has no batch record",
    ]


def test_the_qualified_person_releases_a_batch_without_blockers(gmp: App) -> None:
    gmp_batches.ready_for_release(gmp)
    assert disposition.blockers(gmp.unit_of_work(), LOT) == []
    state = disposition.get(gmp.unit_of_work(), LOT)
    assert state.can_release
    assert state.review.current

    signature = disposition.release(gmp.unit_of_work(), LOT, signer="qp1", credentials=credentials("qp1"))

    assert (signature.meaning, signature.username, signature.printed_name) == (Meaning.RELEASED, "qp1", "Petra Quist")
    assert _status(gmp) is domain.BatchStatus.RELEASED
    [event] = _events(gmp, disposition.RELEASE)
    assert (event.username, event.field, event.old_value, event.new_value) == ("qp1", "status", '"in-qc"', '"released"')
    state = disposition.get(gmp.unit_of_work(), LOT)
    assert [(view.meaning, view.intact) for view in state.signatures] == [
        (Meaning.REVIEWED, True),
        (Meaning.RELEASED, True),
    ]
    view = batch_record_export.build(gmp.unit_of_work(), LOT, viewer="qp1")
    assert [(line.meaning, line.intact) for line in view.signatures] == [("reviewed", True), ("released", True)]
    assert view.broken_signatures == 0
    assert view.status == "released"


def test_a_release_is_refused_with_every_reason_and_changes_nothing(gmp: App) -> None:
    gmp_batches.approve_master(gmp)
    number = gmp_batches.execute(gmp, ph="7.5")  # out of specification: opens a deviation
    assert number is not None
    gmp_batches.specify_qc(gmp)

    with pytest.raises(disposition.ReleaseRefused) as refused:
        disposition.release(gmp.unit_of_work(), LOT, signer="qp1", credentials=credentials("qp1"))

    assert refused.value.reasons == [
        "QC test Purity has no result",
        f"deviation {number} is open: pH out of specification at step 2",
        "the audit trail is not reviewed",
    ]
    for reason in refused.value.reasons:
        assert reason in str(refused.value)
    assert _status(gmp) is domain.BatchStatus.IN_QC
    assert _events(gmp, disposition.RELEASE) == []
    with gmp.unit_of_work() as uow:
        assert uow.signatures.of(batch_record_export.DISPOSITION_RECORD_TYPE, LOT) == []


def test_only_the_qualified_person_releases_and_a_refusal_costs_no_sign_in(gmp: App) -> None:
    gmp_batches.ready_for_release(gmp)
    with pytest.raises(Forbidden, match="may not release batches"):
        disposition.release(gmp.unit_of_work(), LOT, signer="qa1", credentials=credentials("qa1"))
    with pytest.raises(Forbidden):
        disposition.release(gmp.unit_of_work(), LOT, signer="op1", credentials=credentials("op1"))
    with pytest.raises(Unauthorized):
        disposition.release(gmp.unit_of_work(), LOT, signer="qp1", credentials=Credentials("wrong", "qp1"))
    assert _status(gmp) is domain.BatchStatus.IN_QC
    disposition.release(gmp.unit_of_work(), LOT, signer="qp1", credentials=credentials("qp1"))
    assert _status(gmp) is domain.BatchStatus.RELEASED


def test_the_reviews_own_events_do_not_make_it_stale_but_a_later_change_does(gmp: App) -> None:
    gmp_batches.approve_master(gmp)
    gmp_batches.execute(gmp)
    gmp_batches.specify_qc(gmp)
    result_id = gmp_batches.pass_qc(gmp)
    gmp_batches.review(gmp)
    assert disposition.blockers(gmp.unit_of_work(), LOT) == []
    [review_event] = _events(gmp, disposition.REVIEW)
    assert review_event.record_id == f"{LOT}/audit-review"

    qc.void_result(gmp.unit_of_work(), result_id, "sample mix-up", actor="qc1")

    reasons = disposition.blockers(gmp.unit_of_work(), LOT)
    assert reasons[0] == "QC test Purity has no result"
    stale = reasons[-1]
    assert stale.startswith("the audit trail changed after its review on ")
    assert stale.endswith(" UTC by Quinn Abbott")
    state = disposition.get(gmp.unit_of_work(), LOT)
    assert state.review.stale
    assert [view.intact for view in state.signatures] == [False]

    gmp_batches.pass_qc(gmp)
    gmp_batches.review(gmp, reviewer="qp1")
    assert disposition.blockers(gmp.unit_of_work(), LOT) == []
    state = disposition.get(gmp.unit_of_work(), LOT)
    assert [(view.username, view.intact) for view in state.signatures] == [("qa1", False), ("qp1", True)]


def test_a_review_needs_review_quality_and_a_batch_in_qc(gmp: App) -> None:
    with pytest.raises(DomainError, match="once the batch is in QC"):
        gmp_batches.review(gmp)
    gmp_batches.approve_master(gmp)
    gmp_batches.execute(gmp)
    with pytest.raises(Forbidden, match="may not review audit trails"):
        gmp_batches.review(gmp, reviewer="op1")
    assert disposition.get(gmp.unit_of_work(), LOT).review.signature is None


def test_a_rejection_needs_a_reason_and_the_review_but_not_the_release_preconditions(gmp: App) -> None:
    gmp_batches.approve_master(gmp)
    number = gmp_batches.execute(gmp, ph="7.5")
    assert number is not None
    with pytest.raises(DomainError, match="a rejection needs a reason"):
        disposition.reject(gmp.unit_of_work(), LOT, "  ", signer="qp1", credentials=credentials("qp1"))
    with pytest.raises(disposition.ReleaseRefused, match="cannot be rejected: the audit trail is not reviewed"):
        disposition.reject(gmp.unit_of_work(), LOT, "pH excursion", signer="qp1", credentials=credentials("qp1"))
    gmp_batches.review(gmp)
    with pytest.raises(Forbidden):
        disposition.reject(gmp.unit_of_work(), LOT, "pH excursion", signer="qa1", credentials=credentials("qa1"))

    signature = disposition.reject(
        gmp.unit_of_work(), LOT, "pH excursion at inoculation", signer="qp1", credentials=credentials("qp1")
    )

    assert (signature.meaning, signature.comment) == (Meaning.REJECTED, "pH excursion at inoculation")
    assert _status(gmp) is domain.BatchStatus.REJECTED
    [event] = _events(gmp, disposition.REJECT)
    assert (event.new_value, event.reason) == ('"rejected"', "pH excursion at inoculation")
    assert deviations.get(gmp.unit_of_work(), number).deviation.is_open  # a rejection leaves the deviation open
    with pytest.raises(disposition.ReleaseRefused, match="the batch is rejected, not in QC"):
        gmp_batches.release(gmp)


def test_a_closed_deviation_no_longer_blocks(gmp: App) -> None:
    gmp_batches.approve_master(gmp)
    number = gmp_batches.execute(gmp, ph="7.5")
    assert number is not None
    gmp_batches.specify_qc(gmp)
    gmp_batches.pass_qc(gmp)
    gmp_batches.close_deviation(gmp, number)
    gmp_batches.review(gmp)
    gmp_batches.release(gmp)
    assert _status(gmp) is domain.BatchStatus.RELEASED


def test_staff_only(gmp: App) -> None:
    with gmp.unit_of_work() as uow:
        helix = uow.sponsors.get("Helix Vaccines")
    assert helix is not None
    from opencdmo.adapters.repositories import Scope

    with pytest.raises(Forbidden):
        disposition.get(gmp.unit_of_work(Scope(sponsor_id=helix.id)), LOT)
    with pytest.raises(NotFound):
        disposition.get(gmp.unit_of_work(), "NO-SUCH-LOT")
