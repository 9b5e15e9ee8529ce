"""The order pages: the order book with its filters, an order with its batches, and, for roles that may edit
orders (never a sponsor user), the forms to create an order and to change one.

A new order's batches are planned but in no schedule yet: its page offers "Plan now" to roles that may plan,
which starts a solve (see :mod:`opencdmo.web.plan_jobs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from opencdmo import domain
from opencdmo.domain import Action
from opencdmo.services import catalogue, editing, planning
from opencdmo.web.forms import FormState, FormValues, Reader, saved, submit
from opencdmo.web.pages import plan_of, status_summary
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import Viewer, form_page, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

OrderViewer = Annotated[Viewer, Depends(page(Action.VIEW_ORDERS))]
OrderEditor = Annotated[Viewer, Depends(form_page(Action.EDIT_ORDERS))]

ORDERS_PER_PAGE = 100
MAX_SEARCH = 100
CHANGE_FIELDS = ("batch_count", "release_date", "due_date", "priority", "late_penalty_per_day", "price_per_batch")
ORDER_FIELDS = ("sponsor", "program", "number", *CHANGE_FIELDS)
NEW_ORDER = FormState.of(batch_count=1, priority=3, late_penalty_per_day="0.00", price_per_batch="0.00")


def order_path(number: str) -> str:
    return f"/orders/{quote(number, safe='')}"


# The order book ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderFilters:
    sponsor: str = ""
    status: str = ""
    due_before: str = ""
    q: str = ""
    page: int = 1

    def query(self, **changes: object) -> str:
        """The query string of these filters with ``changes`` (defaults left out)."""
        values = {**self.__dict__, **changes}
        return urlencode({key: value for key, value in values.items() if value not in ("", None, 1)})


def _filters(sponsor: str, status: str, due_before: str, q: str, page_text: str) -> tuple[OrderFilters, list[str]]:
    problems = []
    if status and status not in {item.value for item in domain.BatchStatus}:
        problems.append(f"status: unknown batch status {status[:40]!r}")
        status = ""
    if due_before:
        try:
            date.fromisoformat(due_before)
        except ValueError:
            problems.append(f"due before: expected a date such as 2027-06-30, not {due_before[:40]!r}")
            due_before = ""
    if len(q) > MAX_SEARCH:
        problems.append(f"search: at most {MAX_SEARCH} characters")
        q = q[:MAX_SEARCH]
    number = 1
    if page_text:
        if page_text.isdigit() and 1 <= int(page_text) <= 100_000:
            number = int(page_text)
        else:
            problems.append(f"page: expected a page number, not {page_text[:20]!r}")
    return OrderFilters(sponsor=sponsor[:200], status=status, due_before=due_before, q=q.strip(), page=number), problems


def _matches(order: domain.Order, filters: OrderFilters) -> bool:
    if filters.sponsor and order.sponsor.name != filters.sponsor:
        return False
    if filters.status and all(batch.status.value != filters.status for batch in order.batches):
        return False
    if filters.due_before and order.due_date >= date.fromisoformat(filters.due_before):
        return False
    text = filters.q.casefold()
    return not text or text in order.number.casefold() or text in order.program.name.casefold()


def _new_order_choices(viewer: Viewer) -> dict[str, Any]:
    """The sponsors and, per sponsor, the programs a new order may name."""
    programs: dict[str, list[str]] = {}
    for program in catalogue.list_programs(viewer.unit_of_work()):
        programs.setdefault(program.sponsor.name, []).append(program.name)
    sponsors = sorted(sponsor.name for sponsor in catalogue.list_sponsors(viewer.unit_of_work()))
    return {
        "sponsor_choices": [(name, name) for name in sponsors],
        "program_groups": [(name, sorted(programs.get(name, []))) for name in sponsors],
    }


def orders_page(
    request: Request, viewer: Viewer, filters: OrderFilters, problems: list[str], new_order: FormState = NEW_ORDER
) -> HTMLResponse:
    staff = not viewer.is_sponsor
    every = catalogue.list_orders(viewer.unit_of_work())
    found = [order for order in every if _matches(order, filters)]
    pages = max(1, -(-len(found) // ORDERS_PER_PAGE))
    number = min(filters.page, pages)
    shown = found[(number - 1) * ORDERS_PER_PAGE : number * ORDERS_PER_PAGE]
    sponsors = sorted({order.sponsor.name for order in every}) if staff and viewer.can(Action.VIEW_SPONSORS) else []
    can_create = viewer.can(Action.EDIT_ORDERS)
    context = {
        "filters": filters,
        "problems": problems,
        "rows": [(order, status_summary(order)) for order in shown],
        "found": len(found),
        "page_number": number,
        "pages": pages,
        "sponsors": sponsors,
        "statuses": [item.value for item in domain.BatchStatus],
        "show_sponsor": staff,
        "can_create": can_create,
        "new_order": new_order,
        **(_new_order_choices(viewer) if can_create else {}),
    }
    status = new_order.status if new_order.refused else 422 if problems else 200
    return render(request, "orders.html", context, status=status)


@router.get("/orders", response_class=HTMLResponse)
def orders(
    request: Request,
    viewer: OrderViewer,
    sponsor: str = "",
    status: str = "",
    due_before: str = "",
    q: str = "",
    page: str = "",
) -> HTMLResponse:
    filters, problems = _filters(sponsor if not viewer.is_sponsor else "", status, due_before, q, page)
    return orders_page(request, viewer, filters, problems)


def _order_draft(read: Reader) -> editing.OrderDraft:
    return editing.OrderDraft(
        number=read.text("number"),
        sponsor=read.text("sponsor"),
        program=read.text("program"),
        batch_count=read.whole("batch_count"),
        release_date=read.day("release_date"),
        due_date=read.day("due_date"),
        priority=read.whole("priority", default=3),
        late_penalty_per_day=read.money("late_penalty_per_day", default=Decimal(0)),
        price_per_batch=read.money("price_per_batch", default=Decimal(0)),
    )


@router.post("/orders")
def create_order(request: Request, viewer: OrderEditor, values: FormValues) -> Response:
    outcome = submit(
        values,
        ORDER_FIELDS,
        _order_draft,
        lambda draft: editing.create_order(viewer.unit_of_work(), draft, actor=viewer.identity.username),
        conflict_field="number",
    )
    if isinstance(outcome, FormState):
        return orders_page(request, viewer, OrderFilters(), [], outcome)
    batches = len(outcome.batches)
    message = f"Order {outcome.number} created with {batches} planned batch{'es' if batches != 1 else ''}."
    return saved(request, order_path(outcome.number), message)


# One order -----------------------------------------------------------------------------------------------------


def _order_values(order: domain.Order) -> FormState:
    return FormState.of(
        batch_count=order.batch_count,
        release_date=order.release_date.isoformat(),
        due_date=order.due_date.isoformat(),
        priority=order.priority,
        late_penalty_per_day=order.late_penalty_per_day,
        price_per_batch=order.price_per_batch,
    )


def order_page(request: Request, viewer: Viewer, number: str, edit_form: FormState | None = None) -> HTMLResponse:
    order = catalogue.get_order(viewer.unit_of_work(), number)
    plan = plan_of(request, viewer)
    finishes = plan.finishes() if plan is not None else {}
    late = {lot for lot, items in plan.by_lot.items() if any(line.late for line in items)} if plan else set()
    batches = [
        {"batch": batch, "finish": finishes.get(batch.lot_number), "late": batch.lot_number in late}
        for batch in order.batches
    ]
    unplanned = [batch for batch in order.active_batches if batch.status is domain.BatchStatus.PLANNED]
    context = {
        "order": order,
        "batches": batches,
        "plan": plan.report if plan else None,
        "due": domain.due_at(order),
        "can_edit": viewer.can(Action.EDIT_ORDERS),
        "edit_form": edit_form or _order_values(order),
        "offer_plan": bool(unplanned) and viewer.can(Action.PLAN),
        "unplanned": len(unplanned),
        "plan_defaults": planning.PlanOptions(),
    }
    return render(request, "order.html", context, status=edit_form.status if edit_form is not None else 200)


@router.get("/orders/{number}", response_class=HTMLResponse)
def order_detail(request: Request, number: str, viewer: OrderViewer) -> HTMLResponse:
    return order_page(request, viewer, number)


def _order_changes(read: Reader) -> editing.OrderChanges:
    return editing.OrderChanges(
        batch_count=read.whole("batch_count"),
        release_date=read.day("release_date"),
        due_date=read.day("due_date"),
        priority=read.whole("priority"),
        late_penalty_per_day=read.money("late_penalty_per_day"),
        price_per_batch=read.money("price_per_batch"),
    )


@router.post("/orders/{number}")
def update_order(request: Request, number: str, viewer: OrderEditor, values: FormValues) -> Response:
    outcome = submit(
        values,
        CHANGE_FIELDS,
        _order_changes,
        lambda changes: editing.update_order(viewer.unit_of_work(), number, changes, actor=viewer.identity.username),
    )
    if isinstance(outcome, FormState):
        return order_page(request, viewer, number, outcome)
    return saved(request, order_path(outcome.number), f"Order {outcome.number} saved.")
