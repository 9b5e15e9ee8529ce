"""The domain model of a CDMO network and its sponsors' work. Standard library only."""

from opencdmo.domain.accounts import LOCKOUT, MAX_FAILED_LOGINS, PERMISSIONS, Action, ApiToken, Role, User, can
from opencdmo.domain.batch_records import BatchRecord, BatchRecordStatus, StepEntry
from opencdmo.domain.batches import FINAL_STATUSES, TRANSITIONS, Batch, BatchStatus
from opencdmo.domain.deviations import CapaAction, CapaStatus, Deviation, DeviationStatus, Severity
from opencdmo.domain.families import ProductFamily
from opencdmo.domain.master_records import (
    MasterBatchRecord,
    MasterRecordStatus,
    MasterStep,
    Parameter,
    ParameterKind,
)
from opencdmo.domain.network import (
    ChangeoverRule,
    Construction,
    DowntimeWindow,
    ScaleUnit,
    Site,
    Suite,
    SuiteKind,
)
from opencdmo.domain.orders import Order
from opencdmo.domain.processes import ProcessTemplate, Stage, SuiteDuration
from opencdmo.domain.qc import Instrument, QcResult, QcSpecification, QcTest
from opencdmo.domain.scenario import Scenario, qc_labs_able_to_release, suites_able_to_run
from opencdmo.domain.schedules import (
    Operation,
    OperationKind,
    PlanKpis,
    ScheduleVersion,
    SuiteLoad,
    VersionKind,
    due_at,
    measure,
)
from opencdmo.domain.signatures import Meaning, Signature, content_hash
from opencdmo.domain.sponsors import Modality, Phase, Program, Sponsor, SponsorSize
from opencdmo.domain.training import TrainingRecord, TrainingStatus

__all__ = [
    "FINAL_STATUSES",
    "LOCKOUT",
    "MAX_FAILED_LOGINS",
    "PERMISSIONS",
    "TRANSITIONS",
    "Action",
    "ApiToken",
    "Batch",
    "BatchRecord",
    "BatchRecordStatus",
    "BatchStatus",
    "CapaAction",
    "CapaStatus",
    "ChangeoverRule",
    "Construction",
    "Deviation",
    "DeviationStatus",
    "DowntimeWindow",
    "Instrument",
    "MasterBatchRecord",
    "MasterRecordStatus",
    "MasterStep",
    "Meaning",
    "Modality",
    "Operation",
    "OperationKind",
    "Order",
    "Parameter",
    "ParameterKind",
    "Phase",
    "PlanKpis",
    "ProcessTemplate",
    "ProductFamily",
    "Program",
    "QcResult",
    "QcSpecification",
    "QcTest",
    "Role",
    "ScaleUnit",
    "Scenario",
    "ScheduleVersion",
    "Severity",
    "Signature",
    "Site",
    "Sponsor",
    "SponsorSize",
    "Stage",
    "StepEntry",
    "Suite",
    "SuiteDuration",
    "SuiteKind",
    "SuiteLoad",
    "TrainingRecord",
    "TrainingStatus",
    "User",
    "VersionKind",
    "can",
    "content_hash",
    "due_at",
    "measure",
    "qc_labs_able_to_release",
    "suites_able_to_run",
]
