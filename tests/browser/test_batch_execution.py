"""An operator executes a batch record in a real browser: starts it from the page, records a value, sees step 2
locked until step 1 is complete, records an out-of-specification value (red, with its deviation), and corrects
it with a reason, the original staying visible, struck through."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from opencdmo.domain import Role
from opencdmo.services import editing, master_records, training
from opencdmo.services.signatures import Credentials
from tests.browser.conftest import LiveServer, sign_in
from tests.integration.test_execution import PROCEDURE, PROCESS, STEPS_YAML


def _own_batch_and_master(live_server: LiveServer, suffix: str) -> tuple[str, str]:
    """A batch of an order of this test's own, an approved master record of its process, and a trained operator
    (other tests share the server); the lot and the operator's password."""
    app = live_server.app
    today = datetime.now(UTC).date()
    order = editing.create_order(
        app.unit_of_work(),
        editing.OrderDraft(
            number=f"PO-EX-{suffix.upper()}",
            sponsor="Northwind Biologics",
            program="NWB-101",
            batch_count=1,
            release_date=today,
            due_date=today + timedelta(days=90),
        ),
    )
    author, approver, operator = f"qa-a-{suffix}", f"qa-b-{suffix}", f"op-{suffix}"
    live_server.add_user(author, Role.QA)
    approver_password = live_server.add_user(approver, Role.QA)
    password = live_server.add_user(operator, Role.OPERATOR)
    for username in (approver, operator):
        training.grant(
            app.unit_of_work(),
            username,
            PROCEDURE,
            trained_on=today - timedelta(days=1),
            valid_until=today + timedelta(days=30),
            actor=author,
        )
    draft = master_records.draft(
        app.unit_of_work(),
        PROCESS,
        procedure=PROCEDURE,
        title=f"mAb fed-batch {suffix}",
        steps=master_records.steps_from_yaml(STEPS_YAML),
        actor=author,
    )
    master_records.approve(
        app.unit_of_work(),
        PROCESS,
        draft.version,
        signer=approver,
        credentials=Credentials(password=approver_password, username=approver),
    )
    return order.batches[0].lot_number, password


def _record(page: Page, parameter: str, step: int, value: str, *, check: bool = False) -> None:
    form = page.get_by_role("form", name=f"Record {parameter} of step {step}")
    if check:
        form.get_by_role("combobox").select_option(value)
    else:
        form.get_by_role("textbox").fill(value)
    form.get_by_role("button", name="Record").click()


@pytest.fixture
def own_batch(live_server: LiveServer) -> Iterator[tuple[str, str, str]]:
    """(suffix, lot, operator's password); afterwards the batch, left in progress, is cancelled: the server is
    shared, and a later re-plan must not meet a started batch that no stored plan ever placed (the planner cannot
    yet place one that started outside any plan: see the issue notes)."""
    suffix = secrets.token_hex(3)
    lot, password = _own_batch_and_master(live_server, suffix)
    yield suffix, lot, password
    with live_server.app.unit_of_work() as uow:
        batch = uow.batches.get(lot)
        assert batch is not None
        batch.cancel("browser test finished")
        uow.commit()


def test_an_operator_records_in_step_order_and_corrects_with_a_reason(
    page: Page, live_server: LiveServer, own_batch: tuple[str, str, str]
) -> None:
    suffix, lot, password = own_batch
    sign_in(page, f"op-{suffix}", password)

    page.goto(f"/batches/{lot}")
    page.locator("#batch-record-link").click()
    page.get_by_role("button", name="Start batch record").click()
    expect(page.locator("#flash")).to_contain_text(f"Batch record of {lot} started")
    step_two = page.locator("#step-2")
    expect(step_two.locator(".step-state")).to_have_text("locked")
    expect(step_two.get_by_role("form")).to_have_count(0)

    _record(page, "vial id", 1, "WCB-0042")
    expect(page.locator("#flash")).to_contain_text("vial id recorded at step 1: WCB-0042")
    expect(step_two.locator(".step-state")).to_have_text("locked")  # thawed still missing
    expect(step_two.locator(".locked-note")).to_contain_text("it still lacks thawed")

    _record(page, "thawed", 1, "yes", check=True)
    expect(page.locator("#step-1 .step-state")).to_have_text("complete")
    expect(step_two.locator(".step-state")).to_have_text("next")

    _record(page, "pH", 2, "7.5")
    expect(page.locator("#flash")).to_contain_text("out of specification: deviation DEV-")
    ph = step_two.locator("tr[data-parameter=pH]")
    expect(ph.locator(".out-of-spec")).to_have_text("7.5 pH")
    expect(ph.locator(".deviation-link")).to_have_attribute("href", re.compile(r"^/deviations/DEV-"))

    ph.get_by_text("Correct", exact=True).click()
    correction = ph.get_by_role("form", name="Correct pH of step 2")
    correction.get_by_label("New value").fill("7.1")
    correction.get_by_label("Reason").fill("misread the probe display")
    correction.get_by_role("button", name="Save correction").click()
    expect(page.locator("#flash")).to_contain_text("pH of step 2 corrected to 7.1")
    ph = page.locator("#step-2 tr[data-parameter=pH]")
    expect(ph.locator("del.superseded-value")).to_have_text("7.5 pH")
    expect(ph.locator(".current .value")).to_have_text("7.1 pH")
    expect(ph.locator(".correction-reason")).to_contain_text("misread the probe display")
    expect(ph.locator(".awaiting")).to_have_text("awaiting verification")
    expect(ph.locator(".verify-form")).to_have_count(0)  # the operator recorded it: a second person verifies
