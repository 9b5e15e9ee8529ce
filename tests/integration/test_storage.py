"""Storage on SQLite and PostgreSQL: migrations, the round trip, sponsor scope, and all-or-nothing imports."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from opencdmo import domain
from opencdmo.adapters import db, orm, scenario_file
from opencdmo.adapters.repositories import Scope
from opencdmo.bootstrap import App
from opencdmo.errors import Conflict, Forbidden
from opencdmo.services import scenarios


def test_migrations_build_the_mapped_schema_on_an_empty_database(empty_engine: Engine) -> None:
    assert not db.schema_is_current(empty_engine)
    db.upgrade(empty_engine)
    assert db.schema_is_current(empty_engine)
    with empty_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), orm.metadata)
        tables = set(inspect(connection).get_table_names())
    assert differences == []
    assert {table.name for table in orm.metadata.sorted_tables} <= tables
    db.upgrade(empty_engine)  # a second run changes nothing and does not fail
    assert db.schema_is_current(empty_engine)


def test_constraints_are_named_by_the_convention(empty_engine: Engine) -> None:
    db.upgrade(empty_engine)
    inspector = inspect(empty_engine)
    unique_names = {constraint["name"] for constraint in inspector.get_unique_constraints("batches")}
    foreign_keys = {key["name"] for key in inspector.get_foreign_keys("batches")}
    assert "uq_batches_lot_number" in unique_names
    assert "fk_batches_sponsor_id_sponsors" in foreign_keys


def test_export_import_export_is_identical(app: App, sample_text: str) -> None:
    original = scenario_file.dump_scenario(scenario_file.parse_scenario(sample_text))
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(original))
    exported = scenario_file.dump_scenario(scenarios.export_scenario(app.unit_of_work()))
    assert exported == original


def test_a_failed_import_changes_nothing(app: App, sample_text: str) -> None:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    before = scenario_file.dump_scenario(scenarios.export_scenario(app.unit_of_work()))
    with pytest.raises(Conflict, match="--replace"):
        scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    after = scenario_file.dump_scenario(scenarios.export_scenario(app.unit_of_work()))
    assert after == before


def test_an_import_refused_by_the_database_leaves_it_empty(app: App, sample_text: str) -> None:
    broken = scenario_file.parse_scenario(sample_text)
    # The reader refuses duplicate order numbers; built by hand they reach the database, whose unique
    # constraint fails only after families, sites, sponsors and programs have been written.
    broken.orders[2].number = broken.orders[0].number
    with pytest.raises(Conflict, match="clashes with stored data"):
        scenarios.import_scenario(app.unit_of_work(), broken)
    uow = app.unit_of_work()
    with uow:
        assert uow.store.is_empty()


def test_a_replacing_import_that_fails_at_commit_keeps_the_old_network(app: App, sample_text: str) -> None:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    before = app.unit_of_work()
    with before:
        counts_before = before.store.row_counts()
    broken = scenario_file.parse_scenario(sample_text)
    # Two orders with the same number slip past the file reader only when built by hand; the database's
    # unique constraint is the last line of defence, and it must roll back the clearing too.
    broken.orders[1].number = broken.orders[0].number
    with pytest.raises(Conflict, match="clashes with stored data"):
        scenarios.import_scenario(app.unit_of_work(), broken, replace=True)
    after = app.unit_of_work()
    with after:
        assert after.store.row_counts() == counts_before


def test_a_sponsor_scope_sees_only_its_own_rows(app: App, sample_text: str) -> None:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    staff = app.unit_of_work()
    with staff:
        helix = next(s for s in staff.sponsors.list() if s.name == "Helix Vaccines")
    helix_uow = app.unit_of_work(Scope(sponsor_id=helix.id))
    with helix_uow:
        assert [s.name for s in helix_uow.sponsors.list()] == ["Helix Vaccines"]
        assert [p.name for p in helix_uow.programs.list()] == ["HXV-7"]
        assert [o.number for o in helix_uow.orders.list()] == ["PO-2027-003"]
        assert helix_uow.batches.get("NWB101-27-001") is None  # another sponsor's lot looks missing
        found = helix_uow.batches.get("HXV7-27-002")
        assert found is not None
        assert found.status is domain.BatchStatus.PLANNED
        assert sum(helix_uow.batches.count_by_status().values()) == 2
        counts = helix_uow.store.row_counts()
    assert (counts["sponsors"], counts["programs"], counts["orders"], counts["batches"]) == (1, 1, 1, 2)


def test_a_batch_status_change_is_stored(app: App, sample_text: str) -> None:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    uow = app.unit_of_work()
    with uow:
        batch = uow.batches.get("NWB101-27-002")
        assert batch is not None
        batch.start()
        uow.commit()
    check = app.unit_of_work()
    with check:
        stored = check.batches.get("NWB101-27-002")
        assert stored is not None
        assert stored.status is domain.BatchStatus.IN_PROGRESS


def test_times_and_money_survive_storage_exactly(app: App, sample_text: str) -> None:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    stored = scenarios.export_scenario(app.unit_of_work())
    window = stored.sites[0].suites[0].downtime[0]
    assert window.start.isoformat() == "2027-08-02T06:00:00+00:00"
    assert str(stored.orders[1].price_per_batch) == "650000.50"


def test_rebuilding_a_parent_table_in_a_migration_keeps_every_row(app: App, sample_text: str) -> None:
    """SQLite migrations rebuild tables (batch mode); children of a rebuilt table must survive."""
    from alembic.operations import Operations
    from sqlalchemy import Column, String

    if app.engine.dialect.name != "sqlite":
        pytest.skip("only SQLite migrations rebuild tables (PostgreSQL alters them in place)")
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    before = scenario_file.dump_scenario(scenarios.export_scenario(app.unit_of_work()))
    with app.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # as migrations/env.py does
        connection.commit()
        with connection.begin():
            operations = Operations(MigrationContext.configure(connection, opts={"render_as_batch": True}))
            with operations.batch_alter_table("sponsors", recreate="always") as batch:
                batch.add_column(Column("note", String(20), nullable=False, server_default=""))
    after = scenario_file.dump_scenario(scenarios.export_scenario(app.unit_of_work()))
    assert after == before


def test_no_foreign_key_deletes_rows_behind_the_application() -> None:
    cascading = [
        f"{key.parent.table.name}.{key.parent.name}"
        for table in orm.metadata.sorted_tables
        for key in table.foreign_keys
        if key.ondelete
    ]
    assert cascading == []


def test_batches_know_their_order_after_the_unit_of_work_closes(app: App, sample_text: str) -> None:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    stored = scenarios.export_scenario(app.unit_of_work())
    assert all(batch.order is order for order in stored.orders for batch in order.batches)
    uow = app.unit_of_work()
    with uow:
        batch = uow.batches.get("HXV7-27-002")
    assert batch is not None
    assert batch.order.number == "PO-2027-003"


def test_a_sponsor_scope_cannot_write_for_another_sponsor(app: App, sample_text: str) -> None:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    staff = app.unit_of_work()
    with staff:
        sponsors = {s.name: s for s in staff.sponsors.list()}
    helix_uow = app.unit_of_work(Scope(sponsor_id=sponsors["Helix Vaccines"].id))
    with helix_uow:
        other = scenario_file.parse_scenario(sample_text)
        other.orders[0].sponsor.id = sponsors["Northwind Biologics"].id
        with pytest.raises(Forbidden, match="its own"):
            helix_uow.orders.add(other.orders[0])
        with pytest.raises(Forbidden, match="only CDMO staff"):
            helix_uow.sponsors.add(domain.Sponsor(name="Intruder"))
        with pytest.raises(Forbidden, match="only CDMO staff"):
            helix_uow.store.clear()
