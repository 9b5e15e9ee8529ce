"""The schedule routes of the REST API on each database: versions, operations, comparison, key figures and
background solves, for staff and for a sponsor (who sees its own batches only)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from opencdmo.bootstrap import App
from opencdmo.services import planning
from opencdmo.services.jobs import PlanJobs
from tests.e2e.api_client import NORTHWIND_MARKS, Api, build_api, error_of

FAST = planning.PlanOptions(time_limit=2.0, workers=1, strategy="cpsat")
JOB = {"time_limit": 2, "strategy": "auto", "workers": 1}
FINISHED = ("succeeded", "failed")


@dataclass
class Planned:
    """The sample network planned (version 1), then re-planned after a suite breakdown (version 2)."""

    api: Api
    replan: planning.RescheduleReport


@pytest.fixture
def planned(app: App, sample_text: str) -> Planned:
    api = build_api(app, sample_text)
    base = planning.plan_network(app.unit_of_work(), FAST)
    target = next(line for line in base.operations if line.kind == "stage" and line.start > base.origin)
    down = planning.SuiteDown(target.suite, target.start, target.start + timedelta(days=7))
    return Planned(api=api, replan=planning.reschedule(app.unit_of_work(), down, FAST))


def _json(api: Api, path: str, user: str = "ana") -> Any:
    response = api.get(path, user)
    assert response.status_code == 200, response.text
    return response.json()


def _finish(api: Api, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job: dict[str, Any] = _json(api, location)
        if job["state"] in FINISHED:
            return job
        assert 0.0 <= job["fraction"] < 1.0
        time.sleep(0.05)
    raise AssertionError(f"the job at {location} did not finish in time")


# Versions and operations -----------------------------------------------------------------------------------------


def test_versions_are_listed_and_read_by_number(planned: Planned) -> None:
    api = planned.api
    versions = _json(api, "/api/v1/schedules")
    assert [(version["number"], version["kind"], version["based_on"]) for version in versions] == [
        (1, "plan", None),
        (2, "reschedule", 1),
    ]
    second = versions[1]
    assert second["disruption"] == planned.replan.disruption
    assert second["moved_operations"] == len(planned.replan.moved)
    assert second["own_batches_only"] is False
    assert second["objective"] is not None
    assert second["kpis"]["on_time_rate"] == round(planned.replan.plan.kpis.on_time_rate, 4)
    latest = _json(api, "/api/v1/schedules/latest")
    assert latest == _json(api, "/api/v1/schedules/2")
    assert {line["suite"] for line in latest["suites"]} == {line.suite for line in planned.replan.plan.suites}
    assert all(0 <= line["utilization"] <= 1 for line in latest["suites"])
    assert error_of(api.get("/api/v1/schedules/3"))[:2] == (404, "not-found")
    assert error_of(api.get("/api/v1/schedules/0"))[0] == 422
    assert error_of(api.get("/api/v1/schedules/first"))[0] == 422


def test_no_version_yet_answers_404(app: App, sample_text: str) -> None:
    api = build_api(app, sample_text, users=("ana",))
    assert _json(api, "/api/v1/schedules") == []
    status, _, detail = error_of(api.get("/api/v1/schedules/latest"))
    assert status == 404
    assert "schedule version" in detail
    figures = _json(api, "/api/v1/kpis")
    assert (figures["version"], figures["on_time_rate"], figures["utilization"], figures["at_risk"]) == (
        None,
        None,
        [],
        [],
    )
    assert figures["backlog"] == {"planned": 2, "scheduled": 1, "in-progress": 1, "completed": 0, "in-qc": 1}


def test_operations_are_filtered_by_suite_order_and_window(planned: Planned) -> None:
    api = planned.api
    every = _json(api, "/api/v1/schedules/2/operations")
    expected = planned.replan.plan.operations
    assert sorted((op["lot"] or "", op["step"], op["start"]) for op in every) == sorted(
        (line.lot, line.step, line.start.isoformat().replace("+00:00", "Z")) for line in expected
    )
    assert sum(op["moved"] for op in every) == len(planned.replan.moved)
    assert any(op["kind"] == "cleaning" and op["lot"] is None for op in every)

    suite = every[0]["suite"]
    in_suite = _json(api, f"/api/v1/schedules/2/operations?suite={suite}")
    assert in_suite == [op for op in every if op["suite"] == suite]
    of_order = _json(api, "/api/v1/schedules/2/operations?order=PO-2027-003")
    assert of_order == [op for op in every if op["order"] == "PO-2027-003"]
    assert {op["lot"] for op in of_order} == {"HXV7-27-002"}

    start, end = "2027-03-01T00:00:00Z", "2027-04-01T00:00:00Z"
    window = _json(api, f"/api/v1/schedules/2/operations?start={start}&end={end}")
    assert window == [op for op in every if op["end"] > start and op["start"] < end]
    assert 0 < len(window) < len(every)
    assert _json(api, "/api/v1/schedules/2/operations?suite=Nowhere") == []
    status, _, detail = error_of(api.get(f"/api/v1/schedules/2/operations?start={end}&end={start}"))
    assert (status, detail) == (422, "end: must be after start")
    assert "start" in error_of(api.get("/api/v1/schedules/2/operations?start=2027-03-01T00:00:00"))[2]
    assert error_of(api.get("/api/v1/schedules/9/operations"))[0] == 404


def test_two_versions_are_compared_step_by_step(planned: Planned) -> None:
    api = planned.api
    comparison = _json(api, "/api/v1/schedules/compare?a=1&b=2")
    assert (comparison["a"]["number"], comparison["b"]["number"]) == (1, 2)
    moved = {(move["lot"], move["step"], move["from_suite"], move["to_suite"]) for move in comparison["moved"]}
    assert moved == {(move.lot, move.step, move.from_suite, move.to_suite) for move in planned.replan.moved}
    assert moved
    for move in comparison["moved"]:
        shift = datetime.fromisoformat(move["to_start"]) - datetime.fromisoformat(move["from_start"])
        assert move["shift_hours"] == round(shift / timedelta(hours=1), 2)
        assert move["suite_changed"] is (move["from_suite"] != move["to_suite"])
    assert comparison["added"] == comparison["removed"] == []
    batch_steps = [op for op in _json(api, "/api/v1/schedules/1/operations") if op["lot"]]
    assert comparison["unchanged"] + len(moved) == len(batch_steps)
    a_kpis, b_kpis = comparison["a"]["kpis"], comparison["b"]["kpis"]
    assert comparison["delta"]["on_time"] == b_kpis["on_time"] - a_kpis["on_time"]
    assert comparison["delta"]["batches"] == 0

    backwards = _json(api, "/api/v1/schedules/compare?a=2&b=1")
    assert len(backwards["moved"]) == len(comparison["moved"])
    assert backwards["delta"]["on_time"] == -comparison["delta"]["on_time"]
    assert error_of(api.get("/api/v1/schedules/compare?a=1&b=5"))[0] == 404
    assert "b" in error_of(api.get("/api/v1/schedules/compare?a=1"))[2]


def test_key_figures_of_the_newest_plan(planned: Planned) -> None:
    api = planned.api
    figures = _json(api, "/api/v1/kpis")
    assert figures["version"]["number"] == 2
    assert figures["on_time_rate"] == figures["version"]["kpis"]["on_time_rate"]
    assert {line["suite"] for line in figures["utilization"]} == {line.suite for line in planned.replan.plan.suites}
    batches = _json(api, "/api/v1/batches")
    unfinished = [batch for batch in batches if batch["status"] not in ("released", "rejected", "cancelled")]
    assert figures["backlog_total"] == len(unfinished) == sum(figures["backlog"].values())
    # Upcoming: the orders still to finish that are due from today on, soonest first.
    today = datetime.now(UTC).date().isoformat()
    orders = _json(api, "/api/v1/orders")
    open_orders = {batch["order"] for batch in unfinished}
    due = sorted((order["due_date"], order["number"]) for order in orders if order["number"] in open_orders)
    assert [(line["due_date"], line["order"]) for line in figures["upcoming"]] == [
        (day, number) for day, number in due if day >= today
    ]
    # At risk: exactly the orders with a late operation in the plan.
    late_orders = {op["order"] for op in _json(api, "/api/v1/schedules/2/operations") if op["late"]}
    assert {line["order"] for line in figures["at_risk"]} == late_orders
    for line in figures["at_risk"]:
        assert line["late_hours"] > 0
        assert line["finish"] > line["due"]


# A sponsor's view ------------------------------------------------------------------------------------------------

SCHEDULE_PATHS = (
    "/api/v1/schedules",
    "/api/v1/schedules/latest",
    "/api/v1/schedules/1",
    "/api/v1/schedules/2/operations",
    "/api/v1/schedules/2/operations?order=PO-2027-001",
    "/api/v1/schedules/compare?a=1&b=2",
    "/api/v1/kpis",
)


def test_a_sponsor_sees_its_own_batches_only(planned: Planned) -> None:
    api = planned.api
    for path in SCHEDULE_PATHS:
        response = api.get(path, "hx")
        assert response.status_code == 200, (path, response.text)
        for mark in NORTHWIND_MARKS:
            assert mark not in response.text, (path, mark)
    versions = _json(api, "/api/v1/schedules", "hx")
    for version in versions:
        assert version["own_batches_only"] is True
        assert (version["objective"], version["lower_bound"], version["disruption"]) == (None, None, None)
        assert version["kpis"]["batches"] == 1
        assert version["kpis"]["mean_utilization"] is None
    assert _json(api, "/api/v1/schedules/latest", "hx")["suites"] == []
    operations = _json(api, "/api/v1/schedules/2/operations", "hx")
    assert operations
    assert {op["lot"] for op in operations} == {"HXV7-27-002"}
    assert _json(api, "/api/v1/schedules/2/operations?order=PO-2027-001", "hx") == []
    figures = _json(api, "/api/v1/kpis", "hx")
    assert figures["utilization"] == []
    assert {line["order"] for line in figures["upcoming"]} <= {"PO-2027-003"}
    assert figures["backlog_total"] == 1
    # Northwind sees its own: the same version, other batches.
    northwind = _json(api, "/api/v1/schedules/2/operations", "nw")
    assert northwind
    assert all(op["sponsor"] == "Northwind Biologics" for op in northwind)


# Background solves -----------------------------------------------------------------------------------------------


@pytest.fixture
def api(app: App, sample_text: str) -> Api:
    return build_api(app, sample_text)


def test_a_job_plans_then_replans_and_the_versions_compare(api: Api) -> None:
    response = api.post("/api/v1/schedules/jobs", JOB)
    assert response.status_code == 202
    started = response.json()
    assert response.headers["location"] == f"/api/v1/schedules/jobs/{started['id']}"
    assert (started["kind"], started["requested_by"], started["time_limit"]) == ("plan", "ana", 2.0)
    job = _finish(api, response.headers["location"])
    assert job["state"] == "succeeded", job["error"]
    assert (job["version"], job["fraction"], job["error"]) == (1, 1.0, None)
    assert any(step.startswith("solving: ") for step in job["steps"])
    assert job["solutions"] >= 1
    assert _json(api, "/api/v1/schedules/1")["created_by"] == "ana"

    origin = _json(api, "/api/v1/schedules/1")["origin"]
    operations = _json(api, "/api/v1/schedules/1/operations")
    stage = next(op for op in operations if op["kind"] == "stage" and op["start"] > origin)
    start = datetime.fromisoformat(stage["start"])
    down = {"suite": stage["suite"], "start": stage["start"], "end": (start + timedelta(days=5)).isoformat()}
    response = api.post("/api/v1/schedules/jobs", {**JOB, "suite_down": down})
    assert response.status_code == 202
    replan = _finish(api, response.headers["location"])
    assert (replan["state"], replan["kind"], replan["version"]) == ("succeeded", "reschedule", 2), replan["error"]
    assert _json(api, "/api/v1/schedules/2")["based_on"] == 1
    assert [job["id"] for job in _json(api, "/api/v1/schedules/jobs")] == [replan["id"], job["id"]]
    comparison = _json(api, "/api/v1/schedules/compare?a=1&b=2")
    assert comparison["b"]["moved_operations"] == len(comparison["moved"])


def test_a_job_with_nothing_to_plan_fails_with_the_reason(app: App) -> None:
    api = build_api(app, None, users=("ana",))
    response = api.post("/api/v1/schedules/jobs", JOB)
    assert response.status_code == 202
    job = _finish(api, response.headers["location"])
    assert (job["state"], job["version"]) == ("failed", None)
    assert job["error"] == "there is nothing to plan: no batch is planned, scheduled or in progress"
    assert _json(api, "/api/v1/schedules") == []


def test_one_job_at_a_time_through_the_api(api: Api) -> None:
    release = threading.Event()

    def slow_plan(*_args: object, **_kwargs: object) -> planning.PlanReport:
        assert release.wait(30)
        raise planning.PlanRejected("no plan: stopped by the test")

    api.asgi.state.plan_jobs = PlanJobs(plan=slow_plan)
    first = api.post("/api/v1/schedules/jobs", JOB)
    assert first.status_code == 202
    status, error, detail = error_of(api.post("/api/v1/schedules/jobs", JOB))
    assert (status, error) == (409, "conflict")
    assert first.json()["id"] in detail
    release.set()
    assert _finish(api, first.headers["location"])["error"] == "no plan: stopped by the test"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_limit": 0}, "time_limit"),
        ({"time_limit": 601}, "time_limit"),
        ({"strategy": "magic"}, "strategy"),
        ({"workers": 9}, "workers"),
        ({"workers": "2"}, "workers"),
        ({"priority": 1}, "priority"),
        ({"suite_down": {"suite": "B-USP-1", "start": "2027-03-01T00:00", "end": "2027-03-02T00:00Z"}}, "start"),
    ],
)
def test_a_job_request_is_validated(app: App, change: dict[str, object], field: str) -> None:
    api = build_api(app, None, users=("ana",))
    status, _, detail = error_of(api.post("/api/v1/schedules/jobs", {**JOB, **change}))
    assert status == 422
    assert field in detail
    assert _json(api, "/api/v1/schedules/jobs") == []


def test_only_planners_start_or_see_jobs(api: Api) -> None:
    assert error_of(api.call("POST", "/api/v1/schedules/jobs", None, JOB))[0] == 401
    for user in ("op", "vic", "hx"):
        assert error_of(api.post("/api/v1/schedules/jobs", JOB, user))[:2] == (403, "forbidden")
        assert error_of(api.get("/api/v1/schedules/jobs", user))[0] == 403
    assert error_of(api.get("/api/v1/schedules/jobs/not-a-job"))[:2] == (404, "not-found")
    assert _json(api, "/api/v1/schedules/jobs") == []
    # The viewer reads schedules and key figures; the operator reads schedules but not the KPIs.
    assert api.get("/api/v1/schedules", "vic").status_code == 200
    assert api.get("/api/v1/kpis", "op").status_code == 403


def test_upcoming_due_dates_count_from_the_given_day(app: App, sample_text: str) -> None:
    build_api(app, sample_text, users=())
    overview = planning.kpi_overview(app.unit_of_work(), today=date(2027, 5, 1), upcoming=5)
    assert [(line.order, line.open_batches) for line in overview.upcoming] == [("PO-2027-001", 3), ("PO-2027-003", 1)]
    assert overview.upcoming[0].program == "NWB-101"
    assert [
        line.order for line in planning.kpi_overview(app.unit_of_work(), today=date(2027, 5, 1), upcoming=1).upcoming
    ] == ["PO-2027-001"]


def test_reading_as_a_sponsor_never_changes_the_stored_plan(planned: Planned) -> None:
    api = planned.api
    before = _json(api, "/api/v1/schedules/2/operations")
    helix_late = any(op["late"] for op in before if op["order"] == "PO-2027-003")
    # Move the due date so that the sponsor's own KPIs, measured now, mark its operations the other way.
    due = "2029-12-31" if helix_late else "2027-03-15"
    assert api.patch("/api/v1/orders/PO-2027-003", {"due_date": due}).status_code == 200
    own = _json(api, "/api/v1/schedules", "hx")[1]["kpis"]
    assert own["late"] == (0 if helix_late else 1)
    assert _json(api, "/api/v1/kpis", "hx")["version"]["kpis"] == own
    after = _json(api, "/api/v1/schedules/2/operations")
    assert [(op["lot"], op["step"], op["late"]) for op in after] == [
        (op["lot"], op["step"], op["late"]) for op in before
    ]


def test_memoised_figures_never_cross_sponsors_and_follow_an_edit_at_once(planned: Planned) -> None:
    api = planned.api
    staff = _json(api, "/api/v1/kpis")
    sponsor = _json(api, "/api/v1/kpis", "hx")
    assert staff != sponsor
    # Asked again in either order, each caller gets its own answer back, never the other's memo.
    assert _json(api, "/api/v1/kpis", "hx") == sponsor
    assert _json(api, "/api/v1/kpis") == staff
    assert not any(mark in str(sponsor) for mark in NORTHWIND_MARKS)
    assert _json(api, "/api/v1/schedules/latest", "hx") != _json(api, "/api/v1/schedules/latest")
    order = {
        "number": "PO-2027-900",
        "sponsor": "Helix Vaccines",
        "program": "HXV-7",
        "batch_count": 2,
        "release_date": "2027-01-04",
        "due_date": "2027-12-20",
    }
    assert api.post("/api/v1/orders", order).status_code == 201
    # Two more planned batches in the backlog on the very next read, for staff and for Helix.
    assert _json(api, "/api/v1/kpis")["backlog"]["planned"] == staff["backlog"]["planned"] + 2
    assert _json(api, "/api/v1/kpis", "hx")["backlog"]["planned"] == sponsor["backlog"]["planned"] + 2
