"""API routes, one module per area. Thin: parse, call a service with the caller's unit of work, return XPublic."""

from __future__ import annotations

from fastapi import APIRouter

from opencdmo.api.routes import client_work, network, schedules

ROUTERS: tuple[APIRouter, ...] = (network.router, client_work.router, schedules.router)
"""Every router of /api/v1, in the order the OpenAPI document lists them."""
