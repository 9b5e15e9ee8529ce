"""The qualified person's release in a real browser: a batch in QC with a blocker shows every reason and no enabled
release; once the blockers are resolved the QP signs the release and the page shows the batch released."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from opencdmo.services import editing
from tests import gmp_batches
from tests.browser.conftest import LiveServer, sign_in
from tests.gmp_batches import PASSWORD, Crew


def _batch_in_qc(live_server: LiveServer, crew: Crew, instrument: str) -> tuple[str, str]:
    """A batch of an order of this test's own, executed with an out-of-specification pH (a deviation is open) and
    its QC passed; its lot and the deviation's number. Other tests share the server: the staff, the order and the
    instrument are this test's own."""
    app = live_server.app
    today = datetime.now(UTC).date()
    draft = editing.OrderDraft(
        number=f"PO-REL-{secrets.token_hex(3).upper()}",
        sponsor="Helix Vaccines",
        program="HXV-7",
        batch_count=1,
        release_date=today,
        due_date=today + timedelta(days=90),
    )
    lot = editing.create_order(app.unit_of_work(), draft).batches[0].lot_number
    gmp_batches.add_staff(app, crew)
    gmp_batches.approve_master(app, crew)
    number = gmp_batches.execute(app, lot, ph="7.5", crew=crew)
    assert number is not None
    gmp_batches.specify_qc(app, instrument, crew=crew)
    gmp_batches.pass_qc(app, lot, instrument=instrument, crew=crew)
    return lot, number


def test_the_qp_sees_the_blockers_then_signs_the_release(page: Page, live_server: LiveServer) -> None:
    suffix = f"-{secrets.token_hex(2)}"
    crew = Crew(suffix)
    lot, deviation = _batch_in_qc(live_server, crew, f"HPLC-R{suffix[1:].upper()}")

    sign_in(page, crew.qp1, PASSWORD)
    page.goto(f"/batches/{lot}")
    page.locator("#disposition-link").click()
    expect(page.get_by_role("heading", name=f"Disposition of {lot}", level=1)).to_be_visible()
    blockers = page.locator("#blockers li")
    expect(blockers).to_have_text(
        [f"deviation {deviation} is open: pH out of specification at step 2", "the audit trail is not reviewed"]
    )
    expect(blockers.first.locator("a")).to_have_attribute("href", f"/deviations/{deviation}")
    expect(page.locator("#release-button")).to_be_disabled()
    expect(page.locator("#release-form input[name=signature_password]")).to_have_count(0)

    # The blockers go: QA closes the deviation; the QP reviews the audit trail in the page.
    gmp_batches.close_deviation(live_server.app, deviation, crew)
    page.reload()
    expect(blockers).to_have_text(["the audit trail is not reviewed"])
    review = page.locator("#review-form")
    review.get_by_label("User id").fill(crew.qp1)
    review.get_by_label("Password").fill(PASSWORD)
    review.get_by_role("button", name="Review audit trail").click()
    expect(page.locator("#flash")).to_have_text(f"The audit trail of batch {lot} is reviewed and signed.")
    expect(page.locator("#ready")).to_be_visible()

    release = page.locator("#release-form")
    expect(release.get_by_role("button", name="Release")).to_be_enabled()
    expect(release.get_by_label("User id")).to_have_count(0)  # signed a moment ago in this session
    release.get_by_label("Password").fill(PASSWORD)
    release.get_by_role("button", name="Release").click()

    expect(page.locator("#flash")).to_have_text(f"Batch {lot} is released.")
    expect(page.locator("#batch-status")).to_have_text("released")
    signatures = page.locator(".signature-row")
    expect(signatures).to_have_count(2)
    expect(signatures.last).to_contain_text("Petra Quist")
    expect(signatures.last).to_contain_text("released")
    expect(page.locator(".signature-broken")).to_have_count(0)
    expect(page.locator("#downloads a")).to_have_text(["JSON", "HTML", "PDF"])
