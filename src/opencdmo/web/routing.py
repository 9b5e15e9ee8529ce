"""The route class of every web page: errors become HTML pages (JSON on ``.json`` data endpoints), a missing
session becomes a redirect to the sign-in page. The API's JSON error handlers never see a page's error."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute

from opencdmo.errors import Unauthorized
from opencdmo.web.rendering import error_answer
from opencdmo.web.sessions import LoginRequired, login_url, requested_path

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class PageRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        as_json = self.path.endswith(".json")

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except (LoginRequired, Unauthorized) as signal:
                if as_json:
                    detail = "sign in first: the session is missing, expired or revoked"
                    return JSONResponse({"error": "unauthorized", "detail": detail}, status_code=401)
                next_path = signal.next_path if isinstance(signal, LoginRequired) else requested_path(request)
                return RedirectResponse(login_url(next_path), status_code=303)
            except Exception as error:  # every error of a page is answered here, once
                return error_answer(request, error, as_json=as_json)

        return page_handler
