"""Browser tests: the real application on uvicorn, driven by a headless Chromium through Playwright.

The browser is Debian's ``/usr/bin/chromium`` (``apt-get install chromium``; `.ci/run` installs it), never one
downloaded by ``playwright install``. Without it these tests are skipped on a developer's machine, and fail
in CI (``CI`` set), so a CI run can never pass them silently.

Fixtures:

- ``live_server``: one server for the session, on a free local port, over an SQLite file holding the sample
  network (docs/examples/small-network.yaml) with Northwind's PO-2027-001 due early (2027-02-20: its batches
  are late in every plan, so the pages have late work to show), a plan of it, and three users with generated
  passwords: ``planner``, ``helix`` (sponsor user of Helix Vaccines) and ``northwind`` (of Northwind
  Biologics). Tests share it: one that changes data or locks an account must use a user or an order of its
  own (``live_server.add_user``), and must not count on the plan's version number (a test re-plans).
  A solve started from the pages (the "Re-plan" form) first waits :data:`SOLVE_PAUSE_SECONDS`, reporting it
  as its step: the sample plans in a tenth of a second, too fast to see its progress bar move.
- ``browser``: one headless Chromium per test module (Playwright's sync API runs an asyncio loop in the main
  thread while it lives, so it must not outlive the module); ``page``: a fresh context (no cookies) and page per
  test, whose relative URLs go to the live server; ``planner_page``: a new page per test in one context per
  module signed in as ``planner`` (signing in once, and keeping plotly.js in the context's cache, saves seconds
  a test). :func:`sign_in` signs a page in through the form.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from opencdmo.adapters import db, scenario_file
from opencdmo.api import create_app
from opencdmo.bootstrap import App, bootstrap
from opencdmo.config import Settings
from opencdmo.domain import Role
from opencdmo.services import accounts, scenarios
from opencdmo.services.jobs import PlanJobs
from opencdmo.services.planning import OnSolution, PlanOptions, PlanReport, Steps, plan_network
from opencdmo.services.unit_of_work import UnitOfWork
from tests.conftest import SAMPLE_SCENARIO

CHROMIUM = Path(os.environ.get("OPENCDMO_CHROMIUM", "/usr/bin/chromium"))
STARTUP_SECONDS = 15.0
TIMEOUT_MS = 10_000
SOLVE_PAUSE_SECONDS = 2.5
# Northwind's first order made due before it can be made: its batches are late in every plan.
LATE_DUE = ("due_date: 2027-06-30", "due_date: 2027-02-20")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_chromium() -> None:
    """Skip without Chromium on a developer's machine; fail in CI, where it must be installed."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return
    message = f"browser tests need Chromium at {CHROMIUM}: apt-get install -y chromium"
    if in_ci():
        pytest.fail(f"{message} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


@dataclass
class LiveServer:
    """The running application: its base URL, the App behind it, and the passwords of its users."""

    url: str
    app: App
    passwords: dict[str, str] = field(default_factory=dict)

    def add_user(self, username: str, role: Role, sponsor: str | None = None) -> str:
        """Add a user with a generated password, remember it and return it."""
        added = accounts.add_user(self.app.unit_of_work(), username, role, sponsor_name=sponsor)
        assert added.generated_password is not None
        self.passwords[username] = added.generated_password
        return added.generated_password


def _free_socket() -> socket.socket:
    """A listening socket on a free loopback port, handed to uvicorn so no other process can take the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def _prepared_app(folder: Path) -> App:
    application = bootstrap(Settings(database_url=f"sqlite:///{folder / 'opencdmo.sqlite3'}"))
    db.upgrade(application.engine)
    text = SAMPLE_SCENARIO.read_text(encoding="utf-8")
    assert LATE_DUE[0] in text, "the sample scenario changed: update LATE_DUE"
    scenario = scenario_file.parse_scenario(text.replace(*LATE_DUE))
    scenarios.import_scenario(application.unit_of_work(), scenario)
    plan_network(application.unit_of_work(), PlanOptions(time_limit=2))
    return application


def paced_plan(
    uow: UnitOfWork, options: PlanOptions, *, progress: Steps, on_solution: OnSolution | None = None
) -> PlanReport:
    """The planning use case, after a pause of :data:`SOLVE_PAUSE_SECONDS` reported as the solve's first step."""
    progress(f"pausing {SOLVE_PAUSE_SECONDS:g} s (browser tests: a solve long enough to watch)")
    time.sleep(SOLVE_PAUSE_SECONDS)
    return plan_network(uow, options, progress=progress, on_solution=on_solution)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The application served by uvicorn in a background thread, with the sample network planned."""
    require_chromium()  # no browser, no use for a server
    application = _prepared_app(tmp_path_factory.mktemp("live"))
    sock = _free_socket()
    host, port = sock.getsockname()
    asgi = create_app(application)
    asgi.state.plan_jobs = PlanJobs(plan=paced_plan)
    config = uvicorn.Config(asgi, log_level="warning", ws="none", lifespan="auto")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not server.started:
            pytest.fail("the application did not start (see uvicorn's log above)", pytrace=False)
        live = LiveServer(url=f"http://{host}:{port}", app=application)
        live.add_user("planner", Role.PLANNER)
        live.add_user("helix", Role.SPONSOR, "Helix Vaccines")
        live.add_user("northwind", Role.SPONSOR, "Northwind Biologics")
        yield live
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_SECONDS)
        sock.close()
        application.close()


# Module scope, not session: while Playwright's sync API lives it keeps an asyncio loop running in the main
# thread, and every asyncio.run() in other modules (the API tests) would then fail.
@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    require_chromium()
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """One headless Debian Chromium per test module."""
    launched = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    yield launched
    launched.close()


def new_context(browser: Browser, live_server: LiveServer) -> BrowserContext:
    """A browser context (its own cookies and cache) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies); ``page.goto("/login")`` opens the live server's /login."""
    context = new_context(browser, live_server)
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Page, username: str, password: str) -> None:
    """Sign in through the /login form and wait until the browser has left it."""
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login(\?|$)"))


@pytest.fixture(scope="module")
def planner_context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """One browser context per module signed in as the shared ``planner`` (its cache keeps plotly.js between
    tests). Tests using it must not sign out."""
    context = new_context(browser, live_server)
    sign_in(context.new_page(), "planner", live_server.passwords["planner"])
    yield context
    context.close()


@pytest.fixture
def planner_page(planner_context: BrowserContext) -> Iterator[Page]:
    """A new page of the module's signed-in ``planner``."""
    opened = planner_context.new_page()
    yield opened
    opened.close()
