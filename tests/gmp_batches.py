"""A batch taken through GMP execution with the real use cases, for the disposition and export tests: QA and QP
staff trained on the procedures, an approved master record, an executed and verified batch record, QC passed and
verified, deviations closed, the audit trail reviewed.

Every step goes through the services (with their training, role and signature checks), on the sample network
(``docs/examples/small-network.yaml``); the batch is Helix Vaccines' HXV7-27-002 (planned there), so a sponsor
user of Helix can read it once released and one of Northwind never can.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from opencdmo import domain
from opencdmo.bootstrap import App
from opencdmo.domain import Role
from opencdmo.services import accounts, batch_records, deviations, disposition, master_records, qc, training
from opencdmo.services.signatures import Credentials

PASSWORD = "correct horse battery staple"
LOT = "HXV7-27-002"
PROCESS = "mAb fed-batch 2000 L"
PROCEDURE = "MBR-MAB-2000"
METHOD = "QCM-HPLC-PURITY"
INSTRUMENT = "HPLC-01"
STAFF: dict[str, tuple[Role, str]] = {
    "qa1": (Role.QA, "Quinn Abbott"),
    "qa2": (Role.QA, "Rosa Lind"),
    "qp1": (Role.QUALIFIED_PERSON, "Petra Quist"),
    "op1": (Role.OPERATOR, "Oskar Piet"),
    "op2": (Role.OPERATOR, "Olga Prins"),
    "qc1": (Role.QC_ANALYST, "Cora Ames"),
    "qc2": (Role.QC_ANALYST, "Caleb Ng"),
}
"""The staff by their usernames in :data:`CREW` (another crew adds a suffix), with role and printed name."""
PROCEDURES = {
    "qa1": (PROCEDURE,),
    "qa2": (PROCEDURE,),
    "op1": (PROCEDURE,),
    "op2": (PROCEDURE,),
    "qc1": (METHOD,),
    "qc2": (METHOD,),
}


@dataclass(frozen=True)
class Crew:
    """The usernames of the staff: those of :data:`STAFF`, each with ``suffix`` (tests on a shared server add one)."""

    suffix: str = ""

    def __getattr__(self, name: str) -> str:
        if name in STAFF:
            return f"{name}{self.suffix}"
        raise AttributeError(name)


CREW = Crew()


def now() -> datetime:
    return datetime.now(UTC)


def credentials(username: str) -> Credentials:
    return Credentials(password=PASSWORD, username=username)


def steps() -> list[domain.MasterStep]:
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


def add_staff(app: App, crew: Crew = CREW) -> None:
    """The staff of :data:`STAFF`, each trained on their procedures for a year."""
    today = now().date()
    for key, (role, full_name) in STAFF.items():
        username = getattr(crew, key)
        accounts.add_user(app.unit_of_work(), username, role, password=PASSWORD, full_name=full_name)
        for procedure in PROCEDURES.get(key, ()):
            training.grant(
                app.unit_of_work(),
                username,
                procedure,
                trained_on=today - timedelta(days=30),
                valid_until=today + timedelta(days=335),
                actor=crew.qa1,
            )


def approve_master(app: App, crew: Crew = CREW) -> None:
    draft = master_records.draft(
        app.unit_of_work(), PROCESS, procedure=PROCEDURE, title="mAb fed-batch", steps=steps(), actor=crew.qa1
    )
    master_records.approve(
        app.unit_of_work(), PROCESS, draft.version, signer=crew.qa2, credentials=credentials(crew.qa2)
    )


def entry_id(app: App, lot: str, step: int, parameter: str) -> int:
    """The id of the current value of a parameter."""
    with app.unit_of_work() as uow:
        record = uow.batch_records.get(lot)
        assert record is not None
        entry = record.current(step, parameter)
        assert entry is not None
        assert entry.id is not None
        return entry.id


def execute(app: App, lot: str = LOT, *, ph: str = "7.0", crew: Crew = CREW) -> str | None:
    """Start, record (pH ``ph``), verify and complete the batch record: the batch goes in QC. Returns the number of
    the deviation an out-of-specification pH opened, if any."""
    batch_records.start(app.unit_of_work(), lot, actor=crew.op1)
    batch_records.record(app.unit_of_work(), lot, 1, "vial id", "WCB-0042", actor=crew.op1)
    batch_records.record(app.unit_of_work(), lot, 1, "done", "yes", actor=crew.op1)
    recorded = batch_records.record(app.unit_of_work(), lot, 2, "pH", ph, actor=crew.op1)
    entry = entry_id(app, lot, 2, "pH")
    batch_records.verify(app.unit_of_work(), lot, entry, signer=crew.op2, credentials=credentials(crew.op2))
    batch_records.complete(app.unit_of_work(), lot, actor=crew.op1)
    return recorded.deviation


def specify_qc(app: App, instrument: str = INSTRUMENT, crew: Crew = CREW) -> None:
    today = now().date()
    qc.register(
        app.unit_of_work(),
        instrument,
        "Agilent 1260",
        "HPLC",
        today - timedelta(days=30),
        today + timedelta(days=300),
        actor=crew.qa1,
    )
    qc.set_specification(app.unit_of_work(), PROCESS, [domain.QcTest("Purity", METHOD, "%", low=95.0)], actor=crew.qa1)


def pass_qc(app: App, lot: str = LOT, value: str = "97.2", *, instrument: str = INSTRUMENT, crew: Crew = CREW) -> int:
    """Record and verify the purity result; returns its id."""
    recorded = qc.record_result(app.unit_of_work(), lot, "Purity", value, instrument, actor=crew.qc1)
    assert recorded.result.id is not None
    qc.verify_result(app.unit_of_work(), recorded.result.id, signer=crew.qc2, credentials=credentials(crew.qc2))
    return recorded.result.id


def close_deviation(app: App, number: str, crew: Crew = CREW) -> None:
    qa = crew.qa1
    deviations.record_investigation(
        app.unit_of_work(), number, "Probe drift found on calibration check.", "pH probe drift", actor=qa
    )
    deviations.add_capa(app.unit_of_work(), number, "Recalibrate probes weekly", qa, date(2030, 1, 1), actor=qa)
    deviations.complete_capa(app.unit_of_work(), number, 1, actor=qa)
    deviations.check_effectiveness(app.unit_of_work(), number, 1, "No drift in 10 batches", actor=qa)
    deviations.close(app.unit_of_work(), number, signer=qa, credentials=credentials(qa))


def review(app: App, lot: str = LOT, reviewer: str = "qa1") -> None:
    disposition.review_audit_trail(app.unit_of_work(), lot, signer=reviewer, credentials=credentials(reviewer))


def ready_for_release(app: App, lot: str = LOT) -> None:
    """Everything a release needs, on a network with staff: master, execution, QC, review."""
    approve_master(app)
    execute(app, lot)
    specify_qc(app)
    pass_qc(app, lot)
    review(app, lot)


def release(app: App, lot: str = LOT) -> None:
    disposition.release(app.unit_of_work(), lot, signer="qp1", credentials=credentials("qp1"))
