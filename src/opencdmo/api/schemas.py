"""What the API returns: ``XPublic`` models built from domain objects, never the storage tables.

Names of related records (a batch's order number, an order's sponsor) stand in for database ids, which
callers never see.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from opencdmo import domain


class Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class DowntimePublic(Public):
    start: datetime
    end: datetime
    reason: str


class SuitePublic(Public):
    name: str
    kind: str
    scale: float
    scale_unit: str
    capabilities: list[str]
    construction: str | None
    qc_analysts: int
    downtime: list[DowntimePublic]

    @classmethod
    def from_domain(cls, suite: domain.Suite) -> SuitePublic:
        return cls(
            name=suite.name,
            kind=suite.kind.value,
            scale=suite.scale,
            scale_unit=suite.scale_unit.value,
            capabilities=sorted(suite.capabilities),
            construction=None if suite.construction is None else suite.construction.value,
            qc_analysts=suite.qc_analysts,
            downtime=[
                DowntimePublic(start=window.start, end=window.end, reason=window.reason) for window in suite.downtime
            ],
        )


class SitePublic(Public):
    name: str
    region: str
    biosafety_level: int
    certifications: list[str]
    suites: list[SuitePublic]

    @classmethod
    def from_domain(cls, site: domain.Site) -> SitePublic:
        return cls(
            name=site.name,
            region=site.region,
            biosafety_level=site.biosafety_level,
            certifications=sorted(site.certifications),
            suites=[SuitePublic.from_domain(suite) for suite in site.suites],
        )


class SponsorPublic(Public):
    name: str
    size: str

    @classmethod
    def from_domain(cls, sponsor: domain.Sponsor) -> SponsorPublic:
        return cls(name=sponsor.name, size=sponsor.size.value)


class ProgramPublic(Public):
    name: str
    sponsor: str
    modality: str
    phase: str
    product_family: str
    process: str

    @classmethod
    def from_domain(cls, program: domain.Program) -> ProgramPublic:
        return cls(
            name=program.name,
            sponsor=program.sponsor.name,
            modality=program.modality.value,
            phase=program.phase.value,
            product_family=program.product_family.name,
            process=program.process.name,
        )


class BatchPublic(Public):
    lot_number: str
    order: str
    sponsor: str
    status: str
    cancel_reason: str | None

    @classmethod
    def from_domain(cls, batch: domain.Batch) -> BatchPublic:
        return cls(
            lot_number=batch.lot_number,
            order=batch.order.number,
            sponsor=batch.sponsor.name,
            status=batch.status.value,
            cancel_reason=batch.cancel_reason,
        )


class OrderPublic(Public):
    number: str
    sponsor: str
    program: str
    batch_count: int
    release_date: date
    due_date: date
    priority: int
    late_penalty_per_day: Decimal
    price_per_batch: Decimal
    batches: list[BatchPublic]

    @classmethod
    def from_domain(cls, order: domain.Order) -> OrderPublic:
        return cls(
            number=order.number,
            sponsor=order.sponsor.name,
            program=order.program.name,
            batch_count=order.batch_count,
            release_date=order.release_date,
            due_date=order.due_date,
            priority=order.priority,
            late_penalty_per_day=order.late_penalty_per_day,
            price_per_batch=order.price_per_batch,
            batches=[BatchPublic.from_domain(batch) for batch in order.batches],
        )


class ErrorPublic(Public):
    """Every error answer: a stable machine-readable ``error`` and a ``detail`` in the user's words."""

    error: str
    detail: str


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error answers a route can give."""
    words = {
        401: "No valid bearer token",
        403: "The caller's role may not do this",
        404: "No such record, or not visible to the caller",
        409: "Clashes with stored data",
        422: "Invalid input",
    }
    return {status: {"model": ErrorPublic, "description": words[status]} for status in statuses}
