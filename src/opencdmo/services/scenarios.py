"""Use cases on whole scenarios: load one into the database, read the stored one back, and summarise it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from opencdmo import domain
from opencdmo.errors import Conflict
from opencdmo.services.unit_of_work import UnitOfWork

Progress = Callable[[str], None]


def _quiet(_step: str) -> None:
    return None


def import_scenario(
    uow: UnitOfWork, scenario: domain.Scenario, *, replace: bool = False, progress: Progress = _quiet
) -> dict[str, int]:
    """Store ``scenario`` in one transaction; with ``replace``, whatever was stored goes in the same one.

    Refuses a database that already holds data unless ``replace`` is given, so two networks never mix.
    A replace keeps the stored sponsors whose names are in ``scenario`` (their other fields are updated), so the
    users bound to them stay bound; it is refused while users belong to a sponsor that ``scenario`` leaves out.
    Returns the number of rows of each table afterwards.
    """
    with uow:
        if not uow.store.is_empty():
            if not replace:
                raise Conflict("the database already holds a network; import with --replace to replace it")
            progress("clearing the stored network")
            uow.store.clear(keep_sponsors=frozenset(sponsor.name for sponsor in scenario.sponsors))
        progress("storing the network")
        for family in scenario.product_families:
            uow.product_families.add(family)
        for site in scenario.sites:
            uow.sites.add(site)
        for process in scenario.processes:
            uow.processes.add(process)
        progress("storing sponsors and programs")
        kept = {sponsor.name: sponsor for sponsor in uow.sponsors.list()}
        for sponsor in scenario.sponsors:
            if sponsor.name in kept:
                _adopt(scenario, sponsor, kept[sponsor.name])
            else:
                uow.sponsors.add(sponsor)
        for program in scenario.programs:
            uow.programs.add(program)
        progress("storing orders and batches")
        for order in scenario.orders:
            uow.orders.add(order)
        progress("committing")
        uow.commit()
        return uow.store.row_counts()


def _adopt(scenario: domain.Scenario, new: domain.Sponsor, stored: domain.Sponsor) -> None:
    """Let the stored sponsor of the same name stand for ``new``: take its fields, and its records point to it."""
    stored.size = new.size
    for program in scenario.programs_of(new):
        program.sponsor = stored
    for order in scenario.orders_of(new):
        order.sponsor = stored
        for batch in order.batches:
            batch.sponsor = stored
    scenario.sponsors[scenario.sponsors.index(new)] = stored


def export_scenario(uow: UnitOfWork) -> domain.Scenario:
    """The stored network and order book (as far as the caller's scope may see) as one scenario."""
    with uow:
        return domain.Scenario(
            product_families=uow.product_families.list(),
            processes=uow.processes.list(),
            sites=uow.sites.list(),
            sponsors=uow.sponsors.list(),
            programs=uow.programs.list(),
            orders=uow.orders.list(),
        )


@dataclass(frozen=True)
class SponsorLine:
    name: str
    size: str
    programs: int
    orders: int
    batches: int
    order_value: Decimal


@dataclass(frozen=True)
class SiteLine:
    name: str
    region: str
    suites_by_kind: dict[str, int]
    downtime_windows: int


@dataclass(frozen=True)
class NetworkSummary:
    """What is in the database, in the words of a planner."""

    row_counts: dict[str, int]
    sites: list[SiteLine] = field(default_factory=list)
    sponsors: list[SponsorLine] = field(default_factory=list)
    batches_by_status: dict[str, int] = field(default_factory=dict)
    batches_by_modality: dict[str, int] = field(default_factory=dict)
    first_release: date | None = None
    last_due: date | None = None
    order_book_value: Decimal = Decimal("0.00")

    @property
    def is_empty(self) -> bool:
        return not any(self.row_counts.values())


def summarise(uow: UnitOfWork) -> NetworkSummary:
    """Counts and a summary of the network and the order book for ``opencdmo status`` and ``make run``."""
    scenario = export_scenario(uow)
    with uow:
        row_counts = uow.store.row_counts()
        by_status = uow.batches.count_by_status()
    sites = [
        SiteLine(
            name=site.name,
            region=site.region,
            suites_by_kind=dict(sorted(Counter(suite.kind.value for suite in site.suites).items())),
            downtime_windows=sum(len(suite.downtime) for suite in site.suites),
        )
        for site in scenario.sites
    ]
    sponsors = []
    for sponsor in scenario.sponsors:
        orders = scenario.orders_of(sponsor)
        sponsors.append(
            SponsorLine(
                name=sponsor.name,
                size=sponsor.size.value,
                programs=len(scenario.programs_of(sponsor)),
                orders=len(orders),
                batches=sum(len(order.batches) for order in orders),
                order_value=sum((order.value for order in orders), Decimal("0.00")),
            )
        )
    modality: Counter[str] = Counter()
    for order in scenario.orders:
        modality[order.program.modality.value] += len(order.batches)
    return NetworkSummary(
        row_counts=row_counts,
        sites=sites,
        sponsors=sponsors,
        batches_by_status={status.value: by_status.get(status, 0) for status in domain.BatchStatus},
        batches_by_modality=dict(modality.most_common()),
        first_release=min((order.release_date for order in scenario.orders), default=None),
        last_due=max((order.due_date for order in scenario.orders), default=None),
        order_book_value=sum((line.order_value for line in sponsors), Decimal("0.00")),
    )
