"""Sponsors and their work: programs, orders and batches, as far as the caller's scope may see.

A sponsor user asking for another sponsor's record gets the same 404 as for a missing one.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Response, status

from opencdmo.api.deps import Caller, location, require
from opencdmo.api.schemas import (
    BatchPublic,
    OrderCreate,
    OrderPublic,
    OrderUpdate,
    Printable,
    ProgramCreate,
    ProgramPublic,
    SponsorCreate,
    SponsorPublic,
    error_responses,
)
from opencdmo.domain import Action, BatchStatus
from opencdmo.services import catalogue, editing

router = APIRouter(tags=["sponsors' work"], responses=error_responses(401, 403))

SponsorViewer = Annotated[Caller, Depends(require(Action.VIEW_SPONSORS))]
SponsorEditor = Annotated[Caller, Depends(require(Action.EDIT_SPONSORS))]
OrderViewer = Annotated[Caller, Depends(require(Action.VIEW_ORDERS))]
OrderEditor = Annotated[Caller, Depends(require(Action.EDIT_ORDERS))]
SponsorName = Annotated[str, Path(max_length=120), Printable]
ProgramName = Annotated[str, Path(max_length=120), Printable]
OrderNumber = Annotated[str, Path(max_length=40), Printable]
NOT_FOUND = error_responses(404, 422)
INVALID = error_responses(422)
CREATED = error_responses(409, 422)


@router.get("/sponsors")
def list_sponsors(caller: SponsorViewer) -> list[SponsorPublic]:
    return [SponsorPublic.from_domain(sponsor) for sponsor in catalogue.list_sponsors(caller.unit_of_work())]


@router.post("/sponsors", status_code=status.HTTP_201_CREATED, responses=CREATED)
def add_sponsor(body: SponsorCreate, caller: SponsorEditor, response: Response) -> SponsorPublic:
    sponsor = editing.add_sponsor(
        caller.unit_of_work(), editing.SponsorDraft(**body.model_dump()), actor=caller.identity.username
    )
    response.headers["Location"] = location("sponsors", sponsor.name)
    return SponsorPublic.from_domain(sponsor)


@router.get("/sponsors/{name}", responses=NOT_FOUND)
def get_sponsor(name: SponsorName, caller: SponsorViewer) -> SponsorPublic:
    return SponsorPublic.from_domain(catalogue.get_sponsor(caller.unit_of_work(), name))


@router.get("/programs")
def list_programs(caller: OrderViewer) -> list[ProgramPublic]:
    return [ProgramPublic.from_domain(program) for program in catalogue.list_programs(caller.unit_of_work())]


@router.post("/programs", status_code=status.HTTP_201_CREATED, responses=CREATED)
def add_program(body: ProgramCreate, caller: SponsorEditor, response: Response) -> ProgramPublic:
    program = editing.add_program(
        caller.unit_of_work(), editing.ProgramDraft(**body.model_dump()), actor=caller.identity.username
    )
    response.headers["Location"] = f"{location('programs', program.name)}?sponsor={quote(program.sponsor.name)}"
    return ProgramPublic.from_domain(program)


@router.get("/programs/{name}", responses=error_responses(404, 422))
def get_program(
    name: ProgramName,
    caller: OrderViewer,
    sponsor: Annotated[
        str | None,
        Query(max_length=120, description="The sponsor, when two sponsors have a program so named."),
        Printable,
    ] = None,
) -> ProgramPublic:
    return ProgramPublic.from_domain(catalogue.get_program(caller.unit_of_work(), name, sponsor))


@router.get("/orders", responses=INVALID)
def list_orders(
    caller: OrderViewer,
    sponsor: Annotated[str | None, Query(max_length=120, description="Only this sponsor's orders."), Printable] = None,
    batch_status: Annotated[
        BatchStatus | None, Query(alias="status", description="Only orders with a batch in this status.")
    ] = None,
    due_before: Annotated[date | None, Query(description="Only orders due before this date.")] = None,
) -> list[OrderPublic]:
    orders = catalogue.find_orders(
        caller.unit_of_work(), sponsor=sponsor, batch_status=batch_status, due_before=due_before
    )
    return [OrderPublic.from_domain(order) for order in orders]


@router.post("/orders", status_code=status.HTTP_201_CREATED, responses=CREATED)
def create_order(body: OrderCreate, caller: OrderEditor, response: Response) -> OrderPublic:
    order = editing.create_order(
        caller.unit_of_work(), editing.OrderDraft(**body.model_dump()), actor=caller.identity.username
    )
    response.headers["Location"] = location("orders", order.number)
    return OrderPublic.from_domain(order)


@router.get("/orders/{number}", responses=NOT_FOUND)
def get_order(number: OrderNumber, caller: OrderViewer) -> OrderPublic:
    return OrderPublic.from_domain(catalogue.get_order(caller.unit_of_work(), number))


@router.patch("/orders/{number}", responses=error_responses(404, 422))
def update_order(number: OrderNumber, body: OrderUpdate, caller: OrderEditor) -> OrderPublic:
    order = editing.update_order(
        caller.unit_of_work(), number, editing.OrderChanges(**body.given()), actor=caller.identity.username
    )
    return OrderPublic.from_domain(order)


@router.get("/batches", responses=INVALID)
def list_batches(
    caller: OrderViewer,
    batch_status: Annotated[
        BatchStatus | None, Query(alias="status", description="Only batches in this status.")
    ] = None,
    order: Annotated[str | None, Query(max_length=40, description="Only this order's batches."), Printable] = None,
) -> list[BatchPublic]:
    batches = catalogue.list_batches(caller.unit_of_work(), status=batch_status, order=order)
    return [BatchPublic.from_domain(batch) for batch in batches]


@router.get("/batches/{lot_number}", responses=NOT_FOUND)
def get_batch(lot_number: Annotated[str, Path(max_length=40), Printable], caller: OrderViewer) -> BatchPublic:
    return BatchPublic.from_domain(catalogue.get_batch(caller.unit_of_work(), lot_number))
