"""Export a batch record (:class:`~opencdmo.services.record_views.BatchRecordView`) as JSON, HTML or PDF.

The three renderers show the same content (P11-02, A11-05): the record's header, the statement whether any data
changed after original entry (A11-06), every entry with its corrections (a corrected original stays legible,
struck through, beside the reason of its correction), deviations with CAPA, QC results (voided ones with their
reason), every signature with its full manifestation and a BROKEN mark when it no longer binds to what was
signed (P11-13, P11-14, P11-15), the audit trail and whether its chain verified.

- :func:`to_json`: machine-readable; every field of the view, times as ISO 8601 in UTC, keys in a fixed order.
- :func:`to_html`: one standalone printable document (inline CSS, no script, no external URL), values escaped.
- :func:`to_pdf`: fpdf2 with its core font Helvetica, so no font file ships and every machine renders the same.
  The core fonts cover Latin-1 only: :func:`latin1` maps the few common characters outside it (see
  :data:`TRANSLITERATION`) and prints any other as "?"; the PDF then says so, and the HTML and JSON exports keep
  the exact text.

Times without a time zone are taken as UTC (the database stores UTC).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, Final

from fpdf import FPDF, FontFace
from fpdf.enums import Align, TextEmphasis, XPos, YPos
from jinja2 import Environment, PackageLoader, StrictUndefined

from opencdmo.services.record_views import SCHEMA, BatchRecordView, SignatureLine

__all__ = ["TRANSLITERATION", "latin1", "manifestation", "to_html", "to_json", "to_pdf", "utc_text"]

# --------------------------------------------------------------------------------------------------- shared text


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc_text(moment: datetime | None) -> str:
    """``moment`` as "YYYY-MM-DD HH:MM:SS UTC" ("—" when there is none)."""
    return "—" if moment is None else f"{_as_utc(moment):%Y-%m-%d %H:%M:%S} UTC"


def manifestation(signature: SignatureLine) -> str:
    """The signature manifestation of 21 CFR 11.50: "printed name (user) — meaning — YYYY-MM-DD HH:MM:SS UTC"."""
    return f"{signature.printed_name} ({signature.username}) — {signature.meaning} — {utc_text(signature.signed_at)}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def changed_statement(view: BatchRecordView) -> str:
    """The A11-06 statement: "Data changed after original entry: YES (2 corrections)"."""
    answer = "YES" if view.changed_after_entry else "NO"
    return f"Data changed after original entry: {answer} ({_plural(view.corrections, 'correction')})"


def chain_statement(view: BatchRecordView) -> str:
    if view.audit_chain_intact:
        return "Audit trail chain verified: YES"
    return "Audit trail chain verified: NO (the audit trail was altered or is incomplete)"


def signature_statement(view: BatchRecordView) -> str:
    broken = view.broken_signatures
    if broken == 0:
        return "Signatures: all bound to the signed content"
    return f"Signatures: {broken} BROKEN (the signed content changed after signing)"


def _corrected_by(view: BatchRecordView) -> dict[int, list[int]]:
    """For each corrected entry's index, the indexes of the entries that correct it, in order."""
    later: dict[int, list[int]] = {}
    for index, entry in enumerate(view.entries):
        if entry.corrects is not None:
            later.setdefault(entry.corrects, []).append(index)
    return later


# ---------------------------------------------------------------------------------------------------------- JSON


def _plain(value: object) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in fields(value)}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return _as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float)):  # bool is an int
        return value
    raise TypeError(f"a batch record view cannot hold a {type(value).__name__}")


def to_json(view: BatchRecordView) -> bytes:
    """The record as UTF-8 JSON: ``schema`` and the summary first, then every field of the view in its order."""
    document = {
        "schema": SCHEMA,
        "changed_after_entry": view.changed_after_entry,
        "corrections": view.corrections,
        "broken_signatures": view.broken_signatures,
        **_plain(view),
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# ---------------------------------------------------------------------------------------------------------- HTML


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("opencdmo.adapters", "export_templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        utc=utc_text,
        manifestation=manifestation,
        day=lambda day: day.isoformat(),
    )
    return environment


def to_html(view: BatchRecordView) -> str:
    """The record as one standalone, printable HTML document (A4)."""
    template = _environment().get_template("batch_record.html")
    return template.render(
        view=view,
        schema=SCHEMA,
        corrected_by=_corrected_by(view),
        changed_statement=changed_statement(view),
        chain_statement=chain_statement(view),
        signature_statement=signature_statement(view),
    )


# ----------------------------------------------------------------------------------------------------------- PDF

TRANSLITERATION: Final[dict[str, str]] = {
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "–": "-",  # en dash
    "—": "-",  # em dash
    "−": "-",  # minus sign
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "…": "...",
    "μ": "µ",  # Greek small mu to the micro sign, which Latin-1 has
    "€": "EUR",
    **{superscript: f"^{digit}" for superscript, digit in zip("⁰⁴⁵⁶⁷⁸⁹", "0456789", strict=True)},  # 10⁶ cells/mL
    "⁻": "^-",
    "\u2009": " ",  # thin space
    "\u202f": " ",  # narrow no-break space
    "\t": " ",
}
"""Characters outside what the PDF core fonts show, and what the PDF prints instead; any other becomes "?"."""

UNSHOWN: Final = "?"

_RED: Final = (176, 0, 0)
_GREY: Final = (232, 232, 232)
_TOTAL_PAGES: Final = "\x9ftotal\x9f"
"""The alias fpdf2 replaces by the page count: C1 control characters, which :func:`latin1` never lets through
from a record's text, so no value can be mistaken for it."""


def _printable(character: str) -> bool:
    code = ord(character)
    return character == "\n" or (0x20 <= code < 0x7F) or (0xA0 <= code <= 0xFF)


def latin1(text: str) -> str:
    """``text`` as the PDF core fonts can show it: Latin-1 kept, :data:`TRANSLITERATION` applied, other
    characters (and control characters but the line feed) printed as "?"."""
    text = unicodedata.normalize("NFC", text)
    return "".join(
        character if _printable(character) else TRANSLITERATION.get(character, UNSHOWN) for character in text
    )


@dataclass(frozen=True)
class _Cell:
    text: str
    style: FontFace | None = None


_BOLD: Final = FontFace(emphasis=TextEmphasis.B)
_ALERT: Final = FontFace(emphasis=TextEmphasis.B, color=_RED)
_STRUCK: Final = FontFace(emphasis=TextEmphasis.S)

_BODY_SIZE: Final = 9.0
_TABLE_SIZE: Final = 7.5


class _RecordPdf(FPDF):
    """A4 portrait; a header with the lot on every page and "Page N of M" with the generation at the foot."""

    def __init__(self, view: BatchRecordView) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.view = view
        self.lost_characters = False
        self.alias_nb_pages(_TOTAL_PAGES)
        self.set_margins(12, 14, 12)
        self.set_auto_page_break(auto=True, margin=16)
        self.set_title(f"Batch record {view.lot_number}")  # metadata is Unicode: no transliteration
        self.set_subject(f"{view.sponsor}, order {view.order_number}")
        self.set_author(view.generated_by)
        self.set_creator("OpenCDMO")
        self.set_creation_date(_as_utc(view.generated_at))

    def shown(self, value: str) -> str:
        """``value`` as this PDF prints it (:func:`latin1`), noting when a character is lost."""
        shown = latin1(value)
        if shown.count(UNSHOWN) != value.count(UNSHOWN):
            self.lost_characters = True
        return shown

    def header(self) -> None:
        view = self.view
        self.set_font("Helvetica", "B", 8.5)
        self.set_text_color(0)
        self.cell(
            0,
            5,
            self.shown(f"Batch record {view.lot_number} | {view.sponsor} | status: {view.status}"),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)

    def footer(self) -> None:
        view = self.view
        self.set_y(-12)
        self.set_font("Helvetica", "", 7.5)
        self.set_text_color(0)
        generated = self.shown(f"Generated {utc_text(view.generated_at)} by {view.generated_by}")
        self.cell(self.epw * 0.7, 5, generated, align=Align.L)
        self.cell(self.epw * 0.3, 5, f"Page {self.page_no()} of {_TOTAL_PAGES}", align=Align.R)

    # ------------------------------------------------------------------------------------------- building blocks

    def heading(self, title: str, size: float = 12) -> None:
        if self.will_page_break(30):  # keep a heading with the start of what it heads
            self.add_page()
        self.ln(2)
        self.set_font("Helvetica", "B", size)
        self.set_text_color(0)
        self.multi_cell(0, size * 0.5, self.shown(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def paragraph(self, text: str, *, alert: bool = False, boxed: bool = False, italic: bool = False) -> None:
        style = "B" if alert or boxed else ("I" if italic else "")
        self.set_font("Helvetica", style, 10 if boxed else _BODY_SIZE)
        self.set_text_color(*(_RED if alert else (0, 0, 0)))
        self.multi_cell(
            0, 6 if boxed else 4.5, self.shown(text), border=1 if boxed else 0, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.set_text_color(0)
        self.ln(1.5 if boxed else 1)

    def grid(
        self, widths: Sequence[float], rows: Sequence[Sequence[_Cell | str]], *, headings: Sequence[str] | None = None
    ) -> None:
        self.set_font("Helvetica", "", _TABLE_SIZE)
        self.set_text_color(0)
        with self.table(
            col_widths=tuple(widths),
            width=self.epw,
            text_align="LEFT",
            v_align="TOP",
            line_height=3.4,
            padding=(0.8, 1.0),
            first_row_as_headings=headings is not None,
            headings_style=FontFace(emphasis=TextEmphasis.B, fill_color=_GREY),
        ) as table:
            if headings is not None:
                table.row([self.shown(heading) for heading in headings])
            for cells in rows:
                row = table.row()
                for cell in cells:
                    item = cell if isinstance(cell, _Cell) else _Cell(cell)
                    row.cell(self.shown(item.text), style=item.style)
        self.ln(2)


def _dash(value: str | None) -> str:
    return "—" if value is None or value == "" else value


def _with_unit(value: str, unit: str | None) -> str:
    return f"{value} {unit}" if unit else value


def _yes_no(value: bool | None) -> _Cell:
    if value is None:
        return _Cell("—")
    return _Cell("yes") if value else _Cell("NO", _ALERT)


def _signature_cell(signature: SignatureLine | None) -> _Cell:
    if signature is None:
        return _Cell("—")
    text = manifestation(signature)
    if signature.comment:
        text += f" ({signature.comment})"
    if not signature.intact:
        return _Cell(f"{text}\nBROKEN", _ALERT)
    return _Cell(text)


def _signature_rows(pdf: _RecordPdf, signatures: Sequence[SignatureLine], empty: str) -> None:
    if not signatures:
        pdf.paragraph(empty, italic=True)
        return
    pdf.grid(
        (120, 50, 16),
        [
            (
                _Cell(manifestation(signature)),
                _dash(signature.comment),
                _Cell("intact") if signature.intact else _Cell("BROKEN", _ALERT),
            )
            for signature in signatures
        ],
        headings=("Signature (printed name (user) — meaning — time)", "Comment", "Check"),
    )


def _facts(pdf: _RecordPdf, pairs: Sequence[tuple[str, _Cell | str]]) -> None:
    pdf.grid((40, 146), [(_Cell(label, _BOLD), value) for label, value in pairs])


def _entries(pdf: _RecordPdf, view: BatchRecordView) -> None:
    pdf.heading("Steps and entries")
    if not view.entries:
        pdf.paragraph("No entries recorded.", italic=True)
        return
    corrected_by = _corrected_by(view)
    rows: list[tuple[_Cell | str, ...]] = []
    for index, entry in enumerate(view.entries):
        value = _with_unit(entry.value, entry.unit)
        notes = []
        if entry.corrects is not None:
            notes.append(f"Corrects #{entry.corrects + 1}. Reason: {entry.reason or '(none given)'}")
        notes.extend(
            f"Superseded: corrected by #{later + 1}. Reason: {view.entries[later].reason or '(none given)'}"
            for later in corrected_by.get(index, ())
        )
        rows.append(
            (
                str(index + 1),
                f"{entry.step_position}. {entry.step_title}",
                entry.parameter + (" (critical)" if entry.critical else ""),
                _Cell(value, _STRUCK) if entry.superseded else value,
                _dash(entry.spec),
                _yes_no(entry.in_spec),
                f"{entry.recorded_by}\n{utc_text(entry.recorded_at)}",
                _signature_cell(entry.verification),
                "\n".join(notes),
            )
        )
    pdf.grid(
        (7, 24, 22, 20, 18, 10, 25, 32, 28),
        rows,
        headings=("#", "Step", "Parameter", "Value", "Spec", "In spec", "Recorded", "Verification", "Correction"),
    )


def _deviations(pdf: _RecordPdf, view: BatchRecordView) -> None:
    pdf.heading("Deviations and CAPA")
    if not view.deviations:
        pdf.paragraph("No deviations.", italic=True)
    for deviation in view.deviations:
        pdf.heading(f"{deviation.number} — {deviation.title}", size=10)
        closure = _signature_cell(deviation.closure) if deviation.closure else _Cell("not closed", _ALERT)
        _facts(
            pdf,
            (
                ("Severity", deviation.severity),
                ("Status", deviation.status),
                ("Source", _dash(deviation.source)),
                ("Opened", f"{deviation.opened_by}, {utc_text(deviation.opened_at)}"),
                ("Description", deviation.description),
                ("Investigation", _dash(deviation.investigation)),
                ("Root cause", _dash(deviation.root_cause)),
                ("Closure", closure),
            ),
        )
        if deviation.capa:
            pdf.grid(
                (80, 30, 20, 22, 34),
                [
                    (
                        action.description,
                        action.owner,
                        action.due_date.isoformat(),
                        action.status,
                        _dash(action.effectiveness),
                    )
                    for action in deviation.capa
                ],
                headings=("CAPA", "Owner", "Due", "Status", "Effectiveness"),
            )
        else:
            pdf.paragraph("No CAPA.", italic=True)


def _qc(pdf: _RecordPdf, view: BatchRecordView) -> None:
    pdf.heading("QC results")
    if not view.qc:
        pdf.paragraph("No QC results.", italic=True)
        return
    rows: list[tuple[_Cell | str, ...]] = []
    for result in view.qc:
        if result.value is None:
            value = _Cell("pending")
        elif result.voided_reason is not None:
            value = _Cell(_with_unit(result.value, result.unit), _STRUCK)
        else:
            value = _Cell(_with_unit(result.value, result.unit))
        analyst = _dash(result.analyst) + (f"\n{utc_text(result.recorded_at)}" if result.recorded_at else "")
        rows.append(
            (
                result.test,
                result.method,
                value,
                _Cell(f"VOIDED: {result.voided_reason}", _ALERT) if result.voided_reason is not None else "",
                result.spec,
                _yes_no(result.passed),
                _dash(result.instrument),
                analyst,
                _signature_cell(result.verification),
            )
        )
    pdf.grid(
        (22, 20, 18, 22, 20, 10, 20, 24, 30),
        rows,
        headings=("Test", "Method", "Result", "Void", "Spec", "Pass", "Instrument", "Analyst", "Verification"),
    )


def _audit_trail(pdf: _RecordPdf, view: BatchRecordView) -> None:
    pdf.heading("Audit trail")
    pdf.paragraph(chain_statement(view), alert=not view.audit_chain_intact)
    if not view.audit_trail:
        pdf.paragraph("No audit events.", italic=True)
        return
    pdf.grid(
        (8, 32, 16, 13, 24, 19, 25, 25, 24),
        [
            (
                str(event.sequence),
                utc_text(event.occurred_at),
                event.username,
                event.action,
                f"{event.record_type} {event.record_id}",
                _dash(event.field),
                _dash(event.old_value),
                _dash(event.new_value),
                _dash(event.reason),
            )
            for event in view.audit_trail
        ],
        headings=("#", "Time (UTC)", "User", "Action", "Record", "Field", "Old value", "New value", "Reason"),
    )


def to_pdf(view: BatchRecordView, *, compress: bool = True) -> bytes:
    """The record as a PDF (A4). ``compress=False`` leaves the page streams readable (for tests and audits)."""
    pdf = _RecordPdf(view)
    pdf.set_compression(compress)
    pdf.add_page()
    pdf.heading(f"Batch record {view.lot_number}", size=15)
    _facts(
        pdf,
        (
            ("Lot", view.lot_number),
            ("Sponsor", view.sponsor),
            ("Status", view.status),
            ("Order", view.order_number),
            ("Process", view.process),
            ("Product family", view.product_family),
            ("Master batch record", view.master_record),
            ("Started", utc_text(view.started_at)),
            ("Completed", utc_text(view.completed_at)),
        ),
    )
    pdf.paragraph(changed_statement(view), alert=view.changed_after_entry, boxed=True)
    pdf.paragraph(chain_statement(view), alert=not view.audit_chain_intact, boxed=True)
    pdf.paragraph(signature_statement(view), alert=view.broken_signatures > 0, boxed=True)
    pdf.heading("Master batch record approval")
    _signature_rows(pdf, view.master_approval, "No approval signature.")
    _entries(pdf, view)
    _deviations(pdf, view)
    _qc(pdf, view)
    pdf.heading("Batch signatures (audit-trail review, disposition)")
    _signature_rows(pdf, view.signatures, "No signatures.")
    _audit_trail(pdf, view)
    pdf.ln(2)
    pdf.paragraph(f"Generated {utc_text(view.generated_at)} by {view.generated_by}. OpenCDMO export ({SCHEMA}).")
    if pdf.lost_characters:
        pdf.paragraph(
            'Characters this PDF\'s font cannot show are printed as "?"; '
            "the HTML and JSON exports hold the exact text.",
            italic=True,
        )
    return bytes(pdf.output())
