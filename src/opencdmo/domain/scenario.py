"""A whole network and order book in one value: what a scenario file holds and what the demo builds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from opencdmo.domain.batches import Batch
from opencdmo.domain.families import ProductFamily
from opencdmo.domain.network import Site, Suite, SuiteKind
from opencdmo.domain.orders import Order
from opencdmo.domain.processes import ProcessTemplate, Stage
from opencdmo.domain.sponsors import Program, Sponsor


@dataclass
class Scenario:
    """Everything the CDMO plans with, in dependency order: families and processes, the network, then the
    sponsors with their programs, orders and batches."""

    product_families: list[ProductFamily] = field(default_factory=list)
    processes: list[ProcessTemplate] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    sponsors: list[Sponsor] = field(default_factory=list)
    programs: list[Program] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)

    @property
    def suites(self) -> Iterator[Suite]:
        for site in self.sites:
            yield from site.suites

    @property
    def batches(self) -> Iterator[Batch]:
        for order in self.orders:
            yield from order.batches

    def programs_of(self, sponsor: Sponsor) -> list[Program]:
        return [program for program in self.programs if program.sponsor is sponsor]

    def orders_of(self, sponsor: Sponsor) -> list[Order]:
        return [order for order in self.orders if order.sponsor is sponsor]


def suites_able_to_run(stage: Stage, sites: list[Site]) -> list[Suite]:
    """The suites of the network that have the kind and every capability the stage needs."""
    return [suite for site in sites for suite in site.suites if stage.runs_in(suite)]


def qc_labs_able_to_release(process: ProcessTemplate, sites: list[Site]) -> list[Suite]:
    """The QC labs with enough analysts for the process's release testing (all labs if it needs none)."""
    return [
        suite
        for site in sites
        for suite in site.suites
        if suite.kind is SuiteKind.QC_LAB and suite.qc_analysts >= process.qc_analysts
    ]
