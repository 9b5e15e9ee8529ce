"""Commands on accounts: opencdmo user add | token | deactivate | reset-password.

Secrets are printed once and never stored: passwords only as argon2 hashes, tokens only as SHA-256 digests.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from opencdmo import domain
from opencdmo.cli import ui
from opencdmo.cli.app import app, handle_errors, ready_app
from opencdmo.errors import InputError
from opencdmo.services import accounts

users = typer.Typer(name="user", help="Manage users and API tokens.", no_args_is_help=True)
app.add_typer(users, name="user")

Username = Annotated[str, typer.Argument(help="Lower-case login name, e.g. 'jdoe'.")]


def _password_from_stdin() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InputError("--password-stdin: no password on standard input")
    return password


@users.command("add")
@handle_errors
def add(
    username: Username,
    role: Annotated[domain.Role, typer.Option(help="What the user may do.", case_sensitive=False)],
    sponsor: Annotated[
        str | None, typer.Option(help="Sponsor name; required for --role sponsor, refused otherwise.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
    ] = False,
    full_name: Annotated[
        str | None,
        typer.Option("--full-name", help="The printed name on the user's signatures (default: the username)."),
    ] = None,
) -> None:
    """Add a user. Without --password-stdin a password is generated and printed once."""
    password = _password_from_stdin() if password_stdin else None
    with ready_app() as application:
        created = accounts.add_user(
            application.unit_of_work(), username, role, sponsor_name=sponsor, password=password, full_name=full_name
        )
    ui.out.print(f"added user {created.username} ({created.role.value})")
    if created.generated_password is not None:
        ui.say("password (shown once)", created.generated_password)


@users.command("token")
@handle_errors
def token(
    username: Username,
    expires_days: Annotated[
        int, typer.Option(min=1, max=accounts.MAX_TOKEN_DAYS, help="Days until the token expires.")
    ] = accounts.DEFAULT_TOKEN_DAYS,
) -> None:
    """Issue a new API bearer token for the user and print it, and nothing else."""
    with ready_app() as application:
        secret = accounts.issue_token(application.unit_of_work(), username, expires_days=expires_days)
    typer.echo(secret)


@users.command("deactivate")
@handle_errors
def deactivate(username: Username) -> None:
    """Deactivate a user and revoke their tokens at once. Users are never deleted."""
    with ready_app() as application:
        accounts.deactivate(application.unit_of_work(), username)
    ui.out.print(f"deactivated user {username}; their API tokens are revoked")


@users.command("reset-password")
@handle_errors
def reset_password(
    username: Username,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
    ] = False,
) -> None:
    """Set a new password (generated and printed once unless --password-stdin); lifts a lockout.

    The user must change it (web page "Password", or POST /api/v1/account/password) before they can sign."""
    password = _password_from_stdin() if password_stdin else None
    with ready_app() as application:
        generated = accounts.reset_password(application.unit_of_work(), username, password=password)
    ui.out.print(
        f"reset the password of {username}; they must change it before they can sign records "
        "(their API tokens are revoked)"
    )
    if generated is not None:
        ui.say("password (shown once)", generated)
