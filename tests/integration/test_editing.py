"""The edit use cases on SQLite and PostgreSQL: what they store, what they refuse, and for whom."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from opencdmo import domain
from opencdmo.adapters import scenario_file
from opencdmo.adapters.repositories import Scope
from opencdmo.bootstrap import App
from opencdmo.errors import Conflict, DomainError, Forbidden, NotFound
from opencdmo.services import catalogue, editing, scenarios


@pytest.fixture
def app_with_network(app: App, sample_text: str) -> App:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    return app


def _helix_scope(app: App) -> Scope:
    with app.unit_of_work() as uow:
        helix = uow.sponsors.get("Helix Vaccines")
        assert helix is not None
        return Scope(sponsor_id=helix.id)


def _order(app: App, number: str) -> domain.Order:
    with app.unit_of_work() as uow:
        order = uow.orders.get(number)
    assert order is not None
    return order


def _counts(app: App) -> dict[str, int]:
    with app.unit_of_work() as uow:
        return uow.store.row_counts()


def test_network_edits_are_stored(app_with_network: App) -> None:
    app = app_with_network
    editing.add_site(app.unit_of_work(), editing.SiteDraft("Site E Cork", "EU", 2, ["hpra"]))
    editing.add_suite(
        app.unit_of_work(),
        "Site E Cork",
        editing.SuiteDraft("E-QC", domain.SuiteKind.QC_LAB, 1, "units", qc_analysts=3),
    )
    editing.update_suite(app.unit_of_work(), "E-QC", editing.SuiteChanges(qc_analysts=5))
    editing.update_site(app.unit_of_work(), "Site E Cork", editing.SiteChanges(region="IE"))
    start = datetime(2027, 9, 1, 6, tzinfo=UTC)
    editing.add_downtime(app.unit_of_work(), "E-QC", start, datetime(2027, 9, 2, 6, tzinfo=UTC), "audit")

    stored = scenarios.export_scenario(app.unit_of_work())
    site = next(site for site in stored.sites if site.name == "Site E Cork")
    assert (site.region, site.biosafety_level, site.certifications) == ("IE", 2, frozenset({"hpra"}))
    [suite] = site.suites
    assert (suite.kind, suite.qc_analysts) == (domain.SuiteKind.QC_LAB, 5)
    assert [(window.start, window.reason) for window in suite.downtime] == [(start, "audit")]

    editing.remove_downtime(app.unit_of_work(), "E-QC", start)
    with app.unit_of_work() as uow:
        holder = uow.sites.of_suite("E-QC")
        assert holder is not None
        assert holder.suites[0].downtime == []
    with pytest.raises(NotFound, match="downtime window"):
        editing.remove_downtime(app.unit_of_work(), "E-QC", start)


def test_checking_a_change_adds_no_row(app_with_network: App) -> None:
    """The use cases check new values on throwaway domain objects: none of them may end up stored."""
    app = app_with_network
    before = _counts(app)
    editing.update_site(app.unit_of_work(), "Site B Leiden", editing.SiteChanges(biosafety_level=3))
    editing.update_suite(app.unit_of_work(), "B-USP-1", editing.SuiteChanges(scale=2500.0))
    editing.update_order(app.unit_of_work(), "PO-2027-001", editing.OrderChanges(priority=2))
    with pytest.raises(DomainError):
        editing.update_order(app.unit_of_work(), "PO-2027-001", editing.OrderChanges(due_date=date(2026, 1, 1)))
    assert _counts(app) == before
    assert _order(app, "PO-2027-001").priority == 2


def test_a_refused_change_leaves_the_record_as_it_was(app_with_network: App) -> None:
    app = app_with_network
    with pytest.raises(DomainError) as refused:
        editing.update_suite(
            app.unit_of_work(),
            "B-USP-1",
            editing.SuiteChanges(scale=900.0, same_product_hours=60, default_changeover_hours=60),
        )
    assert refused.value.field == "same_product_hours"  # the 48 h mab-igg -> vaccine rule is shorter
    with app.unit_of_work() as uow:
        site = uow.sites.of_suite("B-USP-1")
        assert site is not None
        assert (site.suites[0].scale, site.suites[0].same_product_hours) == (2000.0, 12)


def test_new_batches_are_named_after_the_order_without_clashing(app_with_network: App) -> None:
    app = app_with_network
    # Lots NWB101-27-001..003 exist already (order PO-2027-001): the new order's start at 004.
    draft = editing.OrderDraft(
        number="NWB101-27",
        sponsor="Northwind Biologics",
        program="NWB-101",
        batch_count=2,
        release_date=date(2027, 7, 1),
        due_date=date(2027, 12, 31),
        late_penalty_per_day=Decimal("1000.00"),
    )
    order = editing.create_order(app.unit_of_work(), draft)
    assert [batch.lot_number for batch in order.batches] == ["NWB101-27-004", "NWB101-27-005"]
    long_number = "PO-" + "9" * 37
    made = editing.create_order(app.unit_of_work(), editing.OrderDraft(**{**draft.__dict__, "number": long_number}))
    assert [batch.lot_number for batch in made.batches] == [long_number[:36] + "-001", long_number[:36] + "-002"]
    stored = _order(app, long_number)
    assert [batch.status for batch in stored.batches] == [domain.BatchStatus.PLANNED] * 2
    assert stored.late_penalty_per_day == Decimal("1000.00")
    with pytest.raises(Conflict, match="already exists"):
        editing.create_order(app.unit_of_work(), draft)


def test_growing_and_shrinking_an_order_is_stored(app_with_network: App) -> None:
    app = app_with_network
    editing.update_order(app.unit_of_work(), "PO-2027-003", editing.OrderChanges(batch_count=2))
    grown = _order(app, "PO-2027-003")
    assert grown.batch_count == 2
    assert [(batch.lot_number, batch.status.value) for batch in grown.batches] == [
        ("HXV7-27-001", "cancelled"),
        ("HXV7-27-002", "planned"),
        ("PO-2027-003-001", "planned"),
    ]
    editing.update_order(app.unit_of_work(), "PO-2027-001", editing.OrderChanges(batch_count=1))
    shrunk = _order(app, "PO-2027-001")
    assert [batch.status.value for batch in shrunk.batches] == ["in-progress", "cancelled", "cancelled"]
    assert shrunk.batches[1].cancel_reason == "order PO-2027-001 reduced to 1 batch(es)"
    with pytest.raises(DomainError) as refused:
        editing.update_order(app.unit_of_work(), "PO-2027-001", editing.OrderChanges(batch_count=2))
    assert refused.value.field == "batch_count"


def test_a_sponsor_scope_may_not_edit_even_its_own_records(app_with_network: App) -> None:
    app = app_with_network
    scope = _helix_scope(app)
    attempts = [
        lambda uow: editing.add_site(uow, editing.SiteDraft("Site Q", "EU")),
        lambda uow: editing.update_suite(uow, "B-USP-1", editing.SuiteChanges(scale=1.0)),
        lambda uow: editing.add_sponsor(uow, editing.SponsorDraft("Acme")),
        lambda uow: editing.update_order(uow, "PO-2027-003", editing.OrderChanges(priority=1)),
    ]
    for attempt in attempts:
        with pytest.raises(Forbidden, match="only CDMO staff"):
            attempt(app.unit_of_work(scope))
    assert _order(app, "PO-2027-003").priority == 2


def test_duplicates_and_unknown_names(app_with_network: App) -> None:
    app = app_with_network
    with pytest.raises(Conflict, match="already exists at Site B Leiden"):
        editing.add_suite(
            app.unit_of_work(), "Site D Rockville", editing.SuiteDraft("B-QC", "qc-lab", 1, "units", qc_analysts=1)
        )
    with pytest.raises(Conflict):
        editing.add_sponsor(app.unit_of_work(), editing.SponsorDraft("Helix Vaccines"))
    with pytest.raises(NotFound):
        editing.update_site(app.unit_of_work(), "Site Z", editing.SiteChanges())
    with pytest.raises(NotFound):
        editing.update_order(app.unit_of_work(), "PO-0", editing.OrderChanges())
    with pytest.raises(DomainError) as unknown:
        editing.add_program(
            app.unit_of_work(),
            editing.ProgramDraft("Helix Vaccines", "HXV-9", "vaccine", "phase-1", "vaccine", "Pills"),
        )
    assert unknown.value.field == "process"
    with pytest.raises(DomainError) as bad_size:
        editing.add_sponsor(app.unit_of_work(), editing.SponsorDraft("Acme", "enormous"))
    assert bad_size.value.field == "size"


def test_a_name_with_control_characters_finds_nothing_without_a_query(app_with_network: App) -> None:
    """PostgreSQL refuses NUL in a query: a web form's text must give a clear answer, not a database error."""
    app = app_with_network
    draft = editing.OrderDraft("PO-9", "Helix\x00", "HXV-7", 1, date(2027, 5, 3), date(2027, 6, 1))
    with pytest.raises(DomainError) as unknown:
        editing.create_order(app.unit_of_work(), draft)
    assert unknown.value.field == "sponsor"
    with pytest.raises(DomainError) as unknown:
        editing.create_order(
            app.unit_of_work(),
            editing.OrderDraft(**{**draft.__dict__, "sponsor": "Helix Vaccines", "program": "HX\x00"}),
        )
    assert unknown.value.field == "program"
    with pytest.raises(NotFound):
        editing.update_order(app.unit_of_work(), "PO-2027-001\x00", editing.OrderChanges(priority=1))
    with pytest.raises(NotFound):
        editing.update_suite(app.unit_of_work(), "B-USP-1\x00", editing.SuiteChanges())
    for lookup in (
        catalogue.get_order,
        catalogue.get_batch,
        catalogue.get_site,
        catalogue.get_suite,
        catalogue.get_sponsor,
    ):
        with pytest.raises(NotFound):
            lookup(app.unit_of_work(), "x\x00")
    assert catalogue.find_orders(app.unit_of_work(), sponsor="\x00") == []
    assert catalogue.list_batches(app.unit_of_work(), order="\x00") == []
