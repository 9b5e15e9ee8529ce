"""Sponsors and their work: programs, orders and batches, as far as the caller's scope may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from opencdmo.api.deps import Caller, require
from opencdmo.api.schemas import BatchPublic, OrderPublic, ProgramPublic, SponsorPublic, error_responses
from opencdmo.domain import Action
from opencdmo.services import catalogue

router = APIRouter(tags=["sponsors' work"], responses=error_responses(401, 403))

SponsorViewer = Annotated[Caller, Depends(require(Action.VIEW_SPONSORS))]
OrderViewer = Annotated[Caller, Depends(require(Action.VIEW_ORDERS))]
NOT_FOUND = error_responses(404)


@router.get("/sponsors")
def list_sponsors(caller: SponsorViewer) -> list[SponsorPublic]:
    return [SponsorPublic.from_domain(sponsor) for sponsor in catalogue.list_sponsors(caller.unit_of_work())]


@router.get("/programs")
def list_programs(caller: OrderViewer) -> list[ProgramPublic]:
    return [ProgramPublic.from_domain(program) for program in catalogue.list_programs(caller.unit_of_work())]


@router.get("/orders")
def list_orders(caller: OrderViewer) -> list[OrderPublic]:
    return [OrderPublic.from_domain(order) for order in catalogue.list_orders(caller.unit_of_work())]


@router.get("/orders/{number}", responses=NOT_FOUND)
def get_order(number: str, caller: OrderViewer) -> OrderPublic:
    return OrderPublic.from_domain(catalogue.get_order(caller.unit_of_work(), number))


@router.get("/batches/{lot_number}", responses=NOT_FOUND)
def get_batch(lot_number: str, caller: OrderViewer) -> BatchPublic:
    return BatchPublic.from_domain(catalogue.get_batch(caller.unit_of_work(), lot_number))
