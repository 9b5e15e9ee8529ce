"""The signed-in user's own account: where their password stands, and the form to change it.

An administrator's reset, or a password older than the configured maximum age, leaves the user signed in but
unable to sign records until they choose a password of their own here (21 CFR Part 11 §11.300). Every page
shows a banner linking here while that is due. The form checks the session's CSRF token; a wrong current
password counts as a failed sign-in. Passwords are never shown again in a refused form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opencdmo.errors import InputError, Unauthorized
from opencdmo.services import accounts
from opencdmo.web import flash
from opencdmo.web.forms import FormState, FormValues
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import FormViewer, Viewer, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

AnyViewer = Annotated[Viewer, Depends(page())]

PASSWORD_PATH = "/account/password"  # noqa: S105 (a path, not a secret)
FIELDS = ("current_password", "new_password", "confirm_password")
REQUIRED = "required"


def password_page(request: Request, viewer: Viewer, form: FormState | None = None) -> HTMLResponse:
    form = form or FormState()
    context = {
        "account": accounts.account(viewer.unit_of_work(), viewer.identity.username),
        "form": form,
        "min_length": accounts.MIN_PASSWORD_LENGTH,
    }
    return render(request, "account.html", context, status=form.status if form.refused else 200)


@router.get(PASSWORD_PATH, response_class=HTMLResponse)
def show_password_form(request: Request, viewer: AnyViewer) -> HTMLResponse:
    return password_page(request, viewer)


def _refused(errors: Mapping[str, str] | None = None, problem: str = "", status: int = 422) -> FormState:
    # The values stay empty: a password typed into a form is never sent back in a page.
    return FormState({}, dict(errors or {}), problem, status)


@router.post(PASSWORD_PATH)
def change_password(request: Request, viewer: FormViewer, values: FormValues) -> Response:
    current = values.get("current_password", "")
    new = values.get("new_password", "")
    confirm = values.get("confirm_password", "")
    errors = {name: REQUIRED for name, value in zip(FIELDS, (current, new, confirm), strict=True) if not value}
    if not errors and new != confirm:
        errors["confirm_password"] = "does not match the new password"  # noqa: S105 (a message)
    if errors:
        return password_page(request, viewer, _refused(errors))
    try:
        accounts.change_password(viewer.unit_of_work(), viewer.identity.username, current, new)
    except Unauthorized as error:  # not the sign-in page: the user is signed in, the current password was wrong
        return password_page(request, viewer, _refused({"current_password": str(error)}, status=401))
    except InputError as error:
        return password_page(request, viewer, _refused({"new_password": str(error)}))
    response = RedirectResponse("/", status_code=303)
    flash.flash(request, response, "Password changed. You may sign records with your new password.")
    return response
