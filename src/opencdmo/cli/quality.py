"""Commands on quality records: opencdmo instruments add | list | calibrate, opencdmo qc spec, opencdmo deviations list.

A release specification file is YAML: a list of tests (or a mapping with ``tests:``), each with a name, the QC
method's procedure code, a unit and at least one limit::

    - {name: Assay, method: QCM-HPLC-ASSAY, unit: "%", low: 95, high: 105}
    - {name: Endotoxin, method: QCM-LAL, unit: EU/mL, high: 0.5}
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from opencdmo import domain
from opencdmo.cli import ui
from opencdmo.cli.app import app, handle_errors, ready_app
from opencdmo.errors import DomainError, InputError
from opencdmo.services import audit, deviations, qc

instruments = typer.Typer(
    name="instruments", help="The register of QC instruments and their calibration.", no_args_is_help=True
)
app.add_typer(instruments, name="instruments")
quality_control = typer.Typer(name="qc", help="Release specifications of QC.", no_args_is_help=True)
app.add_typer(quality_control, name="qc")
deviation_commands = typer.Typer(name="deviations", help="Deviations and their CAPA.", no_args_is_help=True)
app.add_typer(deviation_commands, name="deviations")

MAX_SPEC_FILE = 1_000_000
TEST_KEYS = frozenset({"name", "method", "unit", "low", "high"})


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: {value!r} is not a date such as 2027-03-01") from None


# Instruments -----------------------------------------------------------------------------------------------------


@instruments.command("add")
@handle_errors
def add(
    code: Annotated[str, typer.Argument(help="The instrument's code, e.g. 'HPLC-01'.")],
    name: Annotated[str, typer.Option("--name", help="What it is, e.g. 'Agilent 1260 Infinity II'.")],
    kind: Annotated[str, typer.Option("--kind", help="Its kind, e.g. 'HPLC'.")],
    calibrated_on: Annotated[str, typer.Option("--calibrated-on", help="Day of its last calibration (YYYY-MM-DD).")],
    due: Annotated[str, typer.Option("--due", help="Last day its calibration is valid (YYYY-MM-DD).")],
) -> None:
    """Register an instrument with its current calibration."""
    start, end = _day(calibrated_on, "--calibrated-on"), _day(due, "--due")
    with ready_app() as application:
        item = qc.register(application.unit_of_work(), code, name, kind, start, end, actor=audit.SYSTEM)
    ui.out.print(f"registered: {item.code} ({item.name}), calibrated {item.calibrated_on}, due {item.calibration_due}")


@instruments.command("calibrate")
@handle_errors
def calibrate(
    code: Annotated[str, typer.Argument(help="The instrument's code.")],
    calibrated_on: Annotated[str, typer.Option("--calibrated-on", help="Day of the calibration (YYYY-MM-DD).")],
    due: Annotated[str, typer.Option("--due", help="Last day the new calibration is valid (YYYY-MM-DD).")],
) -> None:
    """Record a new calibration of a registered instrument."""
    start, end = _day(calibrated_on, "--calibrated-on"), _day(due, "--due")
    with ready_app() as application:
        item = qc.recalibrate(application.unit_of_work(), code, start, end, actor=audit.SYSTEM)
    ui.out.print(f"calibrated: {item.code}, valid {item.calibrated_on} to {item.calibration_due}")


@instruments.command("list")
@handle_errors
def list_instruments() -> None:
    """Every registered instrument with its calibration status today (UTC)."""
    today = qc.utcnow().date()
    with ready_app() as application:
        items = qc.instruments(application.unit_of_work())
    table = Table("code", "name", "kind", "calibrated on", "due", "status", title="Instruments")
    for item in items:
        table.add_row(
            item.code,
            item.name,
            item.kind,
            item.calibrated_on.isoformat(),
            item.calibration_due.isoformat(),
            qc.calibration_status(item, today).value,
        )
    ui.out.print(table)
    ui.out.print(f"{len(items)} instrument(s)")


# Release specifications ------------------------------------------------------------------------------------------


def read_tests(path: Path) -> list[domain.QcTest]:
    """The tests of a specification file; InputError naming the file and the place of the first problem."""
    try:
        if path.stat().st_size > MAX_SPEC_FILE:
            raise InputError(f"{path}: larger than {MAX_SPEC_FILE} bytes")
        document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: is not UTF-8 text") from None
    except yaml.YAMLError as error:
        raise InputError(f"{path}: is not valid YAML ({error})") from None
    if isinstance(document, dict) and set(document) == {"tests"}:
        document = document["tests"]
    if not isinstance(document, list) or not document:
        raise InputError(f"{path}: expected a list of tests (or 'tests:' with a list)")
    tests = []
    for index, item in enumerate(document):
        where = f"{path}: tests[{index}]"
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected a mapping with name, method, unit, low and high")
        unknown = sorted(str(key) for key in item if key not in TEST_KEYS)
        if unknown:
            raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}")
        for key in ("name", "method"):
            if key not in item:
                raise InputError(f"{where}.{key}: required")
        try:
            tests.append(domain.QcTest.from_dict(item))
        except DomainError as error:
            raise InputError(f"{where}.{error.field or 'limits'}: {error.message}") from None
    return tests


@quality_control.command("spec")
@handle_errors
def spec(
    process: Annotated[str, typer.Argument(help="The process template, e.g. 'Vial fill 10 mL'.")],
    file: Annotated[
        Path | None, typer.Argument(help="A YAML file of the release tests; without it, show the specification.")
    ] = None,
) -> None:
    """Set the release specification of a process from a YAML file (or show it)."""
    with ready_app() as application:
        if file is None:
            specification = qc.specification(application.unit_of_work(), process)
        else:
            specification = qc.set_specification(
                application.unit_of_work(), process, read_tests(file), actor=audit.SYSTEM
            )
    table = Table("test", "method", "specification", title=f"Release specification of {specification.process.name}")
    for test in specification.tests:
        table.add_row(test.name, test.method, test.spec)
    ui.out.print(table)
    if file is not None:
        ui.out.print(f"set: {len(specification.tests)} test(s)")


# Deviations ------------------------------------------------------------------------------------------------------


@deviation_commands.command("list")
@handle_errors
def list_deviations(
    only_open: Annotated[bool, typer.Option("--open", help="Only the deviations still open.")] = False,
    lot: Annotated[str | None, typer.Option("--lot", help="Only those of this batch.")] = None,
) -> None:
    """Deviations, newest first."""
    status = domain.DeviationStatus.OPEN if only_open else None
    with ready_app() as application:
        found = deviations.list(application.unit_of_work(), status=status, lot=lot)
    table = Table("number", "batch", "severity", "status", "opened (UTC)", "by", "title", "CAPA", title="Deviations")
    for deviation in found:
        done = sum(1 for action in deviation.capa if action.status is domain.CapaStatus.DONE)
        table.add_row(
            deviation.number,
            deviation.batch.lot_number if deviation.batch is not None else "(site)",
            deviation.severity.value,
            deviation.status.value,
            deviation.opened_at.strftime("%Y-%m-%d %H:%M"),
            deviation.opened_by,
            deviation.title,
            f"{done}/{len(deviation.capa)} done" if deviation.capa else "",
        )
    ui.out.print(table)
    ui.out.print(f"{len(found)} deviation(s)")
