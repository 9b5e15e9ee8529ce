"""The quality demo (``opencdmo demo-quality``): the demo CDMO's GMP records, with batches at every point of their life.

On a database holding a network (``opencdmo demo``) and no GMP record yet, :func:`build_quality_demo` writes,
through the real use cases (their role, training, calibration and signature checks included):

- the demo staff's training on every master record procedure and QC method they work to, one of them expired
  (``qc-analyst-2`` on the bioburden method, to show the refusal);
- the QC instruments: valid ones, ``ENDO-READER-01`` whose calibration expired last month, ``INCUBATOR-04`` due
  within two weeks;
- a master batch record per process (written by ``planner``, approved by ``qa``'s signature) with realistic steps
  for its kind of product, and a version-2 draft for one process; a release specification per process;
- then six planned or scheduled batches taken through their life: two in progress (one with a corrected value,
  one with a value awaiting a second person's verification), one in QC (results recorded, one awaiting
  verification), two released by the qualified person (one after a minor deviation was investigated and closed)
  and one rejected after a critical value opened a major deviation (investigated, CAPA done and effective,
  closed).

The history is played on an injected clock stepping through the last ten weeks, every action at its own time and
in time order across batches, so the audit trail reads like a real history. Signing needs credentials, and the
demo knows none: it creates the demo staff (or resets their passwords) and keeps the passwords in memory only,
then signs with them like anyone else (``opencdmo demo-users`` hands out new passwords afterwards).

GMP records are never deleted, so the demo is written once: when any GMP record exists it says so and changes
nothing. The choices (which batches, the recorded values) are deterministic for a seed and a stored network.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from opencdmo import domain
from opencdmo.demo.users import SECOND_OPERATOR, SECOND_QC_ANALYST, demo_users, signing_passwords
from opencdmo.domain import ParameterKind as Kind
from opencdmo.errors import Conflict
from opencdmo.services import (
    batch_records,
    deviations,
    disposition,
    master_records,
    qc,
    scenarios,
    training,
)
from opencdmo.services.signatures import Credentials
from opencdmo.services.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]

DEFAULT_SEED = 2027
HISTORY = timedelta(days=75)
"""How far back the demo's history starts, before the moment it is written."""
PLANNER = "planner"
OPERATOR = "operator"
QC_ANALYST = "qc-analyst"
QA = "qa"
QP = "qualified-person"
STAFF = (PLANNER, OPERATOR, SECOND_OPERATOR, QC_ANALYST, SECOND_QC_ANALYST, QA, QP)
"""The demo staff the quality demo acts as (created if missing)."""
MASTER_RECORD_TRAINEES = (PLANNER, OPERATOR, SECOND_OPERATOR, QA, QP)
METHOD_TRAINEES = (QC_ANALYST, SECOND_QC_ANALYST, QA, QP)
EXPIRED_TRAINING = (SECOND_QC_ANALYST, "QCM-BIOBURDEN")
"""The one training that expired (20 days before the demo was written)."""
CORRECTION_REASON = "transcription error"


def utcnow() -> datetime:
    return datetime.now(UTC)


class DemoClock:
    """The injected clock of every use case the demo calls: it reads the moment the demo has stepped to."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


# Recipes: what a master record of each kind of product asks, and what a good batch records --------------------


@dataclass(frozen=True)
class Param:
    """A master record parameter and the value a good batch records (``{n}`` in text: a seeded number)."""

    name: str
    unit: str | None = None
    low: float | None = None
    high: float | None = None
    typical: str = ""
    critical: bool = False
    verify: bool = False
    kind: Kind = Kind.NUMBER

    def parameter(self) -> domain.Parameter:
        return domain.Parameter(
            self.name, self.kind, self.unit, self.low, self.high, critical=self.critical, verify=self.verify
        )


def check(name: str, *, critical: bool = False, verify: bool = False) -> Param:
    return Param(name, typical="yes", critical=critical, verify=verify, kind=Kind.CHECK)


def text(name: str, typical: str, *, verify: bool = False) -> Param:
    return Param(name, typical=typical, verify=verify, kind=Kind.TEXT)


@dataclass(frozen=True)
class Step:
    title: str
    instructions: str
    parameters: tuple[Param, ...]


@dataclass(frozen=True)
class Test:
    """A release test of the specification, the instrument it is measured on and a good batch's result."""

    name: str
    method: str
    unit: str | None
    low: float | None
    high: float | None
    instrument: str
    typical: str

    def qc_test(self) -> domain.QcTest:
        return domain.QcTest(self.name, self.method, self.unit, self.low, self.high)


@dataclass(frozen=True)
class Excursion:
    """An out-of-specification value of a step's parameter."""

    step: int
    parameter: str
    value: str


@dataclass(frozen=True)
class Recipe:
    kind: str
    steps: tuple[Step, ...]
    tests: tuple[Test, ...]
    minor: Excursion
    """A non-critical excursion: a minor deviation, investigated and closed, the batch still released."""
    major: Excursion
    """A critical excursion: a major deviation with CAPA; the batch is rejected."""
    correction: Excursion
    """A value first recorded wrong (``value``, still in specification), then corrected to the typical value."""

    def param(self, step: int, name: str) -> Param:
        return next(param for param in self.steps[step - 1].parameters if param.name == name)

    def master_steps(self) -> list[domain.MasterStep]:
        return [
            domain.MasterStep(position, step.title, step.instructions, tuple(p.parameter() for p in step.parameters))
            for position, step in enumerate(self.steps, start=1)
        ]


CELLS = "10^6 cells/mL"
HPLC, PH_METER, ENDO_READER, INCUBATOR, CELL_COUNTER, FLOW_CYTOMETER = (
    "HPLC-01",
    "PH-METER-02",
    "ENDO-READER-01",
    "INCUBATOR-04",
    "CELL-COUNTER-05",
    "FLOW-CYTO-06",
)
PURITY = Test("Purity by SEC-HPLC", "QCM-SEC-HPLC", "%", 95.0, None, HPLC, "98.7")
ENDOTOXIN = Test("Bacterial endotoxins", "QCM-LAL-KINETIC", "EU/mL", None, 0.5, ENDO_READER, "0.12")
BIOBURDEN = Test("Bioburden", "QCM-BIOBURDEN", "CFU/10 mL", None, 1.0, INCUBATOR, "0")
MICROBIAL_COUNT = Test("Total aerobic microbial count", "QCM-BIOBURDEN", "CFU/g", None, 1000.0, INCUBATOR, "40")


def assay(low: float, high: float, typical: str) -> Test:
    return Test("Assay (HPLC)", "QCM-HPLC-ASSAY", "%", low, high, HPLC, typical)


def ph_test(low: float, high: float, typical: str) -> Test:
    return Test("pH", "QCM-PH", "pH", low, high, PH_METER, typical)


BIOLOGICS = Recipe(
    kind="biologics",
    steps=(
        Step(
            "Thaw and inoculate",
            "Thaw one working cell bank vial at 37 °C, inoculate the seed flask and count the cells.",
            (
                text("Working cell bank vial", "WCB-2231-{n}"),
                Param("Viable cell density", CELLS, 0.3, 1.0, "0.56"),
                Param("Viability", "%", 90, None, "96.4"),
            ),
        ),
        Step(
            "Seed train expansion",
            "Expand through the seed train to the N-1 bioreactor; sample before the transfer.",
            (
                Param("N-1 viable cell density", CELLS, 3.0, 6.0, "4.6"),
                Param("N-1 viability", "%", 90, None, "97.1"),
                Param("Transfer volume", "L", 180, 220, "201", verify=True),
            ),
        ),
        Step(
            "Production bioreactor",
            "Run the fed-batch culture to the feeding schedule; record the control values of the day.",
            (
                Param("Culture temperature", "°C", 36.0, 37.5, "36.8", critical=True),
                Param("Culture pH", "pH", 6.8, 7.2, "7.02"),
                Param("Dissolved oxygen", "%", 30, 60, "42"),
            ),
        ),
        Step(
            "Harvest and clarification",
            "Harvest on day 14 by depth filtration; sample the filtrate for titre and turbidity.",
            (
                Param("Harvest titre", "g/L", 2.0, None, "4.3"),
                Param("Filtrate turbidity", "NTU", None, 20, "6.5"),
                check("Depth filtration complete"),
            ),
        ),
        Step(
            "Protein A capture and polishing",
            "Capture on protein A, hold the eluate at low pH for viral inactivation, polish on ion exchange.",
            (
                Param("Low-pH hold time", "min", 60, 90, "72", critical=True),
                Param("Step yield", "%", 70, None, "86"),
            ),
        ),
        Step(
            "Viral filtration and bulk fill",
            "Filter through the virus-retentive filter, test its integrity, formulate and fill the bulk.",
            (
                Param("Filter integrity (bubble point)", "psi", 50, None, "58", critical=True),
                check("Bulk containers labelled"),
            ),
        ),
    ),
    tests=(PURITY, assay(90, 110, "99.6"), ENDOTOXIN, BIOBURDEN),
    minor=Excursion(3, "Dissolved oxygen", "24"),
    major=Excursion(3, "Culture temperature", "38.6"),
    correction=Excursion(2, "Transfer volume", "210"),
)

VIRAL_VECTOR = Recipe(
    kind="viral vector",
    steps=(
        Step(
            "Thaw and expand HEK293 cells",
            "Thaw one working cell bank vial and expand the cells to the production bioreactor.",
            (
                text("Working cell bank vial", "HEK-0907-{n}"),
                Param("Viable cell density", CELLS, 1.5, 2.5, "2.0"),
                Param("Viability", "%", 90, None, "95.8"),
            ),
        ),
        Step(
            "Triple-plasmid transfection",
            "Transfect with the three plasmids complexed with PEI at the ratio of the master record.",
            (
                text("Plasmid lots", "PL-{n}"),
                Param("Plasmid DNA", "mg/L", 0.8, 1.2, "1.01", verify=True),
            ),
        ),
        Step(
            "Production and lysis",
            "Produce for 72 h, then lyse the cells with detergent and nuclease.",
            (
                Param("Culture temperature", "°C", 36.5, 37.5, "37.0", critical=True),
                Param("Lysis time", "h", 1.5, 2.5, "2.0"),
            ),
        ),
        Step(
            "Affinity capture and polishing",
            "Capture on the AAV affinity resin and enrich full capsids by anion exchange.",
            (
                Param("Capsid titre", "E13 cp/mL", 1.0, None, "2.4"),
                Param("Full capsid ratio", "%", 50, None, "68", critical=True),
            ),
        ),
        Step(
            "Sterile filtration and fill",
            "Filter through 0.2 µm, test the filter's integrity and fill the vials.",
            (
                Param("Filter integrity (bubble point)", "psi", 50, None, "57", critical=True),
                Param("Vials filled", "vials", None, None, "480"),
            ),
        ),
    ),
    tests=(
        Test("Capsid purity by SEC-HPLC", "QCM-SEC-HPLC", "%", 90.0, None, HPLC, "96.1"),
        ph_test(7.0, 7.6, "7.31"),
        ENDOTOXIN,
        BIOBURDEN,
    ),
    minor=Excursion(3, "Lysis time", "3.1"),
    major=Excursion(3, "Culture temperature", "38.4"),
    correction=Excursion(2, "Plasmid DNA", "1.10"),
)

FILL_FINISH = Recipe(
    kind="fill-finish",
    steps=(
        Step(
            "Line clearance",
            "Clear the room and the filling line of the previous product, its labels and documents.",
            (check("Room and line cleared"),),
        ),
        Step(
            "Compounding",
            "Dissolve the drug substance in water for injection under stirring; adjust the pH.",
            (
                Param("Bulk solution weight", "kg", 95, 105, "100.2", verify=True),
                Param("Bulk pH", "pH", 6.8, 7.4, "7.1", critical=True),
                Param("Mixing time", "min", 15, None, "20"),
            ),
        ),
        Step(
            "Sterile filtration",
            "Filter the bulk through the two 0.2 µm filters in series; test their integrity before and after use.",
            (
                Param("Pre-use filter integrity", "psi", 50, None, "56"),
                Param("Post-use filter integrity", "psi", 50, None, "55", critical=True),
            ),
        ),
        Step(
            "Aseptic filling",
            "Fill and stopper the vials in the isolator; check fill volumes every 30 minutes.",
            (
                Param("Fill volume", "mL", 10.0, 10.4, "10.2", critical=True),
                Param("Grade A viable particles", "CFU/m3", None, 0, "0"),
            ),
        ),
        Step(
            "Capping and inspection",
            "Cap the vials and inspect every vial; reconcile the counts.",
            (
                Param("Vials filled", "vials", None, None, "9840"),
                Param("Inspection rejects", "%", None, 2.0, "0.6"),
            ),
        ),
    ),
    tests=(assay(95, 105, "100.3"), PURITY, ph_test(6.8, 7.4, "7.08"), ENDOTOXIN),
    minor=Excursion(2, "Mixing time", "12"),
    major=Excursion(4, "Fill volume", "9.7"),
    correction=Excursion(2, "Bulk solution weight", "102.0"),
)

SMALL_MOLECULE = Recipe(
    kind="small molecule",
    steps=(
        Step(
            "Charge starting materials",
            "Charge the starting material and the solvent to the reactor under nitrogen.",
            (
                text("Starting material lot", "SM-{n}"),
                Param("Charged weight", "kg", 248, 252, "250.1", verify=True),
            ),
        ),
        Step(
            "Reaction",
            "Heat to the reaction temperature and hold until the in-process control shows conversion.",
            (
                Param("Reaction temperature", "°C", 60, 70, "65.2", critical=True),
                Param("Reaction time", "h", 6, 10, "8"),
                Param("In-process conversion", "%", 98, None, "99.4", critical=True),
            ),
        ),
        Step(
            "Work-up and isolation",
            "Quench, separate the phases and isolate the product on the filter dryer.",
            (check("Phase separation complete"), Param("Wet cake weight", "kg", None, None, "212")),
        ),
        Step(
            "Crystallisation",
            "Dissolve the wet cake hot, seed and cool at the controlled rate.",
            (Param("Cooling rate", "°C/h", 5, 15, "10"), Param("Final temperature", "°C", 0, 5, "2.5")),
        ),
        Step(
            "Drying",
            "Dry under vacuum until the loss on drying meets its limit.",
            (
                Param("Dryer temperature", "°C", 40, 50, "45"),
                Param("Loss on drying", "%", None, 0.5, "0.21", critical=True),
            ),
        ),
    ),
    tests=(
        assay(98, 102, "99.7"),
        Test("Total impurities (HPLC)", "QCM-HPLC-IMPURITIES", "%", None, 1.0, HPLC, "0.31"),
        MICROBIAL_COUNT,
    ),
    minor=Excursion(4, "Cooling rate", "18"),
    major=Excursion(2, "Reaction temperature", "74.5"),
    correction=Excursion(1, "Charged weight", "251.0"),
)

SOLID_DOSE = Recipe(
    kind="solid dose",
    steps=(
        Step(
            "Dispensing",
            "Dispense every material against the bill of materials; a second person checks each weight.",
            (
                check("Materials dispensed and checked"),
                Param("Total weight dispensed", "kg", 478, 482, "480.1", verify=True),
            ),
        ),
        Step(
            "Blending",
            "Blend in the bin blender; sample ten locations for blend uniformity.",
            (
                Param("Blend time", "min", 15, 25, "20"),
                Param("Blend uniformity RSD", "%", None, 5.0, "2.1", critical=True),
            ),
        ),
        Step(
            "Compression or encapsulation",
            "Run the press or the encapsulator; check unit weights every 15 minutes.",
            (
                Param("Mean unit weight", "mg", 485, 515, "501", critical=True),
                Param("Hardness", "N", 80, 120, "98"),
            ),
        ),
        Step(
            "Packaging",
            "Pack into blisters or bottles; reconcile the counts and the printed material.",
            (Param("Units packed", "units", None, None, "958000"), check("Printed material reconciled", verify=True)),
        ),
    ),
    tests=(
        assay(95, 105, "100.8"),
        Test("Dissolution (30 min)", "QCM-DISSOLUTION", "%", 80.0, None, HPLC, "93"),
        MICROBIAL_COUNT,
    ),
    minor=Excursion(3, "Hardness", "126"),
    major=Excursion(2, "Blend uniformity RSD", "6.8"),
    correction=Excursion(1, "Total weight dispensed", "481.0"),
)

CELL_THERAPY = Recipe(
    kind="cell therapy",
    steps=(
        Step(
            "Receipt of apheresis",
            "Receive the patient's apheresis, check the chain of identity and count the cells.",
            (
                check("Chain of identity checked", critical=True),
                Param("Total nucleated cells", "10^9 cells", 1.0, None, "4.2"),
            ),
        ),
        Step(
            "T-cell selection and activation",
            "Select CD4/CD8 T cells and activate them.",
            (Param("CD3+ purity", "%", 80, None, "92"), text("Activation reagent lot", "ACT-{n}")),
        ),
        Step(
            "Lentiviral transduction",
            "Transduce with the lentiviral vector at the multiplicity of infection of the master record.",
            (
                Param("Multiplicity of infection", "MOI", 2, 5, "3", critical=True),
                text("Vector lot", "LV-{n}"),
            ),
        ),
        Step(
            "Expansion",
            "Expand in the closed bioreactor; count the cells at harvest.",
            (
                Param("Viable cell count", "10^9 cells", 1.5, None, "3.8"),
                Param("Viability", "%", 70, None, "91", critical=True),
                Param("Culture days", "days", 7, 11, "8"),
            ),
        ),
        Step(
            "Harvest and cryopreservation",
            "Formulate the dose, fill the bags and freeze them at a controlled rate.",
            (
                Param("Dose volume", "mL", 60, 70, "68"),
                check("Freeze profile within limits", critical=True),
            ),
        ),
    ),
    tests=(
        Test("Viability", "QCM-CELL-COUNT", "%", 70.0, None, CELL_COUNTER, "88"),
        Test("CAR expression", "QCM-FLOW-CAR", "%", 20.0, None, FLOW_CYTOMETER, "41"),
        Test("Bacterial endotoxins", "QCM-LAL-KINETIC", "EU/mL", None, 5.0, ENDO_READER, "0.4"),
        BIOBURDEN,
    ),
    minor=Excursion(4, "Culture days", "12"),
    major=Excursion(4, "Viability", "61"),
    correction=Excursion(1, "Total nucleated cells", "2.4"),
)

OTHER = Recipe(
    kind="other",
    steps=(
        Step("Line clearance", "Clear the line of the previous lot.", (check("Line cleared", verify=True),)),
        Step(
            "Formulation or assembly",
            "Formulate the reagents or assemble the components under controlled conditions.",
            (
                Param("Units made", "units", None, None, "12000"),
                Param("Room temperature", "°C", 18, 25, "21.5"),
                Param("Relative humidity", "%", 30, 60, "44"),
            ),
        ),
        Step(
            "In-process check",
            "Test a sample of the lot against the in-process limits.",
            (
                Param("In-process result", "%", 95, 105, "100.4", critical=True),
                Param("Sample size", "units", None, None, "125"),
            ),
        ),
        Step(
            "Labelling and packaging",
            "Label, pack and reconcile the lot.",
            (check("Labels reconciled", verify=True), Param("Units packed", "units", None, None, "11870")),
        ),
    ),
    tests=(assay(95, 105, "100.2"), ph_test(6.5, 7.5, "7.05"), MICROBIAL_COUNT),
    minor=Excursion(2, "Relative humidity", "64"),
    major=Excursion(3, "In-process result", "91.2"),
    correction=Excursion(2, "Units made", "21000"),
)

RECIPES = (BIOLOGICS, VIRAL_VECTOR, FILL_FINISH, SMALL_MOLECULE, SOLID_DOSE, CELL_THERAPY, OTHER)

_BY_MODALITY = {
    domain.Modality.MONOCLONAL_ANTIBODY: BIOLOGICS,
    domain.Modality.RECOMBINANT_PROTEIN: BIOLOGICS,
    domain.Modality.VACCINE: BIOLOGICS,
    domain.Modality.VIRAL_VECTOR: VIRAL_VECTOR,
    domain.Modality.STERILE_INJECTABLE: FILL_FINISH,
    domain.Modality.SMALL_MOLECULE_API: SMALL_MOLECULE,
    domain.Modality.ORAL_SOLID_DOSE: SOLID_DOSE,
    domain.Modality.NUTRACEUTICAL: SOLID_DOSE,
    domain.Modality.CELL_THERAPY: CELL_THERAPY,
    domain.Modality.DIAGNOSTIC: OTHER,
    domain.Modality.MEDICAL_DEVICE: OTHER,
}
_BY_SUITE_KIND = (
    (domain.SuiteKind.CELL_THERAPY, CELL_THERAPY),
    (domain.SuiteKind.UPSTREAM, BIOLOGICS),
    (domain.SuiteKind.FILL_FINISH, FILL_FINISH),
    (domain.SuiteKind.SYNTHESIS, SMALL_MOLECULE),
    (domain.SuiteKind.FORMULATION, SOLID_DOSE),
)


def recipe_for(process: domain.ProcessTemplate, modality: domain.Modality | None) -> Recipe:
    """The recipe of a process: by the modality of its programs, else by the kinds of suite its stages run in."""
    if modality is not None:
        return _BY_MODALITY[modality]
    kinds = {stage.suite_kind for stage in process.stages}
    return next((recipe for kind, recipe in _BY_SUITE_KIND if kind in kinds), OTHER)


def procedure_for(process_name: str, taken: set[str]) -> str:
    """A master record procedure code from a process name: 'mAb fed-batch 2000 L' -> 'MBR-MAB-FED-BATCH-2000-L'."""
    words = re.findall(r"[A-Z0-9]+", process_name.upper().replace(",", ""))
    code = "MBR"
    for word in words:
        if len(code) + 1 + len(word) > 40:
            break
        code += f"-{word}"
    if len(code) < 5:
        code = "MBR-PROCESS"
    candidate, suffix = code, 1
    while candidate in taken:
        suffix += 1
        candidate = f"{code}-{suffix}"
    taken.add(candidate)
    return candidate


@dataclass(frozen=True)
class InstrumentSpec:
    code: str
    name: str
    kind: str
    calibrated_days_ago: int
    due_in_days: int
    """Days from the day the demo is written to the calibration's due date (negative: expired)."""


INSTRUMENTS = (
    InstrumentSpec(HPLC, "HPLC system, SEC and reversed-phase columns", "HPLC", 80, 285),
    InstrumentSpec(PH_METER, "Bench pH meter with temperature probe", "pH meter", 85, 95),
    InstrumentSpec(ENDO_READER, "Kinetic chromogenic LAL plate reader", "endotoxin reader", 390, -25),
    InstrumentSpec(INCUBATOR, "Microbiology incubator 30-35 °C", "incubator", 355, 10),
    InstrumentSpec(CELL_COUNTER, "Automated cell counter", "cell counter", 120, 245),
    InstrumentSpec(FLOW_CYTOMETER, "Flow cytometer, 3 lasers", "flow cytometer", 100, 265),
)


# Stages of life the demo batches are taken to -------------------------------------------------------------------


class Stage(StrEnum):
    RELEASED = "released"
    RELEASED_AFTER_DEVIATION = "released after a minor deviation"
    REJECTED = "rejected"
    IN_QC = "in QC"
    IN_PROGRESS_CORRECTED = "in progress, a value corrected"
    IN_PROGRESS_TO_VERIFY = "in progress, a value to verify"


STAGES = tuple(Stage)
"""In the order batches are chosen for them: the released ones first, for the two demo sponsors."""
STARTS = {
    Stage.RELEASED: 70,
    Stage.RELEASED_AFTER_DEVIATION: 67,
    Stage.REJECTED: 64,
    Stage.IN_QC: 26,
    Stage.IN_PROGRESS_CORRECTED: 7,
    Stage.IN_PROGRESS_TO_VERIFY: 4,
}
"""Days before the demo was written that each stage's batch started."""


@dataclass(frozen=True)
class Candidate:
    lot: str
    sponsor: str
    process: domain.ProcessTemplate
    released_on: date


@dataclass(frozen=True)
class StagedLot:
    """A batch the demo took somewhere, and what to look at."""

    lot: str
    sponsor: str
    process: str
    stage: Stage
    status: str
    look_at: str


@dataclass(frozen=True)
class QualityDemo:
    """What :func:`build_quality_demo` did (``written`` False: GMP records existed, nothing changed)."""

    written: bool
    message: str
    master_records: int = 0
    specifications: int = 0
    instruments: int = 0
    trainings: int = 0
    lots: tuple[StagedLot, ...] = ()
    skipped: tuple[Stage, ...] = ()


def gmp_records_exist(uow: UnitOfWork) -> bool:
    """Whether the database holds any GMP record (master or batch record, deviation, instrument, specification)."""
    with uow:
        return bool(
            uow.master_records.list()
            or uow.batch_records.list()
            or uow.deviations.list()
            or uow.instruments.list()
            or uow.qc.specifications()
        )


def choose_batches(
    candidates: Sequence[Candidate], demo_sponsors: Sequence[str], rng: random.Random
) -> dict[Stage, Candidate]:
    """A batch for each stage, as far as there are candidates: the earliest released orders first, a process not
    yet used where there is one, and the released batches of the demo sponsors (whose users can then open them)."""
    pool = sorted(candidates, key=lambda item: (item.released_on, item.lot))
    chosen: dict[Stage, Candidate] = {}
    used_processes: set[str] = set()
    preferred = {Stage.RELEASED: 0, Stage.RELEASED_AFTER_DEVIATION: 1}
    for stage in STAGES:
        if not pool:
            break
        options = pool
        index = preferred.get(stage)
        if index is not None and index < len(demo_sponsors):
            options = [item for item in pool if item.sponsor == demo_sponsors[index]] or pool
        fresh = [item for item in options if item.process.name not in used_processes] or options
        pick = fresh[rng.randrange(min(3, len(fresh)))]
        chosen[stage] = pick
        pool.remove(pick)
        used_processes.add(pick.process.name)
    return chosen


# The history: actions at their times, played in time order -------------------------------------------------------


@dataclass(order=True)
class _Action:
    at: datetime
    number: int
    run: Callable[[], object] = field(compare=False)


class _Timeline:
    def __init__(self) -> None:
        self.actions: list[_Action] = []

    def at(self, moment: datetime, run: Callable[[], object]) -> datetime:
        self.actions.append(_Action(moment, len(self.actions), run))
        return moment

    def play(self, clock: DemoClock) -> None:
        for action in sorted(self.actions):
            clock.moment = action.at
            action.run()
        self.actions.clear()


@dataclass
class _Lot:
    """What the history of one batch learns as it plays: entry and result ids, the deviation it opened."""

    lot: str
    recipe: Recipe
    entries: dict[tuple[int, str], int] = field(default_factory=dict)
    results: dict[str, int] = field(default_factory=dict)
    deviation: str | None = None
    excursion_at: datetime | None = None
    """When the out-of-specification value that opened the deviation is recorded."""
    awaiting: str | None = None
    """The value or test awaiting verification."""
    verifier: str = SECOND_OPERATOR
    """Who verifies the batch's values (the other operator recorded them)."""


class _Demo:
    """The demo's state while it writes: the unit of work, the clock, the signing passwords, the seeded random."""

    def __init__(self, uow: UnitOfWork, clock: DemoClock, passwords: dict[str, str], rng: random.Random) -> None:
        self.uow = uow
        self.clock = clock
        self.passwords = passwords
        self.rng = rng
        self.timeline = _Timeline()

    def credentials(self, username: str) -> Credentials:
        return Credentials(password=self.passwords[username], username=username)

    def minutes(self, low: int, high: int) -> timedelta:
        return timedelta(minutes=self.rng.randint(low, high))

    def value(self, param: Param) -> str:
        """A good batch's value: the typical one, varied a little inside the limits."""
        if param.kind is not Kind.NUMBER:
            return param.typical.replace("{n}", str(self.rng.randint(100, 999)))
        return _varied(param.typical, param.low, param.high, self.rng)

    # Execution ----------------------------------------------------------------------------------------------------

    def record(self, lot: _Lot, step: int, name: str, value: str, actor: str) -> None:
        recorded = batch_records.record(self.uow, lot.lot, step, name, value, actor=actor, now=self.clock)
        assert recorded.entry.id is not None
        lot.entries[(step, name)] = recorded.entry.id
        if recorded.deviation is not None:
            lot.deviation = recorded.deviation

    def correct(self, lot: _Lot, step: int, name: str, value: str, actor: str) -> None:
        corrected = batch_records.correct(
            self.uow, lot.lot, lot.entries[(step, name)], value, reason=CORRECTION_REASON, actor=actor, now=self.clock
        )
        assert corrected.entry.id is not None
        lot.entries[(step, name)] = corrected.entry.id

    def verify(self, lot: _Lot, step: int, name: str, signer: str) -> None:
        batch_records.verify(
            self.uow,
            lot.lot,
            lot.entries[(step, name)],
            signer=signer,
            credentials=self.credentials(signer),
            now=self.clock,
        )

    def execute(
        self,
        lot: _Lot,
        start: datetime,
        *,
        recorder: str,
        verifier: str,
        excursion: Excursion | None = None,
        correction: Excursion | None = None,
        stop: tuple[int, str] | None = None,
        leave_unverified: bool = False,
    ) -> datetime:
        """Plan the batch record from its start: every value recorded (and verified where asked) step by step, then
        completed; with ``stop``, up to that value only (verified unless ``leave_unverified``). Returns the time
        of the last action."""
        moment = self.timeline.at(start, lambda: batch_records.start(self.uow, lot.lot, actor=recorder, now=self.clock))
        step_hours = max(6, 120 // len(lot.recipe.steps))
        for position, step in enumerate(lot.recipe.steps, start=1):
            if position > 1:
                moment += timedelta(hours=step_hours) + self.minutes(0, 90)
            for param in step.parameters:
                moment += self.minutes(8, 25)
                value = self.value(param)
                if excursion is not None and (excursion.step, excursion.parameter) == (position, param.name):
                    value = excursion.value
                    lot.excursion_at = moment
                first = value
                if correction is not None and (correction.step, correction.parameter) == (position, param.name):
                    first = correction.value
                self.timeline.at(moment, _bind(self.record, lot, position, param.name, first, recorder))
                if first != value:
                    moment += self.minutes(20, 50)
                    self.timeline.at(moment, _bind(self.correct, lot, position, param.name, value, recorder))
                last = stop == (position, param.name)
                if param.critical or param.verify:
                    if last and leave_unverified:
                        lot.awaiting = f"step {position} {param.name}"
                        return moment
                    moment += self.minutes(10, 40)
                    self.timeline.at(moment, _bind(self.verify, lot, position, param.name, verifier))
                if last:
                    return moment
        moment += self.minutes(30, 120)
        return self.timeline.at(
            moment, lambda: batch_records.complete(self.uow, lot.lot, actor=recorder, now=self.clock)
        )

    # QC -----------------------------------------------------------------------------------------------------------

    def record_result(self, lot: _Lot, test: Test) -> None:
        value = _varied(test.typical, test.low, test.high, self.rng)
        recorded = qc.record_result(
            self.uow, lot.lot, test.name, value, test.instrument, actor=QC_ANALYST, now=self.clock
        )
        assert recorded.result.id is not None
        lot.results[test.name] = recorded.result.id

    def verify_result(self, lot: _Lot, test: Test) -> None:
        signer = SECOND_QC_ANALYST
        qc.verify_result(
            self.uow, lot.results[test.name], signer=signer, credentials=self.credentials(signer), now=self.clock
        )

    def test(
        self, lot: _Lot, start: datetime, *, tests: Sequence[Test] | None = None, verified: int | None = None
    ) -> datetime:
        """Plan the QC of a batch from ``start``: ``tests`` (every test of the specification) recorded by
        ``qc-analyst``, the first ``verified`` of them (all) verified by ``qc-analyst-2``. Returns the time of the
        last action."""
        chosen = lot.recipe.tests if tests is None else tests
        verified = len(chosen) if verified is None else verified
        moment = start
        for index, test in enumerate(chosen):
            moment += timedelta(hours=20) + self.minutes(0, 180)
            self.timeline.at(moment, _bind(self.record_result, lot, test))
            if index < verified:
                moment += self.minutes(60, 240)
                self.timeline.at(moment, _bind(self.verify_result, lot, test))
            elif lot.awaiting is None:
                lot.awaiting = test.name
        return moment

    # Deviations and disposition ------------------------------------------------------------------------------------

    def investigate(self, lot: _Lot, investigation: str, root_cause: str) -> None:
        assert lot.deviation is not None
        deviations.record_investigation(self.uow, lot.deviation, investigation, root_cause, actor=QA, now=self.clock)

    def close(self, lot: _Lot) -> None:
        assert lot.deviation is not None
        deviations.close(self.uow, lot.deviation, signer=QA, credentials=self.credentials(QA), now=self.clock)

    def add_capa(self, lot: _Lot, description: str, owner: str, due: date) -> None:
        assert lot.deviation is not None
        deviations.add_capa(self.uow, lot.deviation, description, owner, due, actor=QA, now=self.clock)

    def complete_capa(self, lot: _Lot, owner: str) -> None:
        assert lot.deviation is not None
        deviations.complete_capa(self.uow, lot.deviation, 1, actor=owner, now=self.clock)

    def check_effectiveness(self, lot: _Lot, finding: str) -> None:
        assert lot.deviation is not None
        deviations.check_effectiveness(self.uow, lot.deviation, 1, finding, actor=QA, now=self.clock)

    def review(self, lot: _Lot) -> None:
        disposition.review_audit_trail(self.uow, lot.lot, signer=QA, credentials=self.credentials(QA), now=self.clock)

    def release(self, lot: _Lot) -> None:
        disposition.release(self.uow, lot.lot, signer=QP, credentials=self.credentials(QP), now=self.clock)

    def reject(self, lot: _Lot) -> None:
        excursion = lot.recipe.major
        reason = (
            f"Critical process parameter {excursion.parameter} out of specification at step {excursion.step} "
            f"(deviation {lot.deviation}): an impact on product quality cannot be excluded"
        )
        disposition.reject(self.uow, lot.lot, reason, signer=QP, credentials=self.credentials(QP), now=self.clock)


def _bind(function: Callable[..., None], *arguments: object) -> Callable[[], None]:
    """``function`` called later with ``arguments`` as they are now (a lambda in a loop would see the last ones)."""
    return lambda: function(*arguments)


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def _varied(typical: str, low: float | None, high: float | None, rng: random.Random) -> str:
    """``typical`` moved by up to 3 % (at most a tenth of the range), kept inside the limits, written with as
    many decimals as ``typical``."""
    base = float(typical)
    spread = abs(base) * 0.03
    if low is not None and high is not None:
        spread = min(spread, (high - low) / 10)
    places = _decimals(typical)
    value = round(base + rng.uniform(-spread, spread), places)
    if (low is not None and value < low) or (high is not None and value > high) or (base >= 0 > value):
        value = base
    return f"{value:.{places}f}"


# The use case ------------------------------------------------------------------------------------------------------


def build_quality_demo(
    uow: UnitOfWork, *, seed: int = DEFAULT_SEED, now: Clock = utcnow, progress: Callable[[str], None] | None = None
) -> QualityDemo:
    """Write the quality demo on the stored network (see the module's docstring), or nothing when GMP records
    exist. ``now`` is the moment the history ends: it starts :data:`HISTORY` earlier."""
    announce = progress or (lambda _step: None)
    if gmp_records_exist(uow):
        return QualityDemo(
            written=False,
            message="the database already holds GMP records: the quality demo is kept as it is (GMP records are "
            "never deleted; to start afresh, remove the database file and run 'make run' again)",
        )
    scenario = scenarios.export_scenario(uow)
    if not scenario.sites:
        raise Conflict("the database holds no network: load one first with 'opencdmo demo'")
    end = now().replace(second=0, microsecond=0)
    clock = DemoClock(end - HISTORY)
    rng = random.Random(seed)
    demo_sponsors = [sponsor.name for sponsor in scenario.sponsors][:2]

    announce("demo staff")
    passwords = signing_passwords(uow, STAFF, now=clock)
    demo = _Demo(uow, clock, passwords, rng)

    modality_of: dict[str, domain.Modality] = {}
    for program in sorted(scenario.programs, key=lambda item: item.name):
        modality_of.setdefault(program.process.name, program.modality)
    processes = sorted(scenario.processes, key=lambda item: item.name)
    recipes = {process.name: recipe_for(process, modality_of.get(process.name)) for process in processes}
    taken: set[str] = set()
    procedures = {process.name: procedure_for(process.name, taken) for process in processes}
    methods = sorted({test.method for recipe in recipes.values() for test in recipe.tests})

    announce("training records")
    trainings = _train(demo, end, sorted(procedures.values()), methods)
    announce("instruments")
    for spec in INSTRUMENTS:
        clock.moment += demo.minutes(5, 20)
        qc.register(
            uow,
            spec.code,
            spec.name,
            spec.kind,
            end.date() - timedelta(days=spec.calibrated_days_ago),
            end.date() + timedelta(days=spec.due_in_days),
            actor=QC_ANALYST,
            now=clock,
        )
    announce("master batch records and release specifications")
    clock.moment = end - HISTORY + timedelta(days=1, hours=2)
    for process in processes:
        recipe = recipes[process.name]
        clock.moment += demo.minutes(10, 40)
        master_records.draft(
            uow,
            process.name,
            procedure=procedures[process.name],
            title=process.name[:120],
            steps=recipe.master_steps(),
            actor=PLANNER,
            now=clock,
        )
    clock.moment = end - HISTORY + timedelta(days=2, hours=1)
    for process in processes:
        clock.moment += demo.minutes(5, 25)
        master_records.approve(uow, process.name, 1, signer=QA, credentials=demo.credentials(QA), now=clock)
        clock.moment += demo.minutes(2, 10)
        tests = [test.qc_test() for test in recipes[process.name].tests]
        qc.set_specification(uow, process.name, tests, actor=QA, now=clock)

    announce("batches")
    candidates = [
        Candidate(batch.lot_number, batch.sponsor.name, batch.order.program.process, batch.order.release_date)
        for batch in scenario.batches
        if batch.status in (domain.BatchStatus.PLANNED, domain.BatchStatus.SCHEDULED)
    ]
    chosen = choose_batches(candidates, demo_sponsors, rng)
    lots = {stage: _Lot(item.lot, recipes[item.process.name]) for stage, item in chosen.items()}
    for stage, lot in lots.items():
        _plan(demo, stage, lot, end - timedelta(days=STARTS[stage]) + demo.minutes(0, 180))
    revised = chosen.get(Stage.IN_PROGRESS_CORRECTED) or (next(iter(chosen.values())) if chosen else None)
    revised_process = revised.process.name if revised is not None else processes[0].name
    demo.timeline.at(
        end - timedelta(days=2, hours=3),
        lambda: master_records.draft(
            uow,
            revised_process,
            procedure=procedures[revised_process],
            title=revised_process[:120],
            steps=_revised(recipes[revised_process]),
            actor=PLANNER,
            now=clock,
        ),
    )
    demo.timeline.play(clock)

    readers = {user.sponsor: user.username for user in demo_users(demo_sponsors) if user.sponsor is not None}
    staged = tuple(
        StagedLot(
            lot=lot.lot,
            sponsor=chosen[stage].sponsor,
            process=chosen[stage].process.name,
            stage=stage,
            status=_status(uow, lot.lot),
            look_at=_look_at(stage, lot, readers.get(chosen[stage].sponsor)),
        )
        for stage, lot in lots.items()
    )
    return QualityDemo(
        written=True,
        message=f"wrote the quality demo: {len(staged)} batches at every point of their life",
        master_records=len(processes) + 1,
        specifications=len(processes),
        instruments=len(INSTRUMENTS),
        trainings=trainings,
        lots=staged,
        skipped=tuple(stage for stage in STAGES if stage not in chosen),
    )


def _train(demo: _Demo, end: datetime, procedures: list[str], methods: list[str]) -> int:
    """Train the demo staff on the master record procedures and QC methods they work to; one training expired."""
    count = 0
    plan = [(user, procedure) for user in MASTER_RECORD_TRAINEES for procedure in procedures]
    plan += [(user, method) for user in METHOD_TRAINEES for method in methods]
    for offset, (user, procedure) in enumerate(plan):
        trained_on = end.date() - timedelta(days=120 + offset % 30)
        valid_until = trained_on + timedelta(days=365)
        if (user, procedure) == EXPIRED_TRAINING:
            valid_until = end.date() - timedelta(days=20)
            trained_on = valid_until - timedelta(days=365)
        demo.clock.moment += timedelta(seconds=30)
        training.grant(
            demo.uow, user, procedure, trained_on=trained_on, valid_until=valid_until, actor=QA, now=demo.clock
        )
        count += 1
    return count


def _revised(recipe: Recipe) -> list[domain.MasterStep]:
    """Version 2 of a master record: the first step also records the room temperature."""
    steps = recipe.master_steps()
    first = steps[0]
    extra = domain.Parameter("Room temperature", unit="°C", low=18, high=25)
    parameters = first.parameters if any(p.name == extra.name for p in first.parameters) else (*first.parameters, extra)
    steps[0] = domain.MasterStep(
        1, first.title, f"{first.instructions} Revision 2: record the room temperature first.", parameters
    )
    return steps


def _plan(demo: _Demo, stage: Stage, lot: _Lot, start: datetime) -> None:
    """Plan the history of one batch up to ``stage``."""
    recipe = lot.recipe
    operators = (OPERATOR, SECOND_OPERATOR) if demo.rng.random() < 0.5 else (SECOND_OPERATOR, OPERATOR)
    recorder, verifier = operators
    lot.verifier = verifier
    timeline = demo.timeline
    if stage is Stage.IN_PROGRESS_CORRECTED:
        step = min(recipe.correction.step + 1, len(recipe.steps))
        stop = (step, recipe.steps[step - 1].parameters[0].name)
        demo.execute(lot, start, recorder=recorder, verifier=verifier, correction=recipe.correction, stop=stop)
        return
    if stage is Stage.IN_PROGRESS_TO_VERIFY:
        demo.execute(lot, start, recorder=recorder, verifier=verifier, stop=_to_verify(recipe), leave_unverified=True)
        return
    excursion = {Stage.RELEASED_AFTER_DEVIATION: recipe.minor, Stage.REJECTED: recipe.major}.get(stage)
    done = demo.execute(lot, start, recorder=recorder, verifier=verifier, excursion=excursion)
    if stage is Stage.IN_QC:
        # ENDO-READER-01's calibration has expired by now: its test stays to do (and is refused until recalibrated).
        usable = [test for test in recipe.tests if test.instrument != ENDO_READER]
        demo.test(lot, done + timedelta(days=2), tests=usable[:3], verified=2)
        return
    # A batch to be rejected is not tested: its critical excursion decides its fate.
    last = done if stage is Stage.REJECTED else demo.test(lot, done + timedelta(days=1))
    if excursion is not None:
        # The deviation opened when the value was recorded, during execution: it is handled in parallel.
        param = recipe.param(excursion.step, excursion.parameter)
        shown = f"{excursion.value} {param.unit}" if param.unit else excursion.value
        read = f"{param.name} read {shown}"
        spec = param.parameter().spec
        assert lot.excursion_at is not None
        opened = lot.excursion_at
        if stage is Stage.RELEASED_AFTER_DEVIATION:
            timeline.at(
                opened + timedelta(days=2, hours=3),
                _bind(
                    demo.investigate,
                    lot,
                    f"{read} at step {excursion.step} against {spec}. Review of the equipment log and the "
                    "operator's account: a set value was entered outside the master record's range at the start "
                    "of the step. The parameter is not critical and every critical parameter of the batch is "
                    "within its limits: no impact on product quality.",
                    "Set value entered outside the master record's range at the start of the step.",
                ),
            )
            last = max(last, timeline.at(opened + timedelta(days=5, hours=1), _bind(demo.close, lot)))
        else:
            timeline.at(
                opened + timedelta(days=3, hours=2),
                _bind(
                    demo.investigate,
                    lot,
                    f"Critical process parameter: {read} at step {excursion.step} against {spec}. Review of the "
                    "equipment log, the process trends and the operators' accounts: the equipment's control failed "
                    "and its alarm was acknowledged without escalation. Product impact assessment: an impact on "
                    "quality cannot be excluded.",
                    "Equipment control failure; the critical alarm was acknowledged without escalation.",
                ),
            )
            due = (opened + timedelta(days=30)).date()
            timeline.at(
                opened + timedelta(days=4),
                _bind(
                    demo.add_capa,
                    lot,
                    "Repair and requalify the equipment; make the escalation of critical alarms to the shift "
                    "supervisor mandatory and retrain the operators.",
                    recorder,
                    due,
                ),
            )
            timeline.at(opened + timedelta(days=14, hours=4), _bind(demo.complete_capa, lot, recorder))
            timeline.at(
                opened + timedelta(days=24),
                _bind(
                    demo.check_effectiveness,
                    lot,
                    "The equipment was requalified; no critical alarm went unescalated in the batches run since.",
                ),
            )
            last = max(last, timeline.at(opened + timedelta(days=25), _bind(demo.close, lot)))
    reviewed = timeline.at(last + timedelta(days=1, hours=2), _bind(demo.review, lot))
    finish = demo.reject if stage is Stage.REJECTED else demo.release
    timeline.at(reviewed + timedelta(hours=3), _bind(finish, lot))


def _to_verify(recipe: Recipe) -> tuple[int, str]:
    """The first value asking for verification from step 2 on (else in step 1): where the record stops."""
    places = [
        (position, param.name)
        for position, step in enumerate(recipe.steps, start=1)
        for param in step.parameters
        if param.critical or param.verify
    ]
    return next((place for place in places if place[0] >= 2), places[0])


def _status(uow: UnitOfWork, lot: str) -> str:
    with uow:
        batch = uow.batches.get(lot)
        return "" if batch is None else batch.status.value


def _look_at(stage: Stage, lot: _Lot, reader: str | None) -> str:
    """Where to look and whom to sign in as; ``reader`` is the demo user of the batch's sponsor, if it has one."""
    recipe, code = lot.recipe, lot.lot
    shown = f"; the sponsor user {reader} can open its record too" if reader else ""
    if stage is Stage.IN_PROGRESS_CORRECTED:
        fix = recipe.correction
        return (
            f"/batch-records/{code}: step {fix.step} {fix.parameter} corrected ({CORRECTION_REASON}), the original "
            "struck through; an operator records the next value"
        )
    if stage is Stage.IN_PROGRESS_TO_VERIFY:
        return (
            f"/batch-records/{code}: {lot.awaiting} awaits a second person's verification: sign in as "
            f"{lot.verifier} (the other operator recorded it)"
        )
    if stage is Stage.IN_QC:
        tests = {test.name: test for test in recipe.tests}
        waiting = tests.get(lot.awaiting or "")
        hint = ""
        if waiting is not None and (SECOND_QC_ANALYST, waiting.method) == EXPIRED_TRAINING:
            hint = f" ({SECOND_QC_ANALYST}'s training on {waiting.method} expired: retrain on /training first)"
        refused = next((test for test in recipe.tests if test.instrument == ENDO_READER), None)
        refusal = f"; recording {refused.name} on {ENDO_READER} is refused (calibration expired)" if refused else ""
        return (
            f"/qc/{code}: {lot.awaiting} awaits verification by {SECOND_QC_ANALYST}{hint}{refusal}; then qa reviews "
            f"the audit trail and the qualified person decides on /batches/{code}/release"
        )
    if stage is Stage.RELEASED_AFTER_DEVIATION:
        return (
            f"/deviations/{lot.deviation} (minor, closed), /batches/{code}/release, /batches/{code}/record.pdf "
            f"(as qa or qualified-person){shown}"
        )
    if stage is Stage.REJECTED:
        return (
            f"/deviations/{lot.deviation} (major, CAPA done and effective, closed), /batches/{code}/release: "
            "rejected by the qualified person"
        )
    return f"/batches/{code}/release, /batches/{code}/record.pdf (as qa or qualified-person){shown}"
