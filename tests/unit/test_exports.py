"""Batch record exports (P11-02, P11-14, A11-05, A11-06): JSON, HTML and PDF show the whole record.

One hand-built view holds what an export must never drop: a corrected entry (original and correction), a broken
signature, an open deviation with CAPA, a voided QC result, a pending one, and text outside Latin-1. Each renderer
is checked for each of them.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
import tomllib
import types
import zlib
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest

from opencdmo.adapters import exports
from opencdmo.adapters.exports import latin1, manifestation, to_html, to_json, to_pdf
from opencdmo.services.record_views import (
    SCHEMA,
    AuditLine,
    BatchRecordView,
    CapaLine,
    DeviationLine,
    EntryLine,
    QcLine,
    SignatureLine,
)
from tests.conftest import REPOSITORY

T0 = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
CORRECTION_REASON = "Transcription error ≤ 0.1 – typo"
VOID_REASON = "Wrong sample — re-tested"
ESCAPE_PROBE = "<script>alert(1)</script>"


def signature(name: str, username: str, meaning: str, minutes: int, *, intact: bool = True) -> SignatureLine:
    return SignatureLine(name, username, meaning, T0 + timedelta(minutes=minutes), None, intact)


BROKEN = signature("Val Verifier", "vverifier", "verified", 300, intact=False)
VERIFIER = signature("Zoë Łukasiewicz", "zlukasiewicz", "verified", 5)
RELEASE = SignatureLine("Quinn Person", "qp", "released", T0 + timedelta(days=2), "Meets specification", True)


def entry(position: int, title: str, parameter: str, value: str, minutes: int, **changes: Any) -> EntryLine:
    line = EntryLine(
        step_position=position,
        step_title=title,
        parameter=parameter,
        unit=None,
        value=value,
        spec=None,
        in_spec=None,
        recorded_by="op.ana",
        recorded_at=T0 + timedelta(minutes=minutes),
        critical=False,
        corrects=None,
        reason=None,
        superseded=False,
        verification=None,
    )
    return dataclasses.replace(line, **changes)


def record(*, audit_events: int = 3, **changes: Any) -> BatchRecordView:
    """The record every test starts from; ``changes`` replaces fields of the view."""
    view = BatchRecordView(
        lot_number="HLX-2026-0042",
        sponsor="Helix Biologics",
        order_number="ORD-0007",
        process="mAb drug substance",
        product_family="mAb",
        master_record="mAb drug substance v2",
        master_approval=(
            signature("Ann Author", "aauthor", "authored", -2000),
            signature("Ray Reviewer", "rreviewer", "approved", -1900),
        ),
        status="QA review",
        started_at=T0,
        completed_at=T0 + timedelta(days=1),
        entries=(
            entry(
                1,
                "Inoculation at 37 °C",
                "pH",
                "7.1",
                0,
                spec="6.9–7.3",
                in_spec=True,
                critical=True,
                superseded=True,
                verification=VERIFIER,
            ),
            entry(
                1,
                "Inoculation at 37 °C",
                "pH",
                "7.2",
                30,
                spec="6.9–7.3",
                in_spec=True,
                critical=True,
                corrects=0,
                reason=CORRECTION_REASON,
            ),
            entry(2, "Harvest", "Viable cell density", ESCAPE_PROBE, 120, unit="10⁶ cells/mL", spec="≥ 1.0"),
        ),
        deviations=(
            DeviationLine(
                number="DEV-2026-001",
                severity="major",
                status="open",
                title="Temperature excursion",
                description="Incubator at 38.5 °C for 12 min",
                source="step 1",
                opened_by="op.ana",
                opened_at=T0 + timedelta(hours=1),
                investigation="Probe drift suspected",
                root_cause=None,
                capa=(CapaLine("Recalibrate the incubator probe", "eng.li", date(2026, 4, 1), "open", None),),
                closure=None,
            ),
        ),
        qc=(
            QcLine(
                test="Purity",
                method="SEC-HPLC",
                value="98.1",
                unit="%",
                spec="≥ 95 %",
                passed=True,
                instrument="HPLC-02",
                analyst="qc.bo",
                recorded_at=T0 + timedelta(hours=4),
                verification=BROKEN,
                voided_reason=VOID_REASON,
            ),
            QcLine("Endotoxin", "LAL", None, None, "≤ 0.5 EU/mL", None, None, None, None, None, None),
        ),
        signatures=(signature("Dana Quinn", "dquinn", "audit-trail reviewed", 2000), RELEASE),
        audit_trail=tuple(
            AuditLine(
                sequence=number,
                occurred_at=T0 + timedelta(minutes=number),
                username="op.ana",
                action="change",
                record_type="entry",
                record_id=f"E-{number}",
                field="value",
                old_value=f"old-{number}",
                new_value=f"new-{number}",
                reason=f"reason-{number}",
            )
            for number in range(1, audit_events + 1)
        ),
        audit_chain_intact=True,
        generated_at=T0 + timedelta(days=3),
        generated_by="qa.lead",
    )
    return dataclasses.replace(view, **changes)


def without_corrections() -> BatchRecordView:
    view = record()
    return dataclasses.replace(view, entries=(dataclasses.replace(view.entries[0], superseded=False),))


# ----------------------------------------------------------------------------------------------------- the view


def test_view_counts_corrections_and_broken_signatures() -> None:
    view = record()

    assert view.corrections == 1
    assert view.changed_after_entry is True
    assert view.broken_signatures == 1
    assert without_corrections().changed_after_entry is False
    assert without_corrections().corrections == 0


@pytest.mark.parametrize(
    "place",
    ["master_approval", "entry verification", "deviation closure", "qc verification", "signatures"],
)
def test_a_broken_signature_counts_wherever_it_is(place: str) -> None:
    view = record(qc=())  # no broken signature left
    assert view.broken_signatures == 0
    broken = dataclasses.replace(RELEASE, intact=False)

    if place == "master_approval":
        view = dataclasses.replace(view, master_approval=(broken,))
    elif place == "entry verification":
        view = dataclasses.replace(view, entries=(dataclasses.replace(view.entries[0], verification=broken),))
    elif place == "deviation closure":
        view = dataclasses.replace(view, deviations=(dataclasses.replace(view.deviations[0], closure=broken),))
    elif place == "qc verification":
        view = dataclasses.replace(view, qc=(dataclasses.replace(record().qc[0], verification=broken),))
    else:
        view = dataclasses.replace(view, signatures=(broken,))

    assert view.broken_signatures == 1


def test_manifestation_names_printed_name_user_meaning_and_utc_time() -> None:
    signed_in_paris = datetime(2026, 3, 3, 10, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    local = SignatureLine("Ann Author", "aauthor", "approved", signed_in_paris, None, True)

    assert manifestation(local) == "Ann Author (aauthor) — approved — 2026-03-03 08:00:05 UTC"


# ---------------------------------------------------------------------------------------------------------- JSON


def _rebuild(kind: Any, value: Any) -> Any:
    """``value`` read back from JSON as ``kind`` (the view's own field types), to compare with the original."""
    if value is None:
        return None
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        (inner,) = [argument for argument in get_args(kind) if argument is not type(None)]
        return _rebuild(inner, value)
    if origin is tuple:
        item_kind = get_args(kind)[0]
        return tuple(_rebuild(item_kind, item) for item in value)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = get_type_hints(kind)
        names = [field.name for field in dataclasses.fields(kind)]
        assert [name for name in value if name in hints] == names, f"{kind.__name__}: fields missing or reordered"
        return kind(**{name: _rebuild(hints[name], value[name]) for name in names})
    if kind is datetime:
        assert value.endswith("+00:00"), value
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    assert isinstance(value, kind), (kind, value)
    return value


def test_json_holds_every_field_and_reads_back_to_the_same_view() -> None:
    view = record()

    document = json.loads(to_json(view))

    assert _rebuild(BatchRecordView, document) == view


def test_json_starts_with_schema_and_summary_in_a_stable_order() -> None:
    view = record()

    text = to_json(view)
    document = json.loads(text)

    assert list(document)[:5] == ["schema", "changed_after_entry", "corrections", "broken_signatures", "lot_number"]
    assert document["schema"] == SCHEMA == "opencdmo.batch-record/1"
    assert document["changed_after_entry"] is True
    assert document["corrections"] == 1
    assert document["broken_signatures"] == 1
    assert to_json(view) == text
    assert json.loads(to_json(without_corrections()))["changed_after_entry"] is False


def test_json_shows_correction_broken_signature_open_deviation_and_voided_result() -> None:
    document = json.loads(to_json(record()))

    original, correction = document["entries"][0], document["entries"][1]
    assert (original["value"], original["superseded"]) == ("7.1", True)
    assert (correction["value"], correction["corrects"], correction["reason"]) == ("7.2", 0, CORRECTION_REASON)
    assert document["qc"][0]["verification"]["intact"] is False
    assert document["qc"][0]["voided_reason"] == VOID_REASON
    assert document["deviations"][0]["status"] == "open"
    assert document["deviations"][0]["closure"] is None
    assert document["deviations"][0]["capa"][0]["due_date"] == "2026-04-01"
    assert document["entries"][0]["verification"]["printed_name"] == "Zoë Łukasiewicz"
    assert document["entries"][2]["unit"] == "10⁶ cells/mL"


def test_json_writes_times_in_utc() -> None:
    naive = datetime(2026, 3, 3, 8, 0)  # stored UTC without a zone
    in_new_york = datetime(2026, 3, 3, 3, 0, tzinfo=timezone(timedelta(hours=-5)))

    document = json.loads(to_json(record(started_at=naive, completed_at=in_new_york)))

    assert document["started_at"] == "2026-03-03T08:00:00+00:00"
    assert document["completed_at"] == "2026-03-03T08:00:00+00:00"


def test_json_is_utf8_with_special_characters_unescaped() -> None:
    text = to_json(record())

    assert "Łukasiewicz".encode() in text
    assert "≤".encode() in text


# ---------------------------------------------------------------------------------------------------------- HTML


def _rows(html: str) -> list[str]:
    return re.findall(r"<tr\b.*?</tr>", html, flags=re.DOTALL)


def test_html_is_one_standalone_document_with_values_escaped() -> None:
    html = to_html(record())

    assert html.startswith("<!DOCTYPE html>")
    assert html.rstrip().endswith("</html>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html
    assert re.search(r"\b(src|href)\s*=", html) is None
    assert "http:" not in html
    assert "https:" not in html
    assert "url(" not in html
    assert "@import" not in html


def test_html_is_printable_on_a4_with_page_n_of_m() -> None:
    html = to_html(record())

    assert "size: A4" in html
    assert 'content: "Page " counter(page) " of " counter(pages)' in html


def test_html_header_names_lot_sponsor_and_status() -> None:
    html = to_html(record())

    header = html[html.index("<header>") : html.index("</header>")]
    assert "<h1>Batch record HLX-2026-0042</h1>" in header
    assert "<dd>Helix Biologics</dd>" in header
    assert "<dd>QA review</dd>" in header
    assert "<dd>mAb drug substance v2</dd>" in header


def test_html_states_whether_data_changed_after_original_entry() -> None:
    changed = to_html(record())
    unchanged = to_html(without_corrections())

    assert "Data changed after original entry: YES (1 correction)</p>" in changed
    assert "Data changed after original entry: NO (0 corrections)</p>" in unchanged
    assert changed.index("Data changed after original entry") < changed.index('<section id="entries">')


def test_html_strikes_the_corrected_original_and_gives_the_reason_beside_it() -> None:
    rows = _rows(to_html(record()))

    original = next(row for row in rows if 'class="superseded"' in row)
    correction = next(row for row in rows if 'class="correction"' in row)
    assert "<del>7.1</del>" in original
    assert f"Superseded: corrected by #2. Reason: {CORRECTION_REASON}" in original
    assert "<del>" not in correction
    assert "<td>7.2</td>" in correction
    assert f"Corrects #1. Reason: {CORRECTION_REASON}" in correction


def test_html_shows_every_signature_with_its_manifestation_and_marks_the_broken_one() -> None:
    view = record()
    html = to_html(view)

    for line in view.all_signatures():
        assert f'<span class="signature">{manifestation(line)}</span>' in html
    assert f'{manifestation(BROKEN)}</span> <strong class="broken">BROKEN</strong>' in html
    assert html.count('<strong class="broken">BROKEN</strong>') == view.broken_signatures == 1
    assert "Meets specification" in html  # a signature's comment
    assert "Signatures: 1 BROKEN" in html


def test_html_shows_the_open_deviation_with_its_capa() -> None:
    html = to_html(record())

    deviation = html[html.index('<section id="deviations">') : html.index('<section id="qc">')]
    assert "DEV-2026-001 — Temperature excursion" in deviation
    assert "<dd>open</dd>" in deviation
    assert '<strong class="bad">not closed</strong>' in deviation
    assert "Recalibrate the incubator probe" in deviation
    assert "2026-04-01" in deviation
    assert "Probe drift suspected" in deviation


def test_html_shows_the_voided_result_struck_with_its_reason_and_the_pending_one() -> None:
    rows = _rows(to_html(record()))

    voided = next(row for row in rows if 'class="voided"' in row)
    assert "<del>98.1 %</del>" in voided
    assert f'<strong class="bad">VOIDED</strong>: {VOID_REASON}' in voided
    pending = next(row for row in rows if "Endotoxin" in row)
    assert "pending" in pending
    assert "<del>" not in pending


def test_html_shows_the_audit_trail_and_whether_its_chain_verified() -> None:
    view = record()
    html = to_html(view)
    tampered = to_html(record(audit_chain_intact=False))

    for event in view.audit_trail:
        assert f"<td>{event.old_value}</td>\n<td>{event.new_value}</td>\n<td>{event.reason}</td>" in html
    assert "Audit trail chain verified: YES" in html
    assert "Audit trail chain verified: NO" in tampered


def test_html_footer_says_when_and_by_whom_it_was_generated() -> None:
    html = to_html(record())

    footer = html[html.index("<footer>") :]
    assert "Generated 2026-03-06 08:00:00 UTC by qa.lead" in footer


def test_html_keeps_special_characters() -> None:
    html = to_html(record())

    for text in ("37 °C", "≥ 1.0", "10⁶ cells/mL", "Zoë Łukasiewicz", "6.9–7.3", VOID_REASON):
        assert text in html


# ----------------------------------------------------------------------------------------------------------- PDF

_STRING_SHOWN = re.compile(rb"\(((?:\\.|[^\\()])*)\)\s*Tj", flags=re.DOTALL)


def _unescape(literal: bytes) -> str:
    return re.sub(rb"\\(.)", lambda match: b"\r" if match.group(1) == b"r" else match.group(1), literal).decode(
        "latin-1"
    )


def pdf_pages(document: bytes) -> list[str]:
    """The text of each page (each content stream), compressed or not; lines joined by spaces."""
    pages = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", document, flags=re.DOTALL):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            content = stream
        shown = [_unescape(literal) for literal in _STRING_SHOWN.findall(content)]
        if shown:
            pages.append(" ".join(" ".join(shown).split()))
    return pages


def pdf_text(document: bytes) -> str:
    return " ".join(pdf_pages(document))


def test_pdf_is_a_pdf_with_compressed_streams_by_default() -> None:
    compressed = to_pdf(record())
    plain = to_pdf(record(), compress=False)

    assert compressed.startswith(b"%PDF-")
    assert compressed.rstrip().endswith(b"%%EOF")
    assert b"/FlateDecode" in compressed
    assert b"/FlateDecode" not in plain
    assert len(compressed) < len(plain)
    assert pdf_text(compressed) == pdf_text(plain)


def test_pdf_has_the_lot_in_a_header_and_page_n_of_m_on_every_page() -> None:
    pages = pdf_pages(to_pdf(record(audit_events=120)))

    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert page.startswith("Batch record HLX-2026-0042 | Helix Biologics | status: QA review")
        assert f"Page {number} of {len(pages)}" in page
        assert "Generated 2026-03-06 08:00:00 UTC by qa.lead" in page


def test_pdf_states_whether_data_changed_after_original_entry() -> None:
    assert "Data changed after original entry: YES (1 correction)" in pdf_text(to_pdf(record()))
    assert "Data changed after original entry: NO (0 corrections)" in pdf_text(to_pdf(without_corrections()))


def test_pdf_shows_the_correction_beside_the_original() -> None:
    text = pdf_text(to_pdf(record()))

    assert "Superseded: corrected by #2. Reason: Transcription error <= 0.1 - typo" in text
    assert "Corrects #1. Reason: Transcription error <= 0.1 - typo" in text
    assert re.search(r"pH \(critical\) 7\.1 6\.9-7\.3", text), "the corrected original stays legible"
    assert re.search(r"pH \(critical\) 7\.2 6\.9-7\.3", text)


def _struck(document: bytes, shown: bytes) -> bool:
    """Whether ``shown`` is drawn with a line through it (fpdf2 fills a thin rectangle right after the text)."""
    return re.search(rb"\(" + re.escape(shown) + rb"\) Tj ET [-\d. ]+ re f", document) is not None


def test_pdf_strikes_through_the_corrected_original_and_the_voided_result_only() -> None:
    document = to_pdf(record(), compress=False)

    assert _struck(document, b"7.1")
    assert _struck(document, b"98.1 %")
    assert b"(7.2) Tj" in document
    assert not _struck(document, b"7.2")


def test_pdf_shows_signatures_with_manifestation_and_the_broken_mark() -> None:
    view = record()
    text = pdf_text(to_pdf(view))

    for line in view.all_signatures():
        assert latin1(manifestation(line)) in text
    assert "Val Verifier (vverifier) - verified - 2026-03-03 13:00:00 UTC BROKEN" in text
    assert "Signatures: 1 BROKEN" in text


def test_pdf_shows_the_open_deviation_voided_and_pending_results_and_the_audit_trail() -> None:
    view = record()
    text = pdf_text(to_pdf(view))

    assert "DEV-2026-001 - Temperature excursion" in text
    assert "Status open" in text
    assert "Closure not closed" in text
    assert "Recalibrate the incubator probe eng.li 2026-04-01 open" in text
    assert "98.1 % VOIDED: Wrong sample - re-tested" in text
    assert "Endotoxin LAL pending" in text
    for event in view.audit_trail:
        assert f"{event.record_type} {event.record_id} value {event.old_value} {event.new_value}" in text
    assert "Audit trail chain verified: YES" in text
    assert "Audit trail chain verified: NO" in pdf_text(to_pdf(record(audit_chain_intact=False)))


def test_pdf_transliterates_characters_outside_latin1_and_says_so() -> None:
    document = to_pdf(record(), compress=False)
    text = pdf_text(document)

    assert "Zo\xeb ?ukasiewicz" in text  # ë is Latin-1 and stays; Ł is not
    assert "10^6 cells/mL" in text
    assert "37 \xb0C" in text
    assert ">= 1.0" in text
    assert '"?"; the HTML and JSON exports hold the exact text' in text
    assert '"?"' not in pdf_text(to_pdf(record(entries=(), master_approval=())))


def test_pdf_prints_a_value_that_looks_like_the_page_count_alias_as_it_is() -> None:
    view = record()
    view = dataclasses.replace(view, entries=(dataclasses.replace(view.entries[2], value="{nb} pages"),))

    assert "{nb} pages" in pdf_text(to_pdf(view))


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("5 µg/mL at 4 °C ± 2", "5 µg/mL at 4 °C ± 2"),
        ("≤ 5 and ≥ 1", "<= 5 and >= 1"),
        ("6.9–7.3 — ok", "6.9-7.3 - ok"),
        ("operator’s “note”…", 'operator\'s "note"...'),
        ("5 μg", "5 µg"),
        ("10⁶ cells", "10^6 cells"),
        ("Łódź 日本", "?ód? ??"),
        ("line one\nline\ttwo\x07\x9f", "line one\nline two??"),
    ],
)
def test_latin1_keeps_latin1_maps_the_table_and_marks_the_rest(text: str, shown: str) -> None:
    assert latin1(text) == shown
    latin1(text).encode("latin-1")


def test_every_pdf_text_encodes_as_latin1() -> None:
    for replacement in exports.TRANSLITERATION.values():
        replacement.encode("latin-1")


# ----------------------------------------------------------------------------------------------------- packaging


def test_the_export_template_ships_with_the_package() -> None:
    template = resources.files("opencdmo.adapters") / "export_templates" / "batch_record.html"
    pyproject = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = pyproject["tool"]["setuptools"]["package-data"]["opencdmo"]

    assert template.is_file()
    assert any(fnmatch.fnmatch("adapters/export_templates/batch_record.html", pattern) for pattern in package_data)
    assert any(dependency.startswith("fpdf2") for dependency in pyproject["project"]["dependencies"])
