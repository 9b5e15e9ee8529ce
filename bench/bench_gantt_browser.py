"""Opening the schedule page's Gantt chart in a real browser, on the 20-site / 5,000-batch demo.

Steps: build the demo in an SQLite file (``opencdmo init``, ``opencdmo demo --sites 20 --batches 5000``) and
plan it (``opencdmo schedule --strategy greedy`` by default: the ERP-like one-pass plan, about 20 s here, has
the same number of operations as an optimised plan; ``--strategy auto --time-limit 60`` plans it the way a
planner would), or reuse the file in ``--data-dir`` when it already holds a plan. Then add (or reset) the
planner ``bench-gantt`` with a generated password, start ``opencdmo serve`` in its own process on a free
loopback port, and drive Debian's headless Chromium (``/usr/bin/chromium``, or ``OPENCDMO_CHROMIUM``) with
Playwright: sign in through /login, then measure

- ``open, empty cache``: a new browser context per run (no cached plotly.js), from navigation to /schedule
  until the chart is drawn;
- ``open, cached``: the same, in one context whose cache holds the page's scripts (a planner's second visit);
- ``zoom to year``: from a click on the "Year" button until the chart is drawn again with the new window's data.

"Drawn" is the ``data-ready`` / ``data-draws`` attributes that static/gantt.js sets on ``#gantt`` once plotly.js
has rendered; the times are the page's own clock (``performance.now()``: from the start of the navigation, or
from the click), read by a MutationObserver the bench installs, so Playwright's round trips are not counted.
The first opening after the server starts is measured apart (the server may still be reading the plan).

    .venv/bin/python bench/bench_gantt_browser.py [--runs 5] [--data-dir DIR] [--strategy greedy] [--json FILE]

Prints min / median / max seconds per measure and the bars drawn, as a table and then as one JSON document.
Target: the Gantt of the 5,000-batch demo opens in at most 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

OPENCDMO = [sys.executable, "-m", "opencdmo"]
DATABASE_FILE = "opencdmo.sqlite3"
USERNAME = "bench-gantt"
CHROMIUM = Path(os.environ.get("OPENCDMO_CHROMIUM", "/usr/bin/chromium"))
STARTUP_SECONDS = 60.0
PAGE_TIMEOUT_MS = 120_000
TARGET_OPEN_SECONDS = 2.0
STRATEGIES = ("greedy", "auto", "lns", "cpsat")

# Runs before any script of every page: notes when #gantt first gets data-ready (the page's clock, in ms from
# the start of its navigation), and keeps the time of every drawing.
READY_OBSERVER = """
(() => {
  window.__gantt = { readyAt: null, draws: [] };
  const observer = new MutationObserver((changes) => {
    for (const change of changes) {
      const target = change.target;
      if (target.id !== "gantt") continue;
      if (change.attributeName === "data-ready" && window.__gantt.readyAt === null) {
        window.__gantt.readyAt = performance.now();
      }
      if (change.attributeName === "data-draws") {
        window.__gantt.draws.push(performance.now());
      }
    }
  });
  observer.observe(document, { attributes: true, subtree: true, attributeFilter: ["data-ready", "data-draws"] });
})();
"""

# Clicks the "Year" zoom button and resolves, in ms, when the chart has been drawn again.
ZOOM_TO_YEAR = """
(timeoutMs) => new Promise((resolve, reject) => {
  const chart = document.getElementById("gantt");
  const button = document.querySelector('[data-zoom="366"]');
  if (!chart || !button) { reject(new Error("no chart or no Year button")); return; }
  const before = window.__gantt.draws.length;
  const clicked = performance.now();
  const started = Date.now();
  const poll = () => {
    if (window.__gantt.draws.length > before) { resolve(window.__gantt.draws[before] - clicked); return; }
    if (Date.now() - started > timeoutMs) { reject(new Error("the chart was not drawn again")); return; }
    setTimeout(poll, 5);
  };
  button.click();
  poll();
})
"""


@dataclass
class Measure:
    name: str
    seconds: list[float] = field(default_factory=list)
    bars: list[int] = field(default_factory=list)
    operations: list[int] = field(default_factory=list)
    modes: set[str] = field(default_factory=set)

    def add(self, seconds: float, drawn: Drawn) -> None:
        self.seconds.append(seconds)
        self.bars.append(drawn.bars)
        self.operations.append(drawn.operations)
        self.modes.add(drawn.mode)

    def summary(self) -> dict[str, Any]:
        return {
            "measure": self.name,
            "runs": len(self.seconds),
            "min_s": round(min(self.seconds), 3),
            "median_s": round(statistics.median(self.seconds), 3),
            "max_s": round(max(self.seconds), 3),
            "bars_drawn": max(self.bars),
            "operations": max(self.operations),
            "mode": ", ".join(sorted(self.modes)),
        }


@dataclass(frozen=True)
class Drawn:
    """What the chart shows: SVG bars drawn, operations in the loaded window, and the data's mode."""

    bars: int
    operations: int
    mode: str


# --- the data -------------------------------------------------------------------------------------------------


def opencdmo(arguments: list[str], database_url: str) -> str:
    """Run one ``opencdmo`` command in a fresh process, as a user would; its output, or exit with its error."""
    env = {**os.environ, "OPENCDMO_DATABASE_URL": database_url}
    print(f"$ opencdmo {' '.join(arguments)}", file=sys.stderr)
    completed = subprocess.run([*OPENCDMO, *arguments], env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"opencdmo {' '.join(arguments)} failed:\n{completed.stderr}")
    return completed.stdout


def plan_version(database_url: str) -> int | None:
    """The newest stored schedule version of the database, or None (no plan, or no database yet)."""
    from opencdmo.bootstrap import bootstrap
    from opencdmo.config import Settings
    from opencdmo.services import planning

    with bootstrap(Settings(database_url=database_url)) as application:
        try:
            versions = planning.list_versions(application.unit_of_work())
        except Exception:  # an empty or foreign file: build it again
            return None
    return versions[-1].number if versions else None


def prepare(folder: Path, options: argparse.Namespace) -> str:
    """The database URL of the planned demo in ``folder``: reused when it holds a plan, else built."""
    database = folder / DATABASE_FILE
    database_url = f"sqlite:///{database}"
    if database.exists():
        version = plan_version(database_url)
        if version is not None:
            print(f"reusing {database} (plan v{version})", file=sys.stderr)
            return database_url
        raise SystemExit(f"{database} exists but holds no plan: plan it (opencdmo schedule) or remove it")
    folder.mkdir(parents=True, exist_ok=True)
    opencdmo(["init"], database_url)
    opencdmo(["demo", "--sites", str(options.sites), "--batches", str(options.batches)], database_url)
    plan = ["schedule", "--strategy", options.strategy, "--time-limit", f"{options.time_limit:g}", "--json"]
    report = json.loads(opencdmo(plan, database_url))
    print(f"planned v{report['version']}: {report['batches']} batches, {report['seconds']} s", file=sys.stderr)
    return database_url


def planner_password(database_url: str) -> str:
    """Add the bench's planner, or give it a new password when it exists; the generated password."""
    from opencdmo.bootstrap import bootstrap
    from opencdmo.config import Settings
    from opencdmo.domain import Role
    from opencdmo.errors import Conflict
    from opencdmo.services import accounts

    with bootstrap(Settings(database_url=database_url)) as application:
        try:
            added = accounts.add_user(application.unit_of_work(), USERNAME, Role.PLANNER)
            password = added.generated_password
        except Conflict:
            password = accounts.reset_password(application.unit_of_work(), USERNAME)
    assert password is not None
    return password


# --- the server -----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(database_url: str) -> Iterator[str]:
    """``opencdmo serve`` in its own process on a free loopback port; yields its base URL, stops it after."""
    port = free_port()
    env = {**os.environ, "OPENCDMO_DATABASE_URL": database_url}
    command = [*OPENCDMO, "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if server.poll() is not None:
                log = server.stderr.read() if server.stderr else ""
                raise SystemExit(f"the server exited with code {server.returncode}:\n{log}")
            try:
                httpx.get(f"{base}/login", timeout=2.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the server did not answer on {base} within {STARTUP_SECONDS:.0f} s") from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- the browser ----------------------------------------------------------------------------------------------


def new_context(browser: Browser, base: str, storage: Any = None) -> BrowserContext:
    context = browser.new_context(base_url=base, storage_state=storage, viewport={"width": 1600, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    context.add_init_script(READY_OBSERVER)
    return context


def sign_in(browser: Browser, base: str, password: str) -> Any:
    """Sign in through the /login form; the context's storage state (its session cookie)."""
    context = new_context(browser, base)
    try:
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=username]", USERNAME)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: not url.split("?")[0].endswith("/login"))
        return context.storage_state()
    finally:
        context.close()


def drawn(page: Page) -> Drawn:
    status = page.locator("#gantt-status").inner_text()
    found = re.search(r"([\d,.\s]+) operations loaded", status)
    operations = int(re.sub(r"\D", "", found.group(1))) if found else 0
    bars = page.locator("#gantt .barlayer .point").count()
    return Drawn(bars=bars, operations=operations, mode=page.locator("#gantt").get_attribute("data-mode") or "")


def open_schedule(page: Page) -> tuple[float, Drawn]:
    """Navigate to /schedule and wait for the chart; seconds from the start of the navigation, and what it drew."""
    page.goto("/schedule", wait_until="commit")
    page.wait_for_selector("#gantt[data-ready]", state="attached")
    ready_at = page.evaluate("window.__gantt.readyAt")
    if not isinstance(ready_at, int | float):
        raise SystemExit("the chart was drawn but the observer saw no data-ready")
    return float(ready_at) / 1000, drawn(page)


def zoom_to_year(page: Page) -> tuple[float, Drawn]:
    elapsed = page.evaluate(ZOOM_TO_YEAR, PAGE_TIMEOUT_MS)
    if not isinstance(elapsed, int | float):
        raise SystemExit(f"zoom to year: unexpected answer {elapsed!r}")
    return float(elapsed) / 1000, drawn(page)


def measure(base: str, password: str, runs: int) -> tuple[dict[str, Any], list[Measure]]:
    empty, cached, zoom = Measure("open, empty cache"), Measure("open, cached"), Measure("zoom to year")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            storage = sign_in(browser, base, password)
            context = new_context(browser, base, storage)
            page = context.new_page()
            first_seconds, first_drawn = open_schedule(page)  # also fills this context's cache
            first = {"seconds": round(first_seconds, 3), "bars_drawn": first_drawn.bars, "mode": first_drawn.mode}
            print(f"first opening after the server started: {first_seconds:.3f} s", file=sys.stderr)
            for run in range(1, runs + 1):
                fresh = new_context(browser, base, storage)
                try:
                    empty.add(*open_schedule(fresh.new_page()))
                finally:
                    fresh.close()
                cached.add(*open_schedule(page))
                zoom.add(*zoom_to_year(page))
                print(
                    f"run {run}: {empty.seconds[-1]:.3f} s empty cache, {cached.seconds[-1]:.3f} s cached, "
                    f"{zoom.seconds[-1]:.3f} s zoom to year",
                    file=sys.stderr,
                )
            context.close()
        finally:
            browser.close()
    return first, [empty, cached, zoom]


# --- reporting ------------------------------------------------------------------------------------------------


def table(rows: list[dict[str, Any]]) -> str:
    columns = ("measure", "runs", "min_s", "median_s", "max_s", "bars_drawn", "operations", "mode")
    cells = [[str(row[column]) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    text_columns = (0, len(columns) - 1)

    def aligned(values: list[str]) -> str:
        return "  ".join(
            value.ljust(widths[i]) if i in text_columns else value.rjust(widths[i]) for i, value in enumerate(values)
        )

    return "\n".join([aligned(list(columns)), "  ".join("-" * width for width in widths), *map(aligned, cells)])


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each measure (default 5)")
    parser.add_argument("--data-dir", type=Path, help=f"keep (or reuse) the planned demo in DIR/{DATABASE_FILE}")
    parser.add_argument("--sites", type=int, default=20, help="demo sites when building (default 20)")
    parser.add_argument("--batches", type=int, default=5000, help="demo batches when building (default 5000)")
    parser.add_argument(
        "--strategy", choices=STRATEGIES, default="greedy", help="how to plan the demo when building (default greedy)"
    )
    parser.add_argument("--time-limit", type=float, default=60.0, help="solver seconds when planning (default 60)")
    parser.add_argument("--json", type=Path, help="also write the JSON results to this file")
    options = parser.parse_args()
    if not 1 <= options.runs <= 100:
        parser.error("--runs must be 1 to 100")
    if not 1 <= options.sites <= 100:
        parser.error("--sites must be 1 to 100")
    if not 1 <= options.batches <= 100_000:
        parser.error("--batches must be 1 to 100000")
    if not 0.1 <= options.time_limit <= 3600:
        parser.error("--time-limit must be 0.1 to 3600 seconds")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        parser.error(f"no Chromium at {CHROMIUM}: apt-get install chromium, or set OPENCDMO_CHROMIUM")
    return options


def run(options: argparse.Namespace, folder: Path) -> None:
    database_url = prepare(folder, options)
    password = planner_password(database_url)
    with served(database_url) as base:
        first, measures = measure(base, password, options.runs)
    rows = [item.summary() for item in measures]
    document = {
        "database": str(folder / DATABASE_FILE),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "chromium": CHROMIUM.name,
        "first_open_after_start": first,
        "target_open_s": TARGET_OPEN_SECONDS,
        "measures": rows,
    }
    print(table(rows))
    for row in rows[:2]:
        verdict = "meets" if row["median_s"] <= TARGET_OPEN_SECONDS else "MISSES"
        print(f"{row['measure']}: median {row['median_s']} s {verdict} the {TARGET_OPEN_SECONDS:g} s target")
    print(json.dumps(document, indent=2))
    if options.json:
        options.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    options = arguments()
    if options.data_dir is not None:
        run(options, options.data_dir.resolve())
        return
    with tempfile.TemporaryDirectory(prefix="opencdmo-bench-gantt-") as folder:
        run(options, Path(folder))


if __name__ == "__main__":
    main()
