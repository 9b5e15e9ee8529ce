"""The dashboard and a batch's page (the network: :mod:`.network`; orders: :mod:`.orders`; the schedule:
:mod:`.schedule`).

Each page states its action (the API's role matrix) and reads through the viewer's unit of work, which a
sponsor user's scope filters in the repositories: another sponsor's order or batch is "not found".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from opencdmo import domain
from opencdmo.api.deps import get_read_cache, scope_of
from opencdmo.domain import Action
from opencdmo.services import accounts, catalogue
from opencdmo.services.planning import OperationLine
from opencdmo.services.unit_of_work import UnitOfWork
from opencdmo.web.plans import PlanView, cache_of
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import Viewer, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

AnyViewer = Annotated[Viewer, Depends(page())]
OrderViewer = Annotated[Viewer, Depends(page(Action.VIEW_ORDERS))]

UPCOMING = 10
BUSIEST = 12
ALERT_DAYS = 7
ALERTED_ROLES = frozenset({domain.Role.ADMIN, domain.Role.QA})
"""Who sees the security alerts (accounts locked by failed attempts, P11-23) on the dashboard."""


def plan_of(request: Request, viewer: Viewer) -> PlanView | None:
    """The newest plan as the viewer may see it (None without a plan, or when their role may not see plans)."""
    if not viewer.can(Action.VIEW_SCHEDULE):
        return None
    return cache_of(request).latest(viewer.unit_of_work)


def _today() -> date:
    return datetime.now(UTC).date()


def _backlog(uow: UnitOfWork) -> list[tuple[str, int]]:
    with uow:
        counts = uow.batches.count_by_status()
    return [(status.value, counts[status]) for status in domain.BatchStatus if counts[status]]


def status_summary(order: domain.Order) -> str:
    counts = Counter(batch.status.value for batch in order.batches)
    return ", ".join(f"{count} {status}" for status, count in counts.most_common())


@dataclass(frozen=True)
class AtRiskOrder:
    number: str
    sponsor: str
    due: datetime
    finish: datetime
    late_batches: int

    @property
    def late_hours(self) -> float:
        return (self.finish - self.due).total_seconds() / 3600


def _at_risk(plan: PlanView) -> list[AtRiskOrder]:
    late: dict[str, list[OperationLine]] = {}
    for line in plan.lines:
        if line.late and line.due is not None:
            late.setdefault(line.order, []).append(line)
    risks = []
    for number, lines in late.items():
        due = lines[0].due
        assert due is not None
        risks.append(
            AtRiskOrder(
                number=number,
                sponsor=lines[0].sponsor,
                due=due,
                finish=max(line.end for line in lines),
                late_batches=len({line.lot for line in lines}),
            )
        )
    return sorted(risks, key=lambda risk: (risk.due, risk.number))


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, viewer: AnyViewer) -> HTMLResponse:
    context: dict[str, Any] = {"plan": None, "backlog": [], "upcoming": [], "at_risk": [], "suites": []}
    plan = plan_of(request, viewer)
    if plan is not None:
        context["plan"] = plan.report
        context["at_risk"] = _at_risk(plan)
        if viewer.can(Action.VIEW_KPIS) and viewer.can(Action.VIEW_NETWORK):
            context["suites"] = sorted(plan.report.suites, key=lambda suite: (-suite.utilization, suite.suite))
    if viewer.can(Action.VIEW_ORDERS):
        today = _today()

        def order_book() -> tuple[list[tuple[str, int]], list[tuple[domain.Order, str]]]:
            uow = viewer.unit_of_work()
            orders = sorted(
                (order for order in catalogue.list_orders(uow) if order.due_date >= today and _open(order)),
                key=lambda order: (order.due_date, order.number),
            )
            return _backlog(uow), [(order, status_summary(order)) for order in orders[:UPCOMING]]

        # Everyone's landing page, polled by many at once: memoised per scope and day (see ReadCache).
        key = ("dashboard-order-book", scope_of(viewer.identity).sponsor_id, today)
        context["backlog"], context["upcoming"] = get_read_cache(request).get(key, order_book)
    context["busiest"] = BUSIEST
    context["alerts"] = []
    if viewer.identity.role in ALERTED_ROLES:
        since = datetime.now(UTC) - timedelta(days=ALERT_DAYS)
        context["alerts"] = accounts.recent_alerts(viewer.unit_of_work(), since)[::-1]
    context["alert_days"] = ALERT_DAYS
    return render(request, "dashboard.html", context)


def _open(order: domain.Order) -> bool:
    return any(not batch.is_final for batch in order.batches)


@router.get("/batches/{lot_number}", response_class=HTMLResponse)
def batch_detail(request: Request, lot_number: str, viewer: OrderViewer) -> HTMLResponse:
    batch = catalogue.get_batch(viewer.unit_of_work(), lot_number)
    plan = plan_of(request, viewer)
    operations = list(plan.by_lot.get(batch.lot_number, ())) if plan is not None else []
    context = {
        "batch": batch,
        "order": batch.order,
        "operations": operations,
        "plan": plan.report if plan else None,
        "due": domain.due_at(batch.order),
        "can_schedule": viewer.can(Action.VIEW_SCHEDULE),
    }
    return render(request, "batch.html", context)
