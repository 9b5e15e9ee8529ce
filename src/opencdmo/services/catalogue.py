"""Read use cases for the API and the web pages: the network and the sponsors' work, as the caller may see it.

The unit of work carries the caller's scope, so a sponsor's caller only ever loads its own records; a record
of another sponsor raises :class:`NotFound` exactly as a missing one does.
"""

from __future__ import annotations

from opencdmo import domain
from opencdmo.errors import NotFound
from opencdmo.services.unit_of_work import UnitOfWork


def list_sites(uow: UnitOfWork) -> list[domain.Site]:
    with uow:
        return uow.sites.list()


def list_sponsors(uow: UnitOfWork) -> list[domain.Sponsor]:
    with uow:
        return uow.sponsors.list()


def list_programs(uow: UnitOfWork) -> list[domain.Program]:
    with uow:
        return uow.programs.list()


def list_orders(uow: UnitOfWork) -> list[domain.Order]:
    with uow:
        return uow.orders.list()


def get_order(uow: UnitOfWork, number: str) -> domain.Order:
    with uow:
        found = uow.orders.get(number)
    if found is None:
        raise NotFound("order", number)
    return found


def get_batch(uow: UnitOfWork, lot_number: str) -> domain.Batch:
    with uow:
        found = uow.batches.get(lot_number)
    if found is None:
        raise NotFound("batch", lot_number)
    return found
