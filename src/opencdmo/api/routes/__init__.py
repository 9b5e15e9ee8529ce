"""API routes, one module per area. Thin: parse, call a service with the caller's unit of work, return XPublic."""

from __future__ import annotations

from fastapi import APIRouter

from opencdmo.api.routes import (
    account,
    audit,
    batch_records,
    client_work,
    deviations,
    disposition,
    master_records,
    network,
    qc,
    schedules,
    training,
)

ROUTERS: tuple[APIRouter, ...] = (
    network.router,
    client_work.router,
    schedules.router,
    account.router,
    training.router,
    master_records.router,
    batch_records.router,
    deviations.router,
    qc.router,
    disposition.router,
    audit.router,
)
"""Every router of /api/v1, in the order the OpenAPI document lists them."""
