"""The CDMO's own network: sites with their suites and downtime, and the process templates batches follow."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from opencdmo.api.deps import Caller, location, require
from opencdmo.api.schemas import (
    DowntimeCreate,
    DowntimePublic,
    Moment,
    Printable,
    ProcessPublic,
    SiteCreate,
    SitePublic,
    SiteUpdate,
    SuiteCreate,
    SuiteInSitePublic,
    SuitePublic,
    SuiteUpdate,
    error_responses,
)
from opencdmo.domain import Action
from opencdmo.services import catalogue, editing

router = APIRouter(tags=["network"], responses=error_responses(401, 403))

NetworkViewer = Annotated[Caller, Depends(require(Action.VIEW_NETWORK))]
NetworkEditor = Annotated[Caller, Depends(require(Action.EDIT_NETWORK))]
SiteName = Annotated[str, Path(max_length=60), Printable]
SuiteName = Annotated[str, Path(max_length=60), Printable]
NOT_FOUND = error_responses(404, 422)
CREATED = error_responses(409, 422)
CHANGED = error_responses(404, 422)


@router.get("/sites")
def list_sites(caller: NetworkViewer) -> list[SitePublic]:
    return [SitePublic.from_domain(site) for site in catalogue.list_sites(caller.unit_of_work())]


@router.post("/sites", status_code=status.HTTP_201_CREATED, responses=CREATED)
def add_site(body: SiteCreate, caller: NetworkEditor, response: Response) -> SitePublic:
    site = editing.add_site(
        caller.unit_of_work(), editing.SiteDraft(**body.model_dump()), actor=caller.identity.username
    )
    response.headers["Location"] = location("sites", site.name)
    return SitePublic.from_domain(site)


@router.get("/sites/{name}", responses=NOT_FOUND)
def get_site(name: SiteName, caller: NetworkViewer) -> SitePublic:
    return SitePublic.from_domain(catalogue.get_site(caller.unit_of_work(), name))


@router.patch("/sites/{name}", responses=CHANGED)
def update_site(name: SiteName, body: SiteUpdate, caller: NetworkEditor) -> SitePublic:
    site = editing.update_site(
        caller.unit_of_work(), name, editing.SiteChanges(**body.given()), actor=caller.identity.username
    )
    return SitePublic.from_domain(site)


@router.get("/suites", responses=NOT_FOUND)
def list_suites(
    caller: NetworkViewer,
    site: Annotated[str | None, Query(max_length=60, description="Only this site's."), Printable] = None,
) -> list[SuiteInSitePublic]:
    return [SuiteInSitePublic.of(at.name, suite) for at, suite in catalogue.list_suites(caller.unit_of_work(), site)]


@router.post("/sites/{site}/suites", status_code=status.HTTP_201_CREATED, responses=error_responses(404, 409, 422))
def add_suite(site: SiteName, body: SuiteCreate, caller: NetworkEditor, response: Response) -> SuiteInSitePublic:
    suite = editing.add_suite(
        caller.unit_of_work(), site, editing.SuiteDraft(**body.model_dump()), actor=caller.identity.username
    )
    response.headers["Location"] = location("suites", suite.name)
    return SuiteInSitePublic.of(site, suite)


@router.get("/suites/{name}", responses=NOT_FOUND)
def get_suite(name: SuiteName, caller: NetworkViewer) -> SuiteInSitePublic:
    at, suite = catalogue.get_suite(caller.unit_of_work(), name)
    return SuiteInSitePublic.of(at.name, suite)


@router.patch("/suites/{name}", responses=CHANGED)
def update_suite(name: SuiteName, body: SuiteUpdate, caller: NetworkEditor) -> SuitePublic:
    suite = editing.update_suite(
        caller.unit_of_work(), name, editing.SuiteChanges(**body.given()), actor=caller.identity.username
    )
    return SuitePublic.from_domain(suite)


@router.post("/suites/{name}/downtime", status_code=status.HTTP_201_CREATED, responses=CHANGED)
def add_downtime(name: SuiteName, body: DowntimeCreate, caller: NetworkEditor) -> DowntimePublic:
    window = editing.add_downtime(
        caller.unit_of_work(), name, body.start, body.end, body.reason, actor=caller.identity.username
    )
    return DowntimePublic.from_domain(window)


@router.delete("/suites/{name}/downtime/{start}", status_code=status.HTTP_204_NO_CONTENT, responses=CHANGED)
def remove_downtime(
    name: SuiteName,
    start: Annotated[datetime, Path(description="The window's start, e.g. 2027-08-02T06:00:00Z"), Moment],
    caller: NetworkEditor,
) -> None:
    editing.remove_downtime(caller.unit_of_work(), name, start, actor=caller.identity.username)


@router.get("/processes")
def list_processes(caller: NetworkViewer) -> list[ProcessPublic]:
    return [ProcessPublic.from_domain(process) for process in catalogue.list_processes(caller.unit_of_work())]


@router.get("/processes/{name}", responses=NOT_FOUND)
def get_process(name: Annotated[str, Path(max_length=80), Printable], caller: NetworkViewer) -> ProcessPublic:
    return ProcessPublic.from_domain(catalogue.get_process(caller.unit_of_work(), name))
