"""The network pages: every site with its suites, a suite with its downtime, and, for roles that may edit the
network, the forms to add a site, add a suite to a site, change a suite and add or remove a downtime window.

The forms are shown only to roles with :attr:`Action.EDIT_NETWORK`; their POSTs check the CSRF token and the
same action (403 otherwise), and the edit services refuse anyone but CDMO staff a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from opencdmo import domain
from opencdmo.domain import Action
from opencdmo.errors import NotFound
from opencdmo.services import catalogue, editing
from opencdmo.web.forms import FormState, FormValues, Reader, saved, submit
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import Viewer, form_page, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

NetworkViewer = Annotated[Viewer, Depends(page(Action.VIEW_NETWORK))]
NetworkEditor = Annotated[Viewer, Depends(form_page(Action.EDIT_NETWORK))]

SITE_FIELDS = ("name", "region", "biosafety_level", "certifications")
SUITE_CHANGE_FIELDS = (
    "scale",
    "scale_unit",
    "capabilities",
    "construction",
    "qc_analysts",
    "same_product_hours",
    "default_changeover_hours",
)
SUITE_FIELDS = ("name", "kind", *SUITE_CHANGE_FIELDS)
DOWNTIME_FIELDS = ("start", "end", "reason")
KINDS = tuple(kind.value for kind in domain.SuiteKind)
UNITS = tuple(unit.value for unit in domain.ScaleUnit)
CONSTRUCTIONS = tuple(construction.value for construction in domain.Construction)


def suite_path(name: str) -> str:
    return f"/network/suites/{quote(name, safe='')}"


def _choices() -> dict[str, Any]:
    return {
        "kinds": [(value, value) for value in KINDS],
        "units": [(value, value) for value in UNITS],
        "constructions": [(value, value) for value in CONSTRUCTIONS],
    }


# The network page ------------------------------------------------------------------------------------------------


NEW_SITE = FormState.of(biosafety_level=1)
NEW_SUITE = FormState.of(qc_analysts=0, same_product_hours=0, default_changeover_hours=0)


def network_page(
    request: Request,
    viewer: Viewer,
    *,
    site_form: FormState = NEW_SITE,
    suite_forms: Mapping[str, FormState] | None = None,
) -> HTMLResponse:
    """The network page, with a refused form shown again (and opened) when there is one."""
    sites = catalogue.list_sites(viewer.unit_of_work())
    suite_forms = suite_forms or {}
    refused = [form for form in (site_form, *suite_forms.values()) if form.refused]
    context = {
        "sites": sites,
        "can_edit": viewer.can(Action.EDIT_NETWORK),
        "site_form": site_form,
        "suite_forms": {site.name: suite_forms.get(site.name, NEW_SUITE) for site in sites},
        **_choices(),
    }
    return render(request, "network.html", context, status=refused[0].status if refused else 200)


@router.get("/network", response_class=HTMLResponse)
def network(request: Request, viewer: NetworkViewer) -> HTMLResponse:
    return network_page(request, viewer)


def _site_draft(read: Reader) -> editing.SiteDraft:
    return editing.SiteDraft(
        name=read.text("name"),
        region=read.text("region"),
        biosafety_level=read.whole("biosafety_level", default=1),
        certifications=read.labels("certifications"),
    )


@router.post("/network/sites")
def add_site(request: Request, viewer: NetworkEditor, values: FormValues) -> Response:
    outcome = submit(
        values,
        SITE_FIELDS,
        _site_draft,
        lambda draft: editing.add_site(viewer.unit_of_work(), draft, actor=viewer.identity.username),
        conflict_field="name",
    )
    if isinstance(outcome, FormState):
        return network_page(request, viewer, site_form=outcome)
    return saved(request, "/network", f"Site added: {outcome.name}.")


def _suite_draft(read: Reader) -> editing.SuiteDraft:
    return editing.SuiteDraft(
        name=read.text("name"),
        kind=read.choice("kind", KINDS),
        scale=read.number("scale"),
        scale_unit=read.choice("scale_unit", UNITS),
        capabilities=read.labels("capabilities"),
        construction=read.choice("construction", CONSTRUCTIONS, required=False) or None,
        qc_analysts=read.whole("qc_analysts", default=0),
        same_product_hours=read.whole("same_product_hours", default=0),
        default_changeover_hours=read.whole("default_changeover_hours", default=0),
    )


@router.post("/network/sites/{site}/suites")
def add_suite(request: Request, site: str, viewer: NetworkEditor, values: FormValues) -> Response:
    outcome = submit(
        values,
        SUITE_FIELDS,
        _suite_draft,
        lambda draft: editing.add_suite(viewer.unit_of_work(), site, draft, actor=viewer.identity.username),
        conflict_field="name",
    )
    if isinstance(outcome, FormState):
        catalogue.get_site(viewer.unit_of_work(), site)  # an unknown site answers 404, not a form
        return network_page(request, viewer, suite_forms={site: outcome})
    return saved(request, suite_path(outcome.name), f"Suite added to {site}: {outcome.name}.")


# A suite's page --------------------------------------------------------------------------------------------------


def _suite_values(suite: domain.Suite) -> FormState:
    return FormState.of(
        scale=suite.scale,
        scale_unit=suite.scale_unit.value,
        capabilities=suite.capabilities,
        construction=suite.construction.value if suite.construction is not None else None,
        qc_analysts=suite.qc_analysts,
        same_product_hours=suite.same_product_hours,
        default_changeover_hours=suite.default_changeover_hours,
    )


def suite_page(
    request: Request,
    viewer: Viewer,
    name: str,
    *,
    edit_form: FormState | None = None,
    downtime_form: FormState | None = None,
    removal_problem: str = "",
    status: int = 200,
) -> HTMLResponse:
    site, suite = catalogue.get_suite(viewer.unit_of_work(), name)
    context = {
        "site": site,
        "suite": suite,
        "can_edit": viewer.can(Action.EDIT_NETWORK),
        "edit_form": edit_form or _suite_values(suite),
        "downtime_form": downtime_form or FormState(),
        "removal_problem": removal_problem,
        **_choices(),
    }
    return render(request, "suite.html", context, status=status)


@router.get("/network/suites/{suite}", response_class=HTMLResponse)
def suite_detail(request: Request, suite: str, viewer: NetworkViewer) -> HTMLResponse:
    return suite_page(request, viewer, suite)


def _suite_changes(read: Reader) -> editing.SuiteChanges:
    return editing.SuiteChanges(
        scale=read.number("scale"),
        scale_unit=read.choice("scale_unit", UNITS),
        capabilities=read.labels("capabilities"),
        construction=read.choice("construction", CONSTRUCTIONS, required=False) or None,
        qc_analysts=read.whole("qc_analysts", default=0),
        same_product_hours=read.whole("same_product_hours", default=0),
        default_changeover_hours=read.whole("default_changeover_hours", default=0),
    )


@router.post("/network/suites/{suite}")
def update_suite(request: Request, suite: str, viewer: NetworkEditor, values: FormValues) -> Response:
    outcome = submit(
        values,
        SUITE_CHANGE_FIELDS,
        _suite_changes,
        lambda changes: editing.update_suite(viewer.unit_of_work(), suite, changes, actor=viewer.identity.username),
    )
    if isinstance(outcome, FormState):
        return suite_page(request, viewer, suite, edit_form=outcome, status=outcome.status)
    return saved(request, suite_path(outcome.name), f"Suite {outcome.name} saved.")


def _window(read: Reader) -> tuple[datetime, datetime, str]:
    return read.moment("start"), read.moment("end"), read.text("reason")


@router.post("/network/suites/{suite}/downtime")
def add_downtime(request: Request, suite: str, viewer: NetworkEditor, values: FormValues) -> Response:
    outcome = submit(
        values,
        DOWNTIME_FIELDS,
        _window,
        lambda window: editing.add_downtime(viewer.unit_of_work(), suite, *window, actor=viewer.identity.username),
    )
    if isinstance(outcome, FormState):
        return suite_page(request, viewer, suite, downtime_form=outcome, status=outcome.status)
    message = f"Downtime of {suite} added: {outcome.start:%Y-%m-%d %H:%M} to {outcome.end:%Y-%m-%d %H:%M} UTC."
    return saved(request, suite_path(suite), message)


@router.post("/network/suites/{suite}/downtime/remove")
def remove_downtime(request: Request, suite: str, viewer: NetworkEditor, values: FormValues) -> Response:
    read = Reader(values)
    start = read.moment("start")
    if read.errors:
        problem = "; ".join(f"{name}: {message}" for name, message in read.errors.items())
        return suite_page(request, viewer, suite, removal_problem=problem, status=422)
    try:
        editing.remove_downtime(viewer.unit_of_work(), suite, start, actor=viewer.identity.username)
    except NotFound as missing:
        if missing.kind != "downtime window":
            raise  # the suite itself: the error page
        gone = "this downtime window is no longer there: someone may have removed it already"
        return suite_page(request, viewer, suite, removal_problem=gone, status=404)
    return saved(request, suite_path(suite), f"Downtime of {suite} from {start:%Y-%m-%d %H:%M} UTC removed.")
