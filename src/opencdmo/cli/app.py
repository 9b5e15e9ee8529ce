"""The Typer application, the error mapping every command shares, and opening the database.

Errors become a message on stderr and an exit code, never a traceback (set OPENCDMO_DEBUG=1 to see one):
2 for bad input (a file, a flag), 1 for every other refusal, 70 for a bug.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from sqlalchemy.exc import DBAPIError

from opencdmo.adapters import db
from opencdmo.bootstrap import App, bootstrap
from opencdmo.cli import ui
from opencdmo.errors import ConfigurationError, InputError, OpenCDMOError

EXIT_REFUSED = 1

EXIT_BAD_INPUT = 2

EXIT_BUG = 70

app = typer.Typer(
    name="opencdmo",
    help="OpenCDMO: plan and run a contract manufacturing network.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

P = ParamSpec("P")

R = TypeVar("R")


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the error tree into a message and an exit code, once for every command."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except InputError as error:
            raise ui.fail(str(error), EXIT_BAD_INPUT) from None
        except OpenCDMOError as error:
            raise ui.fail(str(error), EXIT_REFUSED) from None
        except DBAPIError as error:
            raise ui.fail(f"the database refused the operation: {error.orig}", EXIT_REFUSED) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as error:
            if os.environ.get("OPENCDMO_DEBUG"):
                raise
            raise ui.fail(
                f"internal error ({type(error).__name__}: {error}); rerun with OPENCDMO_DEBUG=1 for details",
                EXIT_BUG,
            ) from None

    return wrapper


def open_app() -> App:
    return bootstrap()


@contextmanager
def ready_app() -> Iterator[App]:
    """The application, refusing politely when the database has not been initialised."""
    with open_app() as application:
        if not db.schema_is_current(application.engine):
            raise _not_initialised(application)
        yield application


def _not_initialised(application: App) -> ConfigurationError:
    return ConfigurationError(
        f"the database {db.describe(application.engine)} is not initialised or is out of date; "
        "run 'opencdmo init' first"
    )
