"""Read use cases for the API and the web pages: the network and the sponsors' work, as the caller may see it.

The unit of work carries the caller's scope, so a sponsor's caller only ever loads its own records; a record
of another sponsor raises :class:`NotFound` exactly as a missing one does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

from opencdmo import domain
from opencdmo.errors import InputError, NotFound
from opencdmo.services._names import can_name_a_record
from opencdmo.services.unit_of_work import UnitOfWork

T = TypeVar("T")


def _named(uow: UnitOfWork, kind: str, name: str, lookup: Callable[[], T | None]) -> T:
    """The record ``lookup()`` finds in ``uow``, or NotFound; a name no record can have is not even looked up."""
    with uow:
        found = lookup() if can_name_a_record(name) else None
    if found is None:
        raise NotFound(kind, name)
    return found


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
    return _named(uow, "order", number, lambda: uow.orders.get(number))


def get_batch(uow: UnitOfWork, lot_number: str) -> domain.Batch:
    return _named(uow, "batch", lot_number, lambda: uow.batches.get(lot_number))


def get_site(uow: UnitOfWork, name: str) -> domain.Site:
    return _named(uow, "site", name, lambda: uow.sites.get(name))


def list_suites(uow: UnitOfWork, site: str | None = None) -> list[tuple[domain.Site, domain.Suite]]:
    """Every suite with its site, or only those of the site named ``site``."""
    if site is not None:
        chosen = get_site(uow, site)
        return [(chosen, suite) for suite in chosen.suites]
    return [(each, suite) for each in list_sites(uow) for suite in each.suites]


def get_suite(uow: UnitOfWork, name: str) -> tuple[domain.Site, domain.Suite]:
    """The suite named ``name`` with its site."""
    with uow:
        site = uow.sites.of_suite(name) if can_name_a_record(name) else None
    suite = None if site is None else next((suite for suite in site.suites if suite.name == name), None)
    if site is None or suite is None:
        raise NotFound("suite", name)
    return site, suite


def list_processes(uow: UnitOfWork) -> list[domain.ProcessTemplate]:
    with uow:
        return uow.processes.list()


def get_process(uow: UnitOfWork, name: str) -> domain.ProcessTemplate:
    return _named(uow, "process", name, lambda: uow.processes.get(name))


def get_sponsor(uow: UnitOfWork, name: str) -> domain.Sponsor:
    return _named(uow, "sponsor", name, lambda: uow.sponsors.get(name))


def get_program(uow: UnitOfWork, name: str, sponsor: str | None = None) -> domain.Program:
    """The program ``name`` (of the sponsor named ``sponsor``: two sponsors may each have a program so named)."""
    if not can_name_a_record(name):
        raise NotFound("program", name)
    with uow:
        found = [program for program in uow.programs.named(name) if sponsor is None or program.sponsor.name == sponsor]
    if not found:
        raise NotFound("program", name)
    if len(found) > 1:
        raise InputError(f"sponsor: {len(found)} sponsors have a program named {name!r}; name the sponsor")
    return found[0]


def find_orders(
    uow: UnitOfWork,
    *,
    sponsor: str | None = None,
    batch_status: domain.BatchStatus | None = None,
    due_before: date | None = None,
) -> list[domain.Order]:
    """Orders of the sponsor named ``sponsor``, having a batch in ``batch_status``, due before ``due_before``."""
    if sponsor is not None and not can_name_a_record(sponsor):
        return []
    with uow:
        return uow.orders.search(sponsor=sponsor, batch_status=batch_status, due_before=due_before)


def list_batches(
    uow: UnitOfWork, *, status: domain.BatchStatus | None = None, order: str | None = None
) -> list[domain.Batch]:
    """Batches in ``status``, or of the order numbered ``order``; an unknown order gives no batches."""
    if order is not None and not can_name_a_record(order):
        return []
    with uow:
        return uow.batches.list(status=status, order=order)
