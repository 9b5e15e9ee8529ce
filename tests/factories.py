"""Small valid domain objects for tests; keyword arguments override any field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from opencdmo import domain


def family(name: str = "mab-igg", **overrides: Any) -> domain.ProductFamily:
    return domain.ProductFamily(name=name, **overrides)


def suite(name: str = "B-USP-1", **overrides: Any) -> domain.Suite:
    fields: dict[str, Any] = {
        "kind": domain.SuiteKind.UPSTREAM,
        "scale": 2000,
        "scale_unit": domain.ScaleUnit.LITRE,
        "capabilities": frozenset({"single-use"}),
        "construction": domain.Construction.SINGLE_USE,
        "same_product_hours": 12,
        "default_changeover_hours": 36,
    }
    fields.update(overrides)
    return domain.Suite(name=name, **fields)


def site(name: str = "Site B", **overrides: Any) -> domain.Site:
    fields: dict[str, Any] = {"region": "EU", "biosafety_level": 2, "certifications": frozenset({"ema"})}
    fields.update(overrides)
    return domain.Site(name=name, **fields)


def stage(name: str = "production", **overrides: Any) -> domain.Stage:
    fields: dict[str, Any] = {
        "suite_kind": domain.SuiteKind.UPSTREAM,
        "duration_hours": 336,
        "capabilities": frozenset({"single-use"}),
    }
    fields.update(overrides)
    return domain.Stage(name=name, **fields)


def process(name: str = "mAb 2000 L", **overrides: Any) -> domain.ProcessTemplate:
    fields: dict[str, Any] = {
        "stages": [
            stage("production", max_hold_hours=48),
            stage("purification", suite_kind="downstream", capabilities=frozenset(), duration_hours=144),
        ],
        "qc_release_hours": 720,
        "qc_analysts": 2,
    }
    fields.update(overrides)
    return domain.ProcessTemplate(name=name, **fields)


def sponsor(name: str = "Northwind Biologics", **overrides: Any) -> domain.Sponsor:
    return domain.Sponsor(name=name, **{"size": domain.SponsorSize.LARGE, **overrides})


def program(**overrides: Any) -> domain.Program:
    fields: dict[str, Any] = {
        "name": "NWB-101",
        "modality": domain.Modality.MONOCLONAL_ANTIBODY,
        "phase": domain.Phase.COMMERCIAL,
    }
    fields.update(overrides)
    fields.setdefault("sponsor", sponsor())
    fields.setdefault("product_family", family())
    fields.setdefault("process", process())
    return domain.Program(**fields)


def order(**overrides: Any) -> domain.Order:
    fields: dict[str, Any] = {
        "number": "PO-1",
        "batch_count": 3,
        "release_date": date(2027, 1, 4),
        "due_date": date(2027, 6, 30),
        "priority": 2,
        "late_penalty_per_day": 40000,
        "price_per_batch": 2400000,
    }
    fields.update(overrides)
    if "program" not in fields:
        fields["program"] = program(sponsor=fields.get("sponsor") or sponsor())
    fields.setdefault("sponsor", fields["program"].sponsor)
    return domain.Order(**fields)


def at(day: int, hour: int = 0, month: int = 3) -> datetime:
    return datetime(2027, month, day, hour, tzinfo=UTC)
