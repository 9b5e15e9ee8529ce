"""The quality demo (``opencdmo demo-quality``) on the sample network, on SQLite and PostgreSQL: batches at every
stage through the real use cases, signatures intact, an audit chain that verifies, written once only, the same
for the same seed, and the pages of the GMP slice render for its lots."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from opencdmo import domain
from opencdmo.adapters import db, scenario_file
from opencdmo.bootstrap import App, bootstrap
from opencdmo.config import Settings
from opencdmo.demo import build_demo
from opencdmo.demo.quality import (
    ENDO_READER,
    EXPIRED_TRAINING,
    INCUBATOR,
    RECIPES,
    Candidate,
    QualityDemo,
    Stage,
    build_quality_demo,
    choose_batches,
    procedure_for,
    recipe_for,
)
from opencdmo.demo.users import ensure_demo_users
from opencdmo.domain.signatures import Meaning
from opencdmo.errors import Conflict, Forbidden, Unauthorized
from opencdmo.services import (
    accounts,
    audit,
    batch_record_export,
    batch_records,
    deviations,
    disposition,
    master_records,
    qc,
    scenarios,
    training,
)
from tests.e2e.web_client import PASSWORD, build_web

END = datetime(2027, 5, 3, 9, 30, tzinfo=UTC)
MORE_BATCHES = """
  - number: PO-2027-004
    sponsor: Northwind Biologics
    program: NWB-220
    batch_count: 4
    release_date: 2027-02-15
    due_date: 2027-08-31
    late_penalty_per_day: 15000
    price_per_batch: 650000
    batches:
      - {lot_number: NWB220-27-003}
      - {lot_number: NWB220-27-004}
      - {lot_number: NWB220-27-005}
      - {lot_number: NWB220-27-006}
"""
"""The sample network has three planned or scheduled batches; the demo takes six."""


def end() -> datetime:
    return END


@pytest.fixture
def network_text(sample_text: str) -> str:
    return sample_text.rstrip("\n") + "\n" + MORE_BATCHES.lstrip("\n")


@pytest.fixture
def loaded(app: App, network_text: str) -> App:
    scenarios.import_scenario(app.unit_of_work(), scenario_file.parse_scenario(network_text))
    return app


def _lots(result: QualityDemo) -> dict[Stage, str]:
    return {lot.stage: lot.lot for lot in result.lots}


def _status(app: App, lot: str) -> domain.BatchStatus:
    with app.unit_of_work() as uow:
        batch = uow.batches.get(lot)
        assert batch is not None
        return batch.status


def test_the_demo_takes_batches_to_every_stage_once(loaded: App) -> None:
    """One demo per backend (it takes a while to write), checked part by part, then written again: nothing changes."""
    result = build_quality_demo(loaded.unit_of_work(), seed=7, now=end)
    assert result.written, result.message
    _check_stages(loaded, result)
    _check_released(loaded, result)
    _check_minor_deviation(loaded, result)
    _check_rejected(loaded, result)
    _check_in_qc(loaded, result)
    _check_in_progress(loaded, result)
    _check_masters_instruments_training(loaded, result)
    _check_history(loaded)

    before = audit.verify(loaded.unit_of_work())
    assert before.intact
    again = build_quality_demo(loaded.unit_of_work(), seed=7, now=end)
    assert not again.written
    assert "already holds GMP records" in again.message
    assert again.lots == ()
    after = audit.verify(loaded.unit_of_work())
    assert (after.checked, after.head_hash) == (before.checked, before.head_hash)


def _check_stages(app: App, result: QualityDemo) -> None:
    lots = _lots(result)
    assert set(lots) == set(Stage)
    assert result.skipped == ()
    expected = {
        Stage.RELEASED: domain.BatchStatus.RELEASED,
        Stage.RELEASED_AFTER_DEVIATION: domain.BatchStatus.RELEASED,
        Stage.REJECTED: domain.BatchStatus.REJECTED,
        Stage.IN_QC: domain.BatchStatus.IN_QC,
        Stage.IN_PROGRESS_CORRECTED: domain.BatchStatus.IN_PROGRESS,
        Stage.IN_PROGRESS_TO_VERIFY: domain.BatchStatus.IN_PROGRESS,
    }
    assert {stage: _status(app, lot) for stage, lot in lots.items()} == expected
    assert {lot.stage: lot.status for lot in result.lots} == {stage: status.value for stage, status in expected.items()}
    # The two released batches belong to the first two sponsors, whose demo users can then read them.
    sponsors = {lot.stage: lot.sponsor for lot in result.lots}
    assert sponsors[Stage.RELEASED] == "Northwind Biologics"
    assert sponsors[Stage.RELEASED_AFTER_DEVIATION] == "Helix Vaccines"


def _check_released(app: App, result: QualityDemo) -> None:
    lots = _lots(result)
    for stage in (Stage.RELEASED, Stage.RELEASED_AFTER_DEVIATION):
        lot = lots[stage]
        state = disposition.get(app.unit_of_work(), lot)
        assert [view.meaning for view in state.signatures] == [Meaning.REVIEWED, Meaning.RELEASED]
        assert [view.username for view in state.signatures] == ["qa", "qualified-person"]
        assert all(view.intact for view in state.signatures)
        assert state.review.current
        record = batch_records.get(app.unit_of_work(), lot)
        assert record.status == domain.BatchRecordStatus.COMPLETE.value
        assert record.awaiting_verification == []
        results = qc.results(app.unit_of_work(), lot)
        assert results.checks == []
        assert {line.state for line in results.tests} == {"passed"}
        exported = batch_record_export.build(app.unit_of_work(), lot, viewer="qa")
        signatures = list(exported.all_signatures())
        assert len(signatures) >= 5
        assert all(signature.intact for signature in signatures)
        assert exported.audit_chain_intact
    assert deviations.list(app.unit_of_work(), lot=lots[Stage.RELEASED]) == []


def _check_minor_deviation(app: App, result: QualityDemo) -> None:
    [deviation] = deviations.list(app.unit_of_work(), lot=_lots(result)[Stage.RELEASED_AFTER_DEVIATION])
    detail = deviations.get(app.unit_of_work(), deviation.number)
    assert deviation.severity is domain.Severity.MINOR
    assert deviation.status is domain.DeviationStatus.CLOSED
    assert deviation.investigation
    assert deviation.root_cause
    assert deviation.source is not None
    assert deviation.source.startswith("step ")
    assert [(view.username, view.meaning, view.intact) for view in detail.signatures] == [
        ("qa", Meaning.APPROVED, True)
    ]
    assert deviation.number in next(lot.look_at for lot in result.lots if lot.stage is Stage.RELEASED_AFTER_DEVIATION)


def _check_rejected(app: App, result: QualityDemo) -> None:
    lot = _lots(result)[Stage.REJECTED]
    [deviation] = deviations.list(app.unit_of_work(), lot=lot)
    assert deviation.severity is domain.Severity.MAJOR
    assert deviation.status is domain.DeviationStatus.CLOSED
    [action] = deviation.capa
    assert action.status is domain.CapaStatus.DONE
    assert action.effectiveness
    record = batch_records.get(app.unit_of_work(), lot)
    out_of_spec = [entry for entry in record.entries if entry.in_spec is False]
    assert [entry.deviation for entry in out_of_spec] == [deviation.number]
    state = disposition.get(app.unit_of_work(), lot)
    rejection = [view for view in state.signatures if view.meaning is Meaning.REJECTED]
    assert len(rejection) == 1
    assert rejection[0].intact
    assert rejection[0].username == "qualified-person"
    assert rejection[0].comment is not None
    assert deviation.number in rejection[0].comment


def _check_in_qc(app: App, result: QualityDemo) -> None:
    lot = _lots(result)[Stage.IN_QC]
    results = qc.results(app.unit_of_work(), lot)
    states = [line.state for line in results.tests]
    assert states.count("passed") == 2
    assert states.count("to verify") == 1
    assert "to record" in states
    assert all(view.intact for line in results.results for view in line.signatures)
    assert any("is not verified" in reason for reason in results.checks)
    assert batch_records.get(app.unit_of_work(), lot).status == domain.BatchRecordStatus.COMPLETE.value
    assert "the audit trail is not reviewed" in disposition.blockers(app.unit_of_work(), lot)


def _check_in_progress(app: App, result: QualityDemo) -> None:
    lots = _lots(result)
    corrected = batch_records.get(app.unit_of_work(), lots[Stage.IN_PROGRESS_CORRECTED])
    assert corrected.in_progress
    [correction] = [entry for entry in corrected.entries if entry.corrects is not None]
    assert correction.reason == "transcription error"
    original = next(entry for entry in corrected.entries if entry.id == correction.corrects)
    assert original.superseded
    assert original.value != correction.value
    assert corrected.next_step is not None

    waiting = batch_records.get(app.unit_of_work(), lots[Stage.IN_PROGRESS_TO_VERIFY])
    assert waiting.in_progress
    [entry] = waiting.awaiting_verification
    assert entry.recorded_by in ("operator", "operator-2")
    assert waiting.next_step == entry.step
    other = "operator-2" if entry.recorded_by == "operator" else "operator"
    hint = next(lot.look_at for lot in result.lots if lot.stage is Stage.IN_PROGRESS_TO_VERIFY)
    assert f"sign in as {other} " in hint


def _check_masters_instruments_training(app: App, result: QualityDemo) -> None:
    views = master_records.list_records(app.unit_of_work())
    approved = [view for view in views if view.record.status is domain.MasterRecordStatus.APPROVED]
    assert {view.record.process.name for view in approved} == {"mAb fed-batch 2000 L", "Vial fill 10 mL"}
    for view in approved:
        assert view.record.created_by == "planner"
        assert view.approval is not None
        assert (view.approval.username, view.approval.intact) == ("qa", True)
        assert 4 <= len(view.record.steps) <= 6
    drafts = [view.record for view in views if view.record.is_draft]
    assert [record.version for record in drafts] == [2]
    assert result.master_records == len(views) == 3
    for specification in qc.specifications(app.unit_of_work()):
        assert 3 <= len(specification.tests) <= 5

    today = END.date()
    status = {item.code: qc.calibration_status(item, today) for item in qc.instruments(app.unit_of_work())}
    assert status[ENDO_READER] is qc.CalibrationStatus.EXPIRED
    assert status[INCUBATOR] is qc.CalibrationStatus.DUE_SOON
    assert status["HPLC-01"] is qc.CalibrationStatus.VALID
    assert status["PH-METER-02"] is qc.CalibrationStatus.VALID

    user, method = EXPIRED_TRAINING
    with app.unit_of_work() as uow, pytest.raises(Forbidden, match="expired"):
        training.require_current(uow, user, method, on=today)
    with app.unit_of_work() as uow:
        training.require_current(uow, "qc-analyst", method, on=today)
        training.require_current(uow, "operator-2", drafts[0].procedure, on=today)


def _check_history(app: App) -> None:
    """The history runs forward in time, ends before the moment it was written, and names who acted."""
    events = audit.search(app.unit_of_work(), audit.AuditQuery(limit=10_000))
    times = [event.occurred_at for event in events]
    assert times == sorted(times)
    assert END - timedelta(days=80) < times[0] < times[-1] < END
    users = {event.username for event in events if event.record_type in ("step-entry", "qc-result")}
    assert users == {"operator", "operator-2", "qc-analyst", "qc-analyst-2"}


def test_it_needs_a_network(app: App) -> None:
    with pytest.raises(Conflict, match="no network"):
        build_quality_demo(app.unit_of_work(), now=end)


def _trail(database: Path, seed: int) -> list[tuple[object, ...]]:
    application = bootstrap(Settings(database_url=f"sqlite:///{database}"))
    try:
        db.upgrade(application.engine)
        scenarios.import_scenario(application.unit_of_work(), build_demo(sites=1, batches=20, seed=11))
        build_quality_demo(application.unit_of_work(), seed=seed, now=end)
        events = audit.search(application.unit_of_work(), audit.AuditQuery(limit=10_000))
        return [
            (event.occurred_at, event.username, event.action, event.record_id, event.field, event.new_value)
            for event in events
        ]
    finally:
        application.engine.dispose()


def test_the_same_seed_writes_the_same_history(tmp_path: Path) -> None:
    first, second = _trail(tmp_path / "a.sqlite3", 5), _trail(tmp_path / "b.sqlite3", 5)
    assert first == second
    assert len(first) > 200


# Pure parts --------------------------------------------------------------------------------------------------------


def test_every_recipe_makes_valid_master_steps_specifications_and_excursions() -> None:
    for recipe in RECIPES:
        steps = recipe.master_steps()
        assert 4 <= len(steps) <= 6, recipe.kind
        assert 3 <= len(recipe.tests) <= 5, recipe.kind
        assert [test.qc_test().passes(float(test.typical)) for test in recipe.tests] == [True] * len(recipe.tests)
        for step in steps:
            for parameter in step.parameters:
                typical = recipe.param(step.position, parameter.name).typical.replace("{n}", "123")
                assert parameter.in_spec(parameter.normalise(typical)) is not False, (recipe.kind, parameter.name)
        minor = steps[recipe.minor.step - 1].parameter(recipe.minor.parameter)
        major = steps[recipe.major.step - 1].parameter(recipe.major.parameter)
        fixed = steps[recipe.correction.step - 1].parameter(recipe.correction.parameter)
        assert minor.in_spec(minor.normalise(recipe.minor.value)) is False
        assert not minor.critical
        assert major.in_spec(major.normalise(recipe.major.value)) is False
        assert major.critical
        assert fixed.in_spec(fixed.normalise(recipe.correction.value)) is not False
        assert recipe.correction.step < len(steps)


def test_each_demo_process_gets_the_recipe_of_its_kind() -> None:
    scenario = build_demo(sites=5, batches=60, seed=3)
    modality = {program.process.name: program.modality for program in scenario.programs}
    kinds = {process.name: recipe_for(process, modality.get(process.name)).kind for process in scenario.processes}
    assert kinds["Autologous CAR-T, commercial"] == "cell therapy"
    assert kinds["Sterile liquid vials, isolator line (up to 60,000 units)"] == "fill-finish"
    assert kinds["mAb drug substance, 2,000 L single-use (CHO fed-batch)"] == "biologics"
    assert kinds["AAV vector, 500 L single-use (BSL-2)"] == "viral vector"
    assert kinds["Small-molecule API, 4-step synthesis"] == "small molecule"
    assert kinds["Oral solid dose, 480 kg tablet batch"] == "solid dose"
    assert kinds["Device component lot (1,000-100,000 units)"] == "other"
    without_programs = {process.name: recipe_for(process, None).kind for process in scenario.processes}
    assert without_programs["Autologous CAR-T, commercial"] == "cell therapy"
    taken: set[str] = set()
    codes = [procedure_for(process.name, taken) for process in scenario.processes]
    assert len(set(codes)) == len(codes)
    assert all(domain.master_records.PROCEDURE_PATTERN.fullmatch(code) for code in codes)
    assert procedure_for("mAb fed-batch 2000 L", set()) == "MBR-MAB-FED-BATCH-2000-L"


def test_batches_are_chosen_for_the_demo_sponsors_and_as_far_as_there_are_some() -> None:
    process = domain.ProcessTemplate(
        "p", [domain.Stage("s", domain.SuiteKind.FORMULATION, 1)], qc_release_hours=1, qc_analysts=1
    )
    candidates = [
        Candidate(f"L{index}", "A" if index % 3 else "B", process, date(2027, 1, 1) + timedelta(days=index))
        for index in range(4)
    ]
    chosen = choose_batches(candidates, ["B", "A"], random.Random(1))
    assert list(chosen) == [Stage.RELEASED, Stage.RELEASED_AFTER_DEVIATION, Stage.REJECTED, Stage.IN_QC]
    assert chosen[Stage.RELEASED].sponsor == "B"
    assert chosen[Stage.RELEASED_AFTER_DEVIATION].sponsor == "A"
    assert len({item.lot for item in chosen.values()}) == 4


# The pages of the GMP slice render for the demo's lots --------------------------------------------------------------


def test_the_pages_render_for_the_demo_lots(app: App, network_text: str) -> None:
    web = build_web(app, network_text)
    accounts.add_user(app.unit_of_work(), "qa-reader", domain.Role.QA, password=PASSWORD)
    printed = {login.username: login.password for login in ensure_demo_users(app.unit_of_work())}
    result = build_quality_demo(app.unit_of_work(), seed=7)
    lots = _lots(result)
    assert len(lots) == 6
    # The demo staff existed: their passwords were reset and changed (a reset one cannot sign), kept in memory
    # only; the sponsor users the demo does not sign as keep theirs.
    for username in ("qa", "qualified-person", "operator-2", "qc-analyst-2"):
        password = printed[username]
        assert password is not None
        with pytest.raises(Unauthorized):
            accounts.authenticate(app.unit_of_work(), username, password)
    helix_password = printed["helix-vaccines"]
    assert helix_password is not None
    assert accounts.authenticate(app.unit_of_work(), "helix-vaccines", helix_password).role is domain.Role.SPONSOR
    qa, helix, northwind = web.browser("qa-reader"), web.browser("hx"), web.browser("nw")
    for lot in lots.values():
        page = qa.get(f"/batch-records/{lot}")
        assert page.status_code == 200, (lot, page.text[:500])
        assert lot in page.text
    for stage in (Stage.RELEASED, Stage.RELEASED_AFTER_DEVIATION, Stage.REJECTED, Stage.IN_QC):
        page = qa.get(f"/batches/{lots[stage]}/release")
        assert page.status_code == 200, page.text[:500]
        assert qa.get(f"/qc/{lots[stage]}").status_code == 200
    correction = qa.get(f"/batch-records/{lots[Stage.IN_PROGRESS_CORRECTED]}")
    assert "transcription error" in correction.text
    for number in [deviation.number for deviation in deviations.list(app.unit_of_work())]:
        assert qa.get(f"/deviations/{number}").status_code == 200
    assert qa.get(f"/batches/{lots[Stage.RELEASED]}/record.pdf").content.startswith(b"%PDF")
    for path in ("/master-records", "/qc", "/instruments", "/deviations", "/training", "/audit"):
        assert qa.get(path).status_code == 200, path
    assert ENDO_READER in qa.get("/instruments").text
    # Each demo sponsor's user reads its own released record, and the other sponsor's is not found.
    helix_lot, northwind_lot = lots[Stage.RELEASED_AFTER_DEVIATION], lots[Stage.RELEASED]
    assert helix.get(f"/batch-records/{helix_lot}").status_code == 200
    assert northwind.get(f"/batch-records/{northwind_lot}").status_code == 200
    assert helix.get(f"/batch-records/{northwind_lot}").status_code == 404
    assert northwind.get(f"/batch-records/{helix_lot}").status_code == 404
    assert northwind.get(f"/batch-records/{lots[Stage.IN_QC]}").status_code == 404
