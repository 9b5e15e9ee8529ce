"""The domain model of a CDMO network and its sponsors' work. Standard library only."""

from opencdmo.domain.accounts import LOCKOUT, MAX_FAILED_LOGINS, PERMISSIONS, Action, ApiToken, Role, User, can
from opencdmo.domain.batches import FINAL_STATUSES, TRANSITIONS, Batch, BatchStatus
from opencdmo.domain.families import ProductFamily
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
from opencdmo.domain.sponsors import Modality, Phase, Program, Sponsor, SponsorSize

__all__ = [
    "FINAL_STATUSES",
    "LOCKOUT",
    "MAX_FAILED_LOGINS",
    "PERMISSIONS",
    "TRANSITIONS",
    "Action",
    "ApiToken",
    "Batch",
    "BatchStatus",
    "ChangeoverRule",
    "Construction",
    "DowntimeWindow",
    "Modality",
    "Operation",
    "OperationKind",
    "Order",
    "Phase",
    "PlanKpis",
    "ProcessTemplate",
    "ProductFamily",
    "Program",
    "Role",
    "ScaleUnit",
    "Scenario",
    "ScheduleVersion",
    "Site",
    "Sponsor",
    "SponsorSize",
    "Stage",
    "Suite",
    "SuiteDuration",
    "SuiteKind",
    "SuiteLoad",
    "User",
    "VersionKind",
    "can",
    "due_at",
    "measure",
    "qc_labs_able_to_release",
    "suites_able_to_run",
]
