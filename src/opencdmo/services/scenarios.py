"""Use cases on whole scenarios: load one into the database, read the stored one back, and summarise it.

A scenario read from a file is loaded with :func:`import_checked` (EU GMP Annex 11 §4.8, A11-01): per kind of
record it counts the records and hashes them before storing, reads what the database stores back in the same
transaction and counts and hashes again, and commits only when both agree; one audit event records the file,
the counts and the hashes.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from opencdmo import domain
from opencdmo.domain.audit import MAX_RECORD_ID_LENGTH
from opencdmo.errors import Conflict
from opencdmo.services import audit
from opencdmo.services.unit_of_work import UnitOfWork

Progress = Callable[[str], None]
Document = Callable[[domain.Scenario], Mapping[str, Any]]
"""The canonical plain-data form of a scenario, as a scenario file writes it (adapters.scenario_file)."""


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
        _store(uow, scenario, replace=replace, progress=progress)
        progress("committing")
        uow.commit()
        return uow.store.row_counts()


def _store(uow: UnitOfWork, scenario: domain.Scenario, *, replace: bool, progress: Progress) -> None:
    """Add ``scenario`` in the open unit of work (clearing what is stored first, with ``replace``)."""
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


# Checked import (A11-01) -----------------------------------------------------------------------------------------

KINDS = ("product_families", "processes", "sites", "suites", "sponsors", "programs", "orders", "batches")
"""The kinds of record an import counts and hashes, in the order they are reported."""


@dataclass(frozen=True)
class KindCheck:
    """One kind of record: how many and their SHA-256 as read from the file, and as read back from the database."""

    kind: str
    file_count: int
    file_sha256: str
    stored_count: int
    stored_sha256: str

    @property
    def matches(self) -> bool:
        return self.file_count == self.stored_count and self.file_sha256 == self.stored_sha256


@dataclass(frozen=True)
class ImportReport:
    """What a checked import stored: the check of each kind (all matching) and the table row counts after it."""

    source: str
    checks: tuple[KindCheck, ...]
    row_counts: dict[str, int]


def _canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _without(record: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in record.items() if name != key}


def records_by_kind(document: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The records of a scenario document by kind; a child record (a suite, a program, a batch) names its parent
    and leaves the parent's record, so a difference shows in its own kind only."""
    sites = document.get("sites", [])
    sponsors = document.get("sponsors", [])
    orders = document.get("orders", [])
    return {
        "product_families": [dict(family) for family in document.get("product_families", [])],
        "processes": [dict(process) for process in document.get("processes", [])],
        "sites": [_without(site, "suites") for site in sites],
        "suites": [{"site": site["name"], **suite} for site in sites for suite in site.get("suites", [])],
        "sponsors": [_without(sponsor, "programs") for sponsor in sponsors],
        "programs": [
            {"sponsor": sponsor["name"], **program} for sponsor in sponsors for program in sponsor.get("programs", [])
        ],
        "orders": [_without(order, "batches") for order in orders],
        "batches": [{"order": order["number"], **batch} for order in orders for batch in order.get("batches", [])],
    }


def fingerprint(document: Mapping[str, Any]) -> dict[str, tuple[int, str]]:
    """(count, SHA-256) per kind: the hash is over the kind's records, each written as compact JSON with sorted
    keys on a line of its own, the lines in sorted order (the order records are stored in does not count)."""
    prints = {}
    for kind, records in records_by_kind(document).items():
        lines = sorted(_canonical(record) for record in records)
        digest = hashlib.sha256("".join(f"{line}\n" for line in lines).encode("utf-8")).hexdigest()
        prints[kind] = (len(lines), digest)
    return prints


def import_checked(
    uow: UnitOfWork,
    scenario: domain.Scenario,
    *,
    source: str,
    document: Document,
    replace: bool = False,
    actor: str = audit.SYSTEM,
    progress: Progress = _quiet,
) -> ImportReport:
    """Store ``scenario`` (read from the file ``source``) like :func:`import_scenario`, checked (A11-01).

    Before storing, each kind of record is counted and hashed in its canonical form (``document``, the form a
    scenario file is written in). After storing, still in the same transaction, what the database holds is read
    back (not the objects in memory) and counted and hashed the same way. Any difference refuses the import
    with a :class:`Conflict` naming the kinds, and nothing is stored. Otherwise one ``import`` audit event
    (record type ``scenario``, the file's name) records the counts and hashes, and the import commits.
    """
    expected = fingerprint(document(scenario))
    with uow:
        _store(uow, scenario, replace=replace, progress=progress)
        progress("reading the stored records back")
        uow.reread()
        found = fingerprint(document(_stored(uow)))
        checks = tuple(KindCheck(kind, *expected[kind], *found[kind]) for kind in KINDS)
        differing = [check for check in checks if not check.matches]
        if differing:
            details = "; ".join(
                f"{check.kind}: {check.file_count} in the file (SHA-256 {check.file_sha256[:12]}), "
                f"{check.stored_count} read back (SHA-256 {check.stored_sha256[:12]})"
                for check in differing
            )
            raise Conflict(
                f"the import of {source} was checked and refused, nothing was stored: what the database read back "
                f"differs from the file for {', '.join(check.kind for check in differing)} ({details})"
            )
        evidence = {check.kind: {"count": check.file_count, "sha256": check.file_sha256} for check in checks}
        audit.record(
            uow,
            actor=actor,
            action="import",
            record_type="scenario",
            record_id=source[:MAX_RECORD_ID_LENGTH],
            new={"replace": replace, "kinds": evidence},
        )
        progress("committing")
        uow.commit()
        return ImportReport(source=source, checks=checks, row_counts=uow.store.row_counts())


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
        return _stored(uow)


def _stored(uow: UnitOfWork) -> domain.Scenario:
    """What the open unit of work's repositories hold, as one scenario."""
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
