"""The CDMO's own network: sites with their suites and downtime."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from opencdmo.api.deps import Caller, require
from opencdmo.api.schemas import SitePublic, error_responses
from opencdmo.domain import Action
from opencdmo.services import catalogue

router = APIRouter(tags=["network"], responses=error_responses(401, 403))

NetworkViewer = Annotated[Caller, Depends(require(Action.VIEW_NETWORK))]


@router.get("/sites")
def list_sites(caller: NetworkViewer) -> list[SitePublic]:
    return [SitePublic.from_domain(site) for site in catalogue.list_sites(caller.unit_of_work())]
