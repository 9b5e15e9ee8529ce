"""The master batch record pages: every version of each process's master record, one version with its steps and
approval signatures, the draft editor (steps as YAML, errors beside the field), and approval by the quality
unit's electronic signature.

Master records are CDMO staff data: a sponsor user gets 403. Reading needs VIEW_BATCH_RECORDS or
AUTHOR_MASTER_RECORDS; writing a draft AUTHOR_MASTER_RECORDS; approving REVIEW_QUALITY, by someone other than
the author (the form is not offered to the author).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from opencdmo.domain import Action, Role
from opencdmo.domain.signatures import Meaning
from opencdmo.errors import Forbidden
from opencdmo.services import master_records
from opencdmo.web.forms import FormState, FormValues, Reader, saved, submit
from opencdmo.web.rendering import render
from opencdmo.web.routing import PageRoute
from opencdmo.web.sessions import CurrentViewer, Viewer, form_page
from opencdmo.web.signing import PASSWORD_FIELD, SIGNATURE_FIELDS, signed, signing_prompt

router = APIRouter(route_class=PageRoute, include_in_schema=False)

READERS = (Action.VIEW_BATCH_RECORDS, Action.AUTHOR_MASTER_RECORDS)
DRAFT_FIELDS = ("process", "procedure", "title")
EDIT_FIELDS = ("procedure", "title", "steps")


def reader_page(viewer: CurrentViewer) -> Viewer:
    """CDMO staff who may read master records (a sponsor user never)."""
    if viewer.identity.role is Role.SPONSOR or not any(viewer.can(action) for action in READERS):
        raise Forbidden(f"the role {viewer.identity.role.value!r} may not view master batch records")
    return viewer


MasterReader = Annotated[Viewer, Depends(reader_page)]
Author = Annotated[Viewer, Depends(form_page(Action.AUTHOR_MASTER_RECORDS))]
Approver = Annotated[Viewer, Depends(form_page(Action.REVIEW_QUALITY))]


def version_path(process: str, version: int) -> str:
    return f"/master-records/{quote(process, safe='')}/v{version}"


# Every version -------------------------------------------------------------------------------------------------


def list_page(request: Request, viewer: Viewer, new_draft: FormState | None = None) -> HTMLResponse:
    views = master_records.list_records(viewer.unit_of_work())
    by_process: dict[str, list[master_records.MasterRecordView]] = {}
    for view in views:
        by_process.setdefault(view.record.process.name, []).append(view)
    can_author = viewer.can(Action.AUTHOR_MASTER_RECORDS)
    context: dict[str, Any] = {
        "groups": sorted(by_process.items()),
        "can_author": can_author,
        "new_draft": new_draft or FormState(),
        "process_choices": [(name, name) for name in master_records.process_names(viewer.unit_of_work())]
        if can_author
        else [],
        "version_path": version_path,
    }
    status = new_draft.status if new_draft is not None and new_draft.refused else 200
    return render(request, "master_records.html", context, status=status)


@router.get("/master-records", response_class=HTMLResponse)
def master_record_list(request: Request, viewer: MasterReader) -> HTMLResponse:
    return list_page(request, viewer)


@router.post("/master-records")
def draft_master_record(request: Request, viewer: Author, values: FormValues) -> Response:
    def read(reader: Reader) -> tuple[str, str, str]:
        return reader.text("process"), reader.text("procedure"), reader.text("title")

    def act(wanted: tuple[str, str, str]) -> Any:
        process, procedure, title = wanted
        return master_records.draft(
            viewer.unit_of_work(),
            process,
            procedure=procedure,
            title=title,
            steps=None,
            actor=viewer.identity.username,
        )

    outcome = submit(values, DRAFT_FIELDS, read, act, conflict_field="process")
    if isinstance(outcome, FormState):
        return list_page(request, viewer, outcome)
    return saved(
        request,
        version_path(outcome.process.name, outcome.version),
        f"Draft {outcome.label} of {outcome.process.name} written: edit its steps, then ask QA to approve it.",
    )


# One version ---------------------------------------------------------------------------------------------------


def version_page(
    request: Request,
    viewer: Viewer,
    process: str,
    version: int,
    *,
    edit_form: FormState | None = None,
    approve_form: FormState | None = None,
) -> HTMLResponse:
    view = master_records.get(viewer.unit_of_work(), process, version)
    record = view.record
    username = viewer.identity.username
    can_edit = record.is_draft and viewer.can(Action.AUTHOR_MASTER_RECORDS)
    can_approve = record.is_draft and viewer.can(Action.REVIEW_QUALITY) and record.created_by != username
    context: dict[str, Any] = {
        "view": view,
        "record": record,
        "signature_views": view.signatures,
        "can_edit": can_edit,
        "edit_form": edit_form
        or FormState.of(
            procedure=record.procedure, title=record.title, steps=master_records.steps_to_yaml(record.steps)
        ),
        "can_approve": can_approve,
        "author_is_viewer": record.is_draft and record.created_by == username,
        "approve_form": approve_form or FormState(),
        "signing": signing_prompt(request, viewer, Meaning.APPROVED, form=approve_form, prefix="approve")
        if can_approve
        else None,
        "path": version_path(record.process.name, record.version),
    }
    refused = [form for form in (edit_form, approve_form) if form is not None and form.refused]
    return render(request, "master_record.html", context, status=refused[0].status if refused else 200)


@router.get("/master-records/{process}/v{version}", response_class=HTMLResponse)
def master_record_detail(request: Request, process: str, version: int, viewer: MasterReader) -> HTMLResponse:
    return version_page(request, viewer, process, version)


@router.post("/master-records/{process}/v{version}")
def update_master_record(request: Request, process: str, version: int, viewer: Author, values: FormValues) -> Response:
    def read(reader: Reader) -> master_records.DraftChanges:
        procedure, title = reader.text("procedure"), reader.text("title")
        text = values.get("steps", "")
        return master_records.DraftChanges(
            procedure=procedure,
            title=title,
            steps=master_records.steps_from_yaml(text) if text.strip() else [],
        )

    outcome = submit(
        values,
        EDIT_FIELDS,
        read,
        lambda changes: master_records.update_draft(
            viewer.unit_of_work(), process, version, changes, actor=viewer.identity.username
        ),
    )
    if isinstance(outcome, FormState):
        return version_page(request, viewer, process, version, edit_form=outcome)
    return saved(request, version_path(outcome.process.name, outcome.version), f"Draft {outcome.label} saved.")


@router.post("/master-records/{process}/v{version}/approve")
def approve_master_record(
    request: Request, process: str, version: int, viewer: Approver, values: FormValues
) -> Response:
    outcome = submit(
        values,
        SIGNATURE_FIELDS,
        lambda read: None,
        lambda _: signed(
            request,
            values,
            lambda credentials: master_records.approve(
                viewer.unit_of_work(),
                process,
                version,
                signer=viewer.identity.username,
                credentials=credentials,
            ),
        ),
    )
    if isinstance(outcome, FormState):
        shown_again = FormState(
            {name: text for name, text in outcome.values.items() if name != PASSWORD_FIELD},
            outcome.errors,
            outcome.problem,
            outcome.status,
        )
        return version_page(request, viewer, process, version, approve_form=shown_again)
    return saved(
        request,
        version_path(outcome.process.name, outcome.version),
        f"{outcome.label} approved and signed: new batches of {outcome.process.name} start on it.",
    )
