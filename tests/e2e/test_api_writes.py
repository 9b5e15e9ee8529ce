"""The write routes of the REST API on each database: the network, sponsors, programs and orders; their
validation (422 naming the field), duplicates (409), unknown records (404), roles (401/403) and sponsor scope."""

from __future__ import annotations

import pytest

from opencdmo.bootstrap import App
from tests.e2e.api_client import Api, build_api, error_of

NEW_SUITE = {"name": "B-USP-3", "kind": "upstream", "scale": 500, "scale_unit": "L", "capabilities": ["single-use"]}
NEW_ORDER = {
    "number": "PO-2027-100",
    "sponsor": "Helix Vaccines",
    "program": "HXV-7",
    "batch_count": 2,
    "release_date": "2027-05-03",
    "due_date": "2027-12-15",
    "priority": 2,
    "late_penalty_per_day": 2500,
    "price_per_batch": "1800000.50",
}


@pytest.fixture
def api(app: App, sample_text: str) -> Api:
    return build_api(app, sample_text)


def _invalid(response: object, field: str) -> None:
    """A 422 whose detail names ``field``."""
    assert hasattr(response, "status_code")
    status, _, detail = error_of(response)  # type: ignore[arg-type]
    assert status == 422, detail
    assert field in detail, detail


# The network -----------------------------------------------------------------------------------------------------


def test_a_planner_adds_a_site_and_reads_it_back_at_its_location(api: Api) -> None:
    response = api.post("/api/v1/sites", {"name": "Site E Cork", "region": "EU", "certifications": ["hpra", "fda"]})
    assert response.status_code == 201
    assert response.headers["location"] == "/api/v1/sites/Site%20E%20Cork"
    created = response.json()
    assert created == {
        "name": "Site E Cork",
        "region": "EU",
        "biosafety_level": 1,
        "certifications": ["fda", "hpra"],
        "suites": [],
    }
    assert api.get(response.headers["location"]).json() == created
    assert [site["name"] for site in api.get("/api/v1/sites").json()][-1] == "Site E Cork"


def test_adding_a_site_refuses_a_duplicate_and_bad_values_naming_the_field(api: Api) -> None:
    status, error, detail = error_of(api.post("/api/v1/sites", {"name": "Site B Leiden", "region": "EU"}))
    assert (status, error) == (409, "conflict")
    assert "Site B Leiden" in detail
    _invalid(api.post("/api/v1/sites", {"name": "Site X", "region": "EU", "biosafety_level": 5}), "biosafety_level")
    _invalid(api.post("/api/v1/sites", {"name": " Site X", "region": "EU"}), "name")
    _invalid(
        api.post("/api/v1/sites", {"name": "Site X", "region": "EU", "certifications": ["Upper Case"]}),
        "certifications",
    )
    _invalid(api.post("/api/v1/sites", {"name": "Site X", "region": "EU", "owner": "me"}), "owner")
    _invalid(api.post("/api/v1/sites", {"name": "x" * 61, "region": "EU"}), "name")
    assert len(api.get("/api/v1/sites").json()) == 2


def test_patching_a_site_changes_only_what_is_given(api: Api) -> None:
    response = api.patch("/api/v1/sites/Site D Rockville", {"biosafety_level": 2, "certifications": ["fda", "ema"]})
    assert response.status_code == 200
    site = api.get("/api/v1/sites/Site D Rockville").json()
    assert (site["region"], site["biosafety_level"], site["certifications"]) == ("US-East", 2, ["ema", "fda"])
    assert [suite["name"] for suite in site["suites"]] == ["D-FILL-1", "D-QC"]
    _invalid(api.patch("/api/v1/sites/Site D Rockville", {"region": None}), "region")
    _invalid(api.patch("/api/v1/sites/Site D Rockville", {"name": "Renamed"}), "name")
    assert error_of(api.patch("/api/v1/sites/Site Z", {"region": "EU"}))[:2] == (404, "not-found")


def test_suites_are_listed_flat_with_their_site_and_added_to_a_site(api: Api) -> None:
    suites = api.get("/api/v1/suites").json()
    assert [(suite["site"], suite["name"]) for suite in suites][:2] == [
        ("Site B Leiden", "B-USP-1"),
        ("Site B Leiden", "B-USP-2"),
    ]
    assert [suite["name"] for suite in api.get("/api/v1/suites?site=Site D Rockville").json()] == ["D-FILL-1", "D-QC"]
    assert error_of(api.get("/api/v1/suites?site=Nowhere"))[0] == 404
    response = api.post("/api/v1/sites/Site B Leiden/suites", NEW_SUITE)
    assert response.status_code == 201
    assert response.headers["location"] == "/api/v1/suites/B-USP-3"
    suite = api.get("/api/v1/suites/B-USP-3").json()
    assert (suite["site"], suite["scale"], suite["capabilities"], suite["construction"]) == (
        "Site B Leiden",
        500.0,
        ["single-use"],
        None,
    )
    assert error_of(api.post("/api/v1/sites/Site D Rockville/suites", NEW_SUITE))[:2] == (409, "conflict")
    assert error_of(api.post("/api/v1/sites/Nowhere/suites", {**NEW_SUITE, "name": "N-1"}))[0] == 404
    _invalid(
        api.post("/api/v1/sites/Site B Leiden/suites", {**NEW_SUITE, "name": "QC-2", "kind": "qc-lab"}), "qc_analysts"
    )
    _invalid(api.post("/api/v1/sites/Site B Leiden/suites", {**NEW_SUITE, "name": "U-9", "scale": 0}), "scale")
    _invalid(api.post("/api/v1/sites/Site B Leiden/suites", {**NEW_SUITE, "name": "U-9", "kind": "reactor"}), "kind")


def test_patching_a_suite_checks_the_domains_rules(api: Api) -> None:
    response = api.patch(
        "/api/v1/suites/B-DSP-1", {"scale": 3000, "construction": None, "default_changeover_hours": 30}
    )
    assert response.status_code == 200
    suite = api.get("/api/v1/suites/B-DSP-1").json()
    assert (suite["scale"], suite["construction"], suite["default_changeover_hours"]) == (3000.0, None, 30)
    # A campaign's cleaning may not take longer than a changeover, named rules included (mab-igg -> vaccine 48 h).
    _invalid(api.patch("/api/v1/suites/B-USP-1", {"same_product_hours": 40}), "default_changeover_hours")
    _invalid(
        api.patch("/api/v1/suites/B-USP-1", {"same_product_hours": 50, "default_changeover_hours": 50}),
        "same_product_hours",
    )
    # The production stage has a duration of its own in B-USP-2 and needs single-use.
    _invalid(api.patch("/api/v1/suites/B-USP-2", {"capabilities": ["bsl2"]}), "capabilities")
    _invalid(api.patch("/api/v1/suites/B-USP-2", {"kind": "downstream"}), "kind")
    unchanged = api.get("/api/v1/suites/B-USP-2").json()
    assert unchanged["capabilities"] == ["bsl2", "single-use"]
    assert error_of(api.patch("/api/v1/suites/Z-1", {"scale": 1}))[0] == 404


def test_downtime_is_added_refused_when_it_overlaps_and_removed(api: Api) -> None:
    path = "/api/v1/suites/B-USP-1/downtime"
    window = {"start": "2027-10-04T06:00:00+02:00", "end": "2027-10-05T06:00:00Z", "reason": "filter change"}
    response = api.post(path, window)
    assert response.status_code == 201
    assert response.json() == {
        "start": "2027-10-04T04:00:00Z",
        "end": "2027-10-05T06:00:00Z",
        "reason": "filter change",
    }
    overlapping = {"start": "2027-08-10T00:00:00Z", "end": "2027-08-20T00:00:00Z", "reason": "extra"}
    status, _, detail = error_of(api.post(path, overlapping))
    assert status == 422
    assert detail.startswith("start: downtime 2027-08-10 00:00–2027-08-20 00:00 overlaps 2027-08-02 06:00")
    _invalid(api.post(path, {**window, "start": "2027-11-01T06:00:30Z", "end": "2027-11-02T00:00:00Z"}), "start")
    _invalid(api.post(path, {**window, "start": "2027-11-01T06:00:00"}), "start")
    _invalid(api.post(path, {**window, "start": "2027-11-03T00:00:00Z", "end": "2027-11-02T00:00:00Z"}), "end")
    reasons = [item["reason"] for item in api.get("/api/v1/suites/B-USP-1").json()["downtime"]]
    assert reasons == ["annual shutdown", "filter change"]

    assert api.delete(f"{path}/2027-10-04T04:00:00Z").status_code == 204
    assert error_of(api.delete(f"{path}/2027-10-04T04:00:00Z"))[:2] == (404, "not-found")
    assert [item["reason"] for item in api.get("/api/v1/suites/B-USP-1").json()["downtime"]] == ["annual shutdown"]
    assert error_of(api.post("/api/v1/suites/Z-1/downtime", window))[0] == 404


def test_process_templates_are_listed_and_read_by_name(api: Api) -> None:
    processes = api.get("/api/v1/processes").json()
    assert [process["name"] for process in processes] == ["mAb fed-batch 2000 L", "Vial fill 10 mL"]
    mab = api.get("/api/v1/processes/mAb fed-batch 2000 L").json()
    assert [stage["name"] for stage in mab["stages"]] == ["seed train", "production", "purification"]
    assert mab["stages"][1]["suite_durations"] == {"B-USP-2": 312}
    assert (mab["qc_release_hours"], mab["qc_analysts"]) == (960, 2)
    assert error_of(api.get("/api/v1/processes/none"))[0] == 404


# Sponsors and programs -------------------------------------------------------------------------------------------


def test_sponsors_and_programs_are_added_and_read_by_name(api: Api) -> None:
    response = api.post("/api/v1/sponsors", {"name": "Acme Bio", "size": "mid"})
    assert (response.status_code, response.headers["location"]) == (201, "/api/v1/sponsors/Acme%20Bio")
    assert api.get("/api/v1/sponsors/Acme Bio").json() == {"name": "Acme Bio", "size": "mid"}
    assert error_of(api.post("/api/v1/sponsors", {"name": "Acme Bio"}))[:2] == (409, "conflict")
    _invalid(api.post("/api/v1/sponsors", {"name": "Acme 2", "size": "huge"}), "size")

    program = {
        "sponsor": "Acme Bio",
        "name": "HXV-7",  # Helix has one so named: names are unique per sponsor only
        "modality": "vaccine",
        "phase": "phase-2",
        "product_family": "vaccine",
        "process": "Vial fill 10 mL",
    }
    response = api.post("/api/v1/programs", program)
    assert response.status_code == 201
    assert response.headers["location"] == "/api/v1/programs/HXV-7?sponsor=Acme%20Bio"
    assert api.get(response.headers["location"]).json()["sponsor"] == "Acme Bio"
    status, _, detail = error_of(api.get("/api/v1/programs/HXV-7"))
    assert status == 422
    assert "name the sponsor" in detail
    # A sponsor user sees its own program only, so the name is not ambiguous for it.
    assert api.get("/api/v1/programs/HXV-7", "hx").json()["sponsor"] == "Helix Vaccines"
    assert error_of(api.post("/api/v1/programs", program))[:2] == (409, "conflict")
    _invalid(api.post("/api/v1/programs", {**program, "name": "AB-2", "product_family": "gene"}), "product_family")
    _invalid(api.post("/api/v1/programs", {**program, "name": "AB-2", "process": "Tablets"}), "process")
    _invalid(api.post("/api/v1/programs", {**program, "name": "AB-2", "sponsor": "Nobody"}), "sponsor")
    _invalid(api.post("/api/v1/programs", {**program, "name": "AB-2", "phase": "phase-9"}), "phase")


# Orders ----------------------------------------------------------------------------------------------------------


def test_an_order_is_created_with_its_planned_batches(api: Api) -> None:
    response = api.post("/api/v1/orders", NEW_ORDER)
    assert response.status_code == 201
    assert response.headers["location"] == "/api/v1/orders/PO-2027-100"
    order = response.json()
    assert order["sponsor"] == "Helix Vaccines"
    assert (order["late_penalty_per_day"], order["price_per_batch"]) == ("2500.00", "1800000.50")
    assert [(batch["lot_number"], batch["status"]) for batch in order["batches"]] == [
        ("PO-2027-100-001", "planned"),
        ("PO-2027-100-002", "planned"),
    ]
    assert api.get("/api/v1/orders/PO-2027-100", "hx").json() == order
    assert error_of(api.get("/api/v1/orders/PO-2027-100", "nw"))[0] == 404


BAD_ORDERS: list[tuple[dict[str, object], str]] = [
    ({"due_date": "2027-05-01"}, "due_date"),
    ({"batch_count": 0}, "batch_count"),
    ({"batch_count": True}, "batch_count"),
    ({"priority": 6}, "priority"),
    ({"price_per_batch": "12.345"}, "price_per_batch"),
    ({"late_penalty_per_day": -1}, "late_penalty_per_day"),
    ({"program": "NWB-101"}, "program"),  # Northwind's program, not Helix's
    ({"sponsor": "Nobody"}, "sponsor"),
    ({"release_date": "soon"}, "release_date"),
    ({"number": ""}, "number"),
    ({"batches": []}, "batches"),
]


def test_creating_an_order_refuses_bad_values_naming_the_field(api: Api) -> None:
    for change, field in BAD_ORDERS:
        _invalid(api.post("/api/v1/orders", {**NEW_ORDER, **change}), field)
    assert error_of(api.get("/api/v1/orders/PO-2027-100"))[0] == 404


def test_an_order_number_is_taken_once(api: Api) -> None:
    status, error, detail = error_of(api.post("/api/v1/orders", {**NEW_ORDER, "number": "PO-2027-001"}))
    assert (status, error) == (409, "conflict")
    assert "PO-2027-001" in detail


def test_patching_an_order_follows_the_rules_of_started_batches(api: Api) -> None:
    # Helix's order: one cancelled batch and one planned; nothing started, so it may grow.
    grown = api.patch("/api/v1/orders/PO-2027-003", {"batch_count": 3, "priority": 1, "due_date": "2027-11-30"})
    assert grown.status_code == 200
    order = grown.json()
    assert (order["batch_count"], order["priority"], order["due_date"]) == (3, 1, "2027-11-30")
    assert [batch["lot_number"] for batch in order["batches"] if batch["status"] == "planned"] == [
        "HXV7-27-002",
        "PO-2027-003-001",
        "PO-2027-003-002",
    ]
    shrunk = api.patch("/api/v1/orders/PO-2027-003", {"batch_count": 1}).json()
    assert [(batch["lot_number"], batch["status"]) for batch in shrunk["batches"]][1:] == [
        ("HXV7-27-002", "planned"),
        ("PO-2027-003-001", "cancelled"),
        ("PO-2027-003-002", "cancelled"),
    ]
    assert shrunk["batches"][2]["cancel_reason"] == "order PO-2027-003 reduced to 1 batch(es)"

    # Northwind's first order has a batch in progress: no more batches, no new release date; fewer is fine.
    _invalid(api.patch("/api/v1/orders/PO-2027-001", {"batch_count": 4}), "batch_count")
    _invalid(api.patch("/api/v1/orders/PO-2027-001", {"release_date": "2027-01-11"}), "release_date")
    fewer = api.patch("/api/v1/orders/PO-2027-001", {"batch_count": 2, "late_penalty_per_day": 50000}).json()
    assert [batch["status"] for batch in fewer["batches"]] == ["in-progress", "scheduled", "cancelled"]
    assert fewer["late_penalty_per_day"] == "50000.00"
    # Its second order's batches are in QC and released: it cannot be for fewer.
    _invalid(api.patch("/api/v1/orders/PO-2027-002", {"batch_count": 1}), "batch_count")
    # A refused change changes nothing, not even the valid fields sent with it.
    _invalid(api.patch("/api/v1/orders/PO-2027-002", {"priority": 1, "due_date": "2027-01-01"}), "due_date")
    assert api.get("/api/v1/orders/PO-2027-002").json()["priority"] == 3
    _invalid(api.patch("/api/v1/orders/PO-2027-002", {"priority": None}), "priority")
    _invalid(api.patch("/api/v1/orders/PO-2027-002", {"sponsor": "Helix Vaccines"}), "sponsor")
    assert error_of(api.patch("/api/v1/orders/PO-0000", {"priority": 1}))[0] == 404


def test_orders_and_batches_are_filtered(api: Api) -> None:
    def numbers(query: str, user: str = "ana") -> list[str]:
        return [order["number"] for order in api.get(f"/api/v1/orders{query}", user).json()]

    assert numbers("") == ["PO-2027-001", "PO-2027-002", "PO-2027-003"]
    assert numbers("?sponsor=Helix Vaccines") == ["PO-2027-003"]
    assert numbers("?status=in-qc") == ["PO-2027-002"]
    assert numbers("?status=planned&due_before=2027-07-01") == ["PO-2027-001"]
    assert numbers("?due_before=2027-04-15") == []
    assert numbers("?sponsor=Northwind Biologics", "hx") == []
    _invalid(api.get("/api/v1/orders?status=lost"), "status")
    _invalid(api.get("/api/v1/orders?due_before=someday"), "due_before")

    def lots(query: str, user: str = "ana") -> list[str]:
        return [batch["lot_number"] for batch in api.get(f"/api/v1/batches{query}", user).json()]

    assert lots("?status=planned") == ["NWB101-27-003", "HXV7-27-002"]
    assert lots("?order=PO-2027-002") == ["NWB220-27-001", "NWB220-27-002"]
    assert lots("?order=PO-2027-002", "hx") == []
    assert lots("", "hx") == ["HXV7-27-001", "HXV7-27-002"]
    _invalid(api.get("/api/v1/batches?status=lost"), "status")


# Roles -----------------------------------------------------------------------------------------------------------

WRITES: list[tuple[str, str, dict[str, object]]] = [
    ("POST", "/api/v1/sites", {"name": "Site Q", "region": "EU"}),
    ("PATCH", "/api/v1/sites/Site B Leiden", {"region": "NL"}),
    ("POST", "/api/v1/sites/Site B Leiden/suites", NEW_SUITE),
    ("PATCH", "/api/v1/suites/B-USP-1", {"scale": 1000}),
    (
        "POST",
        "/api/v1/suites/B-USP-1/downtime",
        {"start": "2027-10-04T06:00:00Z", "end": "2027-10-05T06:00:00Z", "reason": "x"},
    ),
    ("DELETE", "/api/v1/suites/B-USP-1/downtime/2027-08-02T06:00:00Z", {}),
    ("POST", "/api/v1/sponsors", {"name": "Acme Bio"}),
    (
        "POST",
        "/api/v1/programs",
        {
            "sponsor": "Helix Vaccines",
            "name": "HXV-8",
            "modality": "vaccine",
            "phase": "phase-1",
            "product_family": "vaccine",
            "process": "Vial fill 10 mL",
        },
    ),
    ("POST", "/api/v1/orders", NEW_ORDER),
    ("PATCH", "/api/v1/orders/PO-2027-003", {"priority": 1}),
]


def test_writes_need_a_token_and_an_editing_role(api: Api) -> None:
    for method, path, body in WRITES:
        json = body if method != "DELETE" else None
        assert error_of(api.call(method, path, None, json))[:2] == (401, "unauthorized"), path
        for user in ("op", "vic", "hx"):  # an operator, a viewer, and a sponsor even on its own records
            status, error, detail = error_of(api.call(method, path, user, json))
            assert (status, error) == (403, "forbidden"), (method, path, user, detail)
    assert api.get("/api/v1/orders/PO-2027-003").json()["priority"] == 2
    assert [site["region"] for site in api.get("/api/v1/sites").json()] == ["EU", "US-East"]
    assert len(api.get("/api/v1/suites/B-USP-1").json()["downtime"]) == 1


def test_the_openapi_document_describes_the_write_routes(api: Api) -> None:
    paths = api.get("/api/v1/openapi.json").json()["paths"]
    assert set(paths["/api/v1/orders"]) == {"get", "post"}
    post = paths["/api/v1/orders"]["post"]
    assert {"201", "401", "403", "409", "422"} <= set(post["responses"])
    assert {"200", "404", "422"} <= set(paths["/api/v1/orders/{number}"]["patch"]["responses"])
    assert "204" in paths["/api/v1/suites/{name}/downtime/{start}"]["delete"]["responses"]


def test_control_characters_and_far_away_times_are_refused_before_any_query(api: Api) -> None:
    """PostgreSQL refuses NUL in a query and no time converts to UTC near year 1: both are invalid input."""
    for path, field in [
        ("/api/v1/orders/PO%00", "number"),
        ("/api/v1/sites/Site%0AB", "name"),
        ("/api/v1/suites?site=%00", "site"),
        ("/api/v1/orders?sponsor=%7F", "sponsor"),
        ("/api/v1/programs/HXV-7?sponsor=%00", "sponsor"),
        ("/api/v1/batches?order=%01", "order"),
    ]:
        _invalid(api.get(path), field)
    _invalid(api.post("/api/v1/sponsors", {"name": "Acme\x00"}), "name")
    _invalid(api.post("/api/v1/orders", {**NEW_ORDER, "sponsor": "Helix\x00"}), "sponsor")
    _invalid(api.post("/api/v1/orders", {**NEW_ORDER, "due_date": "9999-12-31"}), "due_date")
    window = {"start": "0001-01-01T00:00:00+05:00", "end": "2027-01-02T00:00:00Z", "reason": "x"}
    _invalid(api.post("/api/v1/suites/B-USP-1/downtime", window), "start")
    _invalid(api.delete("/api/v1/suites/B-USP-1/downtime/0001-01-01T00:00:00+05:00"), "start")
