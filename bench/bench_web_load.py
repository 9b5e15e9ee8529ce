"""Load on the web application: concurrent signed-in clients hitting pages and API routes for a fixed time.

By default it builds the default demo (5 sites, 300 batches) in a fresh SQLite file, plans it, adds a
planner with a generated password, starts `opencdmo serve` on a free loopback port in its own process, signs
in (a browser session cookie from /login when the page exists, and an API bearer token), then runs 50 clients
(one httpx.AsyncClient each, on asyncio) that cycle through the paths for --seconds, and prints per path:
requests, errors, p50/p95/p99 latency (ms) and requests/s, as a table and then as one JSON document.

A client is a person at a browser or an integration polling the API: between two requests it waits a think time
drawn uniformly from 0.5 to 1.5 times --think seconds (1 s by default, so 50 clients offer about 50 requests a
second), and each client's first request comes at a random moment within the first think time, as people do not
all click at once. --think 0 makes every client send its next request as soon as the last is answered: that measures the
server's saturated throughput, where latency is the queue length (clients / throughput), not the service time.

Every answer other than 2xx is an error (redirects are not followed: a redirect to /login means the session
was refused), and so is a transport failure (connection refused, timeout); the errors are broken down by
status code or exception. Latency percentiles are over every request that got an HTTP answer, errors included.

    .venv/bin/python bench/bench_web_load.py [--clients 50] [--seconds 20] [--paths / /api/v1/kpis ...]
    .venv/bin/python bench/bench_web_load.py --url http://127.0.0.1:8000 --username planner --password-stdin

Only loopback addresses are accepted as targets. The client and the server share the machine's cores, so the
numbers are a floor for what the server alone would do.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

DEFAULT_PATHS = ("/", "/api/v1/schedules/latest", "/api/v1/kpis")
STARTUP_SECONDS = 60.0
REQUEST_TIMEOUT = 30.0


@dataclass
class PathStats:
    path: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    requests: int = 0

    def record(self, latency_ms: float | None, error: str | None) -> None:
        self.requests += 1
        if latency_ms is not None:
            self.latencies_ms.append(latency_ms)
        if error is not None:
            self.errors[error] += 1

    def summary(self, seconds: float) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        return {
            "path": self.path,
            "requests": self.requests,
            "errors": sum(self.errors.values()),
            "errors_by_kind": dict(self.errors.most_common()),
            "p50_ms": percentile(ordered, 50),
            "p95_ms": percentile(ordered, 95),
            "p99_ms": percentile(ordered, 99),
            "requests_per_s": round(self.requests / seconds, 1) if seconds > 0 else None,
        }


def percentile(ordered: list[float], rank: float) -> float | None:
    """The nearest-rank percentile of sorted values, or None when there are none."""
    if not ordered:
        return None
    index = max(0, math.ceil(rank / 100 * len(ordered)) - 1)
    return round(ordered[index], 1)


# --- the server -------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare_demo(database_url: str, plan_seconds: float) -> tuple[str, str]:
    """Build, store and plan the default demo; add a planner. Returns the planner's username and password."""
    from opencdmo.adapters import db
    from opencdmo.bootstrap import bootstrap
    from opencdmo.config import Settings
    from opencdmo.demo import build_demo
    from opencdmo.domain import Role
    from opencdmo.services import accounts, scenarios
    from opencdmo.services.planning import PlanOptions, plan_network

    with bootstrap(Settings(database_url=database_url)) as application:
        db.upgrade(application.engine)
        print("building the default demo (5 sites, 300 batches) ...", file=sys.stderr)
        scenarios.import_scenario(application.unit_of_work(), build_demo())
        print(f"planning it ({plan_seconds:g} s) ...", file=sys.stderr)
        plan_network(application.unit_of_work(), PlanOptions(time_limit=plan_seconds, created_by="bench"))
        added = accounts.add_user(application.unit_of_work(), "bench-planner", Role.PLANNER)
    assert added.generated_password is not None
    return added.username, added.generated_password


def issue_token(database_url: str, username: str) -> str:
    from opencdmo.bootstrap import bootstrap
    from opencdmo.config import Settings
    from opencdmo.services import accounts

    with bootstrap(Settings(database_url=database_url)) as application:
        return accounts.issue_token(application.unit_of_work(), username, expires_days=1)


@contextmanager
def served(database_url: str) -> Iterator[str]:
    """`opencdmo serve` in its own process on a free loopback port; yields its base URL, stops it after."""
    port = free_port()
    env = {**os.environ, "OPENCDMO_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "opencdmo", "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_until_up(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log = server.stderr.read() if server.stderr else ""
            raise SystemExit(f"the server exited with code {server.returncode}:\n{log}")
        try:
            httpx.get(f"{base}/api/v1/openapi.json", timeout=2.0)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer on {base} within {STARTUP_SECONDS:.0f} s")


# --- signing in -------------------------------------------------------------------------------------------------


class HiddenInputs(HTMLParser):
    """The hidden fields of a page's forms (the sign-in form's CSRF token), whatever they are called."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


def browser_session(base: str, username: str, password: str) -> httpx.Cookies | None:
    """Sign in through /login as a browser would; None (with the reason on stderr) when that fails."""
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT, follow_redirects=False) as client:
        page = client.get("/login")
        if page.status_code != 200:
            print(f"warning: GET /login answered {page.status_code}: no browser session", file=sys.stderr)
            return None
        hidden = HiddenInputs()
        hidden.feed(page.text)
        answer = client.post("/login", data={**hidden.fields, "username": username, "password": password})
        if answer.status_code not in (302, 303) or not client.cookies:
            print(f"warning: POST /login answered {answer.status_code}: no browser session", file=sys.stderr)
            return None
        return client.cookies


# --- the load ---------------------------------------------------------------------------------------------------


def new_client(base: str, headers: dict[str, str], cookies: httpx.Cookies | None) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(base_url=base, headers=headers, cookies=cookies, timeout=REQUEST_TIMEOUT, limits=limits)


async def one_client(
    number: int,
    client: httpx.AsyncClient,
    paths: list[str],
    stats: dict[str, PathStats],
    stop_at: float,
    think: float,
) -> None:
    pause = random.Random(number)  # seeded: the same think times run after run
    turn = number  # clients start at different paths, so every path is under load at once
    if think > 0:  # people do not all click at the same instant: each client starts within one think time
        await asyncio.sleep(think * pause.uniform(0.0, 1.0))
    while time.perf_counter() < stop_at:
        path = paths[turn % len(paths)]
        turn += 1
        started = time.perf_counter()
        try:
            response = await client.get(path)
            await response.aread()
        except httpx.HTTPError as failure:
            stats[path].record(None, type(failure).__name__)
            continue
        latency = (time.perf_counter() - started) * 1000
        stats[path].record(latency, None if response.is_success else f"HTTP {response.status_code}")
        if think > 0:
            await asyncio.sleep(think * pause.uniform(0.5, 1.5))


async def load(
    base: str,
    paths: list[str],
    clients: int,
    seconds: float,
    headers: dict[str, str],
    cookies: httpx.Cookies | None,
    think: float,
) -> tuple[dict[str, PathStats], float]:
    stats = {path: PathStats(path) for path in paths}
    # Every client is made and connected before the clock starts: making 50 httpx clients (an SSL context each)
    # blocks this event loop for a second or more, which would be counted as the first requests' latency.
    pool = [new_client(base, headers, cookies) for _ in range(clients)]
    try:
        for client in pool:
            await (await client.get(paths[0])).aread()
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(
            *(one_client(number, client, paths, stats, stop_at, think) for number, client in enumerate(pool))
        )
        return stats, time.perf_counter() - started
    finally:
        for client in pool:
            await client.aclose()


# --- reporting --------------------------------------------------------------------------------------------------


def table(rows: list[dict[str, Any]]) -> str:
    columns = ("path", "requests", "errors", "p50_ms", "p95_ms", "p99_ms", "requests_per_s")
    cells = [[("-" if row[column] is None else str(row[column])) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]

    def aligned(values: list[str]) -> str:  # the path on the left, the numbers on the right
        return "  ".join(value.ljust(widths[i]) if i == 0 else value.rjust(widths[i]) for i, value in enumerate(values))

    lines = [aligned(list(columns)), "  ".join("-" * width for width in widths)]
    lines.extend(aligned(line) for line in cells)
    for row in rows:
        if row["errors"]:
            kinds = ", ".join(f"{count} x {kind}" for kind, count in row["errors_by_kind"].items())
            lines.append(f"errors on {row['path']}: {kinds}")
    return "\n".join(lines)


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"--url: {url} is not a loopback address; this bench only loads this machine")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean seconds a client waits between requests (default 1; 0: none)"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the load lasts (default 20)")
    parser.add_argument("--paths", nargs="+", default=list(DEFAULT_PATHS), help="paths to request, in turn")
    parser.add_argument("--plan-seconds", type=float, default=6.0, help="solver time for the demo's plan")
    parser.add_argument("--url", help="load this running server instead of starting one (loopback only)")
    parser.add_argument("--username", help="with --url: who signs in")
    parser.add_argument("--password-stdin", action="store_true", help="with --url: read the password from stdin")
    parser.add_argument("--token", help="with --url: an API bearer token (else API paths go without one)")
    parser.add_argument("--json", type=Path, help="also write the JSON results to this file")
    options = parser.parse_args()
    if not 1 <= options.clients <= 1000:
        parser.error("--clients must be 1 to 1000")
    if not 0 < options.seconds <= 600:
        parser.error("--seconds must be more than 0 and at most 600")
    if any(not path.startswith("/") for path in options.paths):
        parser.error("--paths must be absolute paths such as /api/v1/orders")
    if options.url:
        check_loopback(options.url)
    return options


def run(options: argparse.Namespace, base: str, username: str | None, password: str | None, token: str | None) -> None:
    cookies = browser_session(base, username, password) if username and password else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    print(
        f"loading {base}: {options.clients} clients, think {options.think:g} s, for {options.seconds:g} s on "
        f"{', '.join(options.paths)}",
        file=sys.stderr,
    )
    stats, elapsed = asyncio.run(
        load(base, options.paths, options.clients, options.seconds, headers, cookies, options.think)
    )
    rows = [stats[path].summary(elapsed) for path in options.paths]
    total = sum(row["requests"] for row in rows)
    document = {
        "clients": options.clients,
        "think_seconds": options.think,
        "seconds": round(elapsed, 2),
        "browser_session": cookies is not None,
        "bearer_token": token is not None,
        "requests": total,
        "errors": sum(row["errors"] for row in rows),
        "requests_per_s": round(total / elapsed, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "paths": rows,
    }
    print(table(rows))
    print(f"total: {total} requests, {document['errors']} errors, {document['requests_per_s']} requests/s")
    print(json.dumps(document, indent=2))
    if options.json:
        options.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    options = arguments()
    if options.url:
        password = sys.stdin.readline().rstrip("\r\n") if options.password_stdin else None
        run(options, options.url.rstrip("/"), options.username, password, options.token)
        return
    with tempfile.TemporaryDirectory(prefix="opencdmo-bench-web-") as folder:
        database_url = f"sqlite:///{Path(folder) / 'opencdmo.sqlite3'}"
        username, password = prepare_demo(database_url, options.plan_seconds)
        token = issue_token(database_url, username)
        with served(database_url) as base:
            run(options, base, username, password, token)


if __name__ == "__main__":
    main()
