"""The error tree mapped once to JSON answers ``{"error", "detail"}`` with their HTTP status.

Framework errors (unknown route, malformed request) get the same shape, so a client parses one format.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from opencdmo import errors

# Most specific first: the first matching class decides the status and the error name.
STATUS: tuple[tuple[type[errors.OpenCDMOError], int, str], ...] = (
    (errors.Unauthorized, 401, "unauthorized"),
    (errors.Forbidden, 403, "forbidden"),
    (errors.NotFound, 404, "not-found"),
    (errors.Conflict, 409, "conflict"),
    (errors.InputError, 422, "invalid-input"),
    (errors.DomainError, 422, "rule-broken"),
    (errors.ConfigurationError, 503, "unavailable"),
)


def status_of(error: errors.OpenCDMOError) -> tuple[int, str]:
    for kind, status, name in STATUS:
        if isinstance(error, kind):
            return status, name
    return 500, "internal-error"


def _answer(status: int, name: str, detail: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": name, "detail": detail}, status_code=status, headers=headers)


async def _opencdmo_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, errors.OpenCDMOError)
    status, name = status_of(error)
    return _answer(status, name, str(error))


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    return _answer(error.status_code, "http-error", str(error.detail))


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}" for problem in error.errors()
    )
    return _answer(422, "invalid-input", problems)


async def _internal_error(_request: Request, _error: Exception) -> JSONResponse:
    # Never the exception's text: it may carry SQL, paths or another sponsor's values.
    return _answer(500, "internal-error", "the server failed to handle the request; it has been logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _internal_error)
    app.add_exception_handler(errors.OpenCDMOError, _opencdmo_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
