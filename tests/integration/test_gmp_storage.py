"""GMP records stored and read back on SQLite and PostgreSQL: master and executed batch records, deviations, QC."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from opencdmo import domain
from opencdmo.adapters import scenario_file
from opencdmo.adapters.repositories import Scope
from opencdmo.bootstrap import App
from opencdmo.errors import Conflict
from opencdmo.services import scenarios

AT = datetime(2027, 3, 1, 8, tzinfo=UTC)
PROCESS = "mAb fed-batch 2000 L"
LOT = "NWB101-27-001"


@pytest.fixture
def app_with_network(app: App, sample_text: str) -> App:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(sample_text))
    return app


def _steps() -> list[domain.MasterStep]:
    return [
        domain.MasterStep(
            1,
            "Thaw",
            "Thaw the working cell bank vial.",
            (
                domain.Parameter("vial id", domain.ParameterKind.TEXT),
                domain.Parameter("done", domain.ParameterKind.CHECK),
            ),
        ),
        domain.MasterStep(
            2,
            "Inoculate",
            "Inoculate the bioreactor.",
            (domain.Parameter("pH", unit="pH", low=6.8, high=7.2, critical=True),),
        ),
    ]


def _store_everything(app: App) -> None:
    with app.unit_of_work() as uow:
        [process] = [p for p in uow.processes.list() if p.name == PROCESS]
        master = domain.MasterBatchRecord(
            process=process,
            version=uow.master_records.next_version(PROCESS),
            procedure="MBR-MAB-2000",
            title="mAb fed-batch",
            created_by="qa1",
            created_at=AT,
            steps=_steps(),
        )
        master.approve(AT)
        uow.master_records.add(master)
        batch = uow.batches.get(LOT)
        assert batch is not None
        record = domain.BatchRecord(batch=batch, master=master, started_by="op1", started_at=AT)
        record.record(1, "vial id", "WCB-0042", by="op1", at=AT)
        record.record(1, "done", "yes", by="op1", at=AT)
        record.record(2, "pH", "7.5", by="op1", at=AT)
        record.correct(2, "pH", "7.1", reason="transcription error", by="op1", at=AT)
        uow.batch_records.add(record)
        deviation = domain.Deviation(
            number="DEV-2027-0001",
            severity=domain.Severity.MAJOR,
            title="pH out of range",
            description="pH 7.5 at inoculation",
            opened_by="op1",
            opened_at=AT,
            batch=batch,
            source="step 2 / pH",
        )
        deviation.add_capa("Retrain on pH probe use", "qa1", date(2027, 4, 1))
        uow.deviations.add(deviation)
        instrument = domain.Instrument("HPLC-01", "Agilent 1260", "HPLC", date(2027, 1, 1), date(2027, 12, 31))
        uow.instruments.add(instrument)
        test = domain.QcTest("Purity", "QCM-HPLC-PURITY", "%", low=95.0)
        uow.qc.add_specification(domain.QcSpecification(process=process, tests=[test]))
        uow.qc.add_result(domain.QcResult.record(batch, test, "97.2", instrument, analyst="qc1", at=AT))
        uow.commit()


def test_gmp_records_round_trip(app_with_network: App) -> None:
    app = app_with_network
    _store_everything(app)
    with app.unit_of_work() as uow:
        master = uow.master_records.approved(PROCESS)
        assert master is not None
        assert (master.version, master.status, master.steps) == (1, domain.MasterRecordStatus.APPROVED, _steps())
        record = uow.batch_records.get(LOT)
        assert record is not None
        assert record.master.record_id == f"{PROCESS}/v1"
        assert [(e.step, e.parameter, e.value, e.superseded) for e in record.entries] == [
            (1, "vial id", "WCB-0042", False),
            (1, "done", "yes", False),
            (2, "pH", "7.5", True),
            (2, "pH", "7.1", False),
        ]
        correction = record.entries[-1]
        assert correction.corrects is record.entries[2]
        assert (correction.reason, correction.in_spec, record.entries[2].in_spec) == (
            "transcription error",
            True,
            False,
        )
        assert record.missing(2) == ["verification of pH"]
        [deviation] = uow.deviations.list(lot_number=LOT)
        assert deviation.record_id == f"{LOT}/DEV-2027-0001"
        assert [action.owner for action in deviation.capa] == ["qa1"]
        spec = uow.qc.specification(PROCESS)
        assert spec is not None
        assert spec.tests[0].spec == ">= 95 %"
        [result] = uow.qc.results(LOT)
        assert (result.passed, result.instrument.code, result.display_value) == (True, "HPLC-01", "97.2 %")
        assert uow.qc.results_awaiting_verification() == [result]


def test_a_sponsor_sees_only_its_own_batches_gmp_records(app_with_network: App) -> None:
    app = app_with_network
    _store_everything(app)
    with app.unit_of_work() as uow:
        helix = uow.sponsors.get("Helix Vaccines")
        northwind = uow.sponsors.get("Northwind Biologics")
    assert helix is not None
    assert northwind is not None
    with app.unit_of_work(Scope(sponsor_id=helix.id)) as uow:
        assert uow.batch_records.get(LOT) is None
        assert uow.deviations.list() == []
        assert uow.qc.results(LOT) == []
    with app.unit_of_work(Scope(sponsor_id=northwind.id)) as uow:
        assert uow.batch_records.get(LOT) is not None
        assert [d.number for d in uow.deviations.list()] == ["DEV-2027-0001"]


def test_gmp_records_are_never_cleared_by_an_import(app_with_network: App) -> None:
    app = app_with_network
    _store_everything(app)
    with pytest.raises(Conflict, match="GMP records"), app.unit_of_work() as uow:
        uow.store.clear()
