"""A QC analyst's results in a real browser: a result on an instrument whose calibration has expired is refused
with the reason beside the instrument; the same test on a calibrated instrument is recorded; a failing value
opens a deviation, shown on the page with a link to it."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, timedelta

from playwright.sync_api import Page, expect

from opencdmo import domain
from opencdmo.domain import Role
from opencdmo.services import editing, qc, training
from tests.browser.conftest import LiveServer, sign_in

PROCESS = "Vial fill 10 mL"  # the process of Northwind's program NWB-220
TESTS = [
    domain.QcTest("Assay", "QCM-HPLC-ASSAY", "%", low=95.0, high=105.0),
    domain.QcTest("Endotoxin", "QCM-LAL", "EU/mL", high=0.5),
]


def _batch_in_qc(live_server: LiveServer, today: date) -> str:
    """A batch of an order of this test's own, moved to QC (other tests share the server)."""
    number = f"PO-QC-{secrets.token_hex(3).upper()}"
    draft = editing.OrderDraft(
        number=number,
        sponsor="Northwind Biologics",
        program="NWB-220",
        batch_count=1,
        release_date=today,
        due_date=today + timedelta(days=90),
    )
    order = editing.create_order(live_server.app.unit_of_work(), draft)
    lot = order.batches[0].lot_number
    with live_server.app.unit_of_work() as uow:
        batch = uow.batches.get(lot)
        assert batch is not None
        for step in (batch.schedule, batch.start, batch.complete, batch.send_to_qc):
            step()
        uow.commit()
    return lot


def test_an_expired_instrument_is_refused_a_valid_one_accepted_and_a_failure_opens_a_linked_deviation(
    page: Page, live_server: LiveServer
) -> None:
    app = live_server.app
    today = datetime.now(UTC).date()
    suffix = secrets.token_hex(2).upper()
    expired, valid = f"LAL-{suffix}", f"HPLC-{suffix}"
    qc.register(
        app.unit_of_work(),
        expired,
        "Endosafe",
        "LAL",
        today - timedelta(days=400),
        today - timedelta(days=2),
        actor="qa",
    )
    qc.register(
        app.unit_of_work(),
        valid,
        "Agilent 1260",
        "HPLC",
        today - timedelta(days=10),
        today + timedelta(days=300),
        actor="qa",
    )
    qc.set_specification(app.unit_of_work(), PROCESS, TESTS, actor="qa")
    lot = _batch_in_qc(live_server, today)
    analyst = f"qc-{suffix.lower()}"
    password = live_server.add_user(analyst, Role.QC_ANALYST)
    for test in TESTS:
        training.grant(
            app.unit_of_work(),
            analyst,
            test.method,
            trained_on=today - timedelta(days=1),
            valid_until=today + timedelta(days=365),
            actor="qa",
        )

    sign_in(page, analyst, password)
    page.goto(f"/qc/{lot}")
    form = page.locator("#record-form")
    form.get_by_label("Test").select_option("Endotoxin")
    form.get_by_label("Value").fill("0.1")
    form.get_by_label("Instrument").select_option(expired)
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        form.get_by_role("button", name="Record result").click()
    assert answer.value.status == 422
    instrument = page.locator("#record-instrument")
    expect(instrument).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#record-instrument-error")).to_have_text(
        f"instrument {expired}'s calibration expired on {today - timedelta(days=2)}: the result is refused"
    )
    expect(page.locator("#record-value")).to_have_value("0.1")  # what was typed is kept
    assert qc.results(app.unit_of_work(), lot).results == []

    instrument.select_option(valid)
    page.get_by_role("button", name="Record result").click()
    expect(page.locator("#flash")).to_have_text("Endotoxin recorded: 0.1 EU/mL (passed).")

    form = page.locator("#record-form")
    form.get_by_label("Test").select_option("Assay")
    form.get_by_label("Value").fill("91.5")
    form.get_by_label("Instrument").select_option(valid)
    form.get_by_role("button", name="Record result").click()
    expect(page.locator("#flash")).to_contain_text("Assay recorded: 91.5 % (failed: deviation DEV-")
    flash = page.locator("#flash").inner_text()
    found = re.search(r"DEV-\d{4}-\d{4}", flash)
    assert found is not None
    number = found.group(0)
    link = page.locator("#specification").get_by_role("link", name=number)
    expect(link).to_be_visible()
    expect(page.locator("#release-checks")).to_contain_text("the QC result of Assay failed")
    link.click()
    page.wait_for_url(re.compile(rf"/deviations/{number}$"))
    expect(page.get_by_role("heading", name="Assay out of specification")).to_be_visible()
    expect(page.locator("#batch-link")).to_have_text(lot)
