"""The REST API under /api/v1: thin routes over the same services as the CLI. Build it with :func:`create_app`."""

from opencdmo.api.app import create_app

__all__ = ["create_app"]
