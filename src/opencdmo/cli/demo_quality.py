"""`opencdmo demo-quality`: the demo CDMO's GMP records, batches at every point of their life."""

from __future__ import annotations

from typing import Annotated

import typer

from opencdmo.cli import ui
from opencdmo.cli.app import app, handle_errors, ready_app


@app.command("demo-quality")
@handle_errors
def demo_quality(
    seed: Annotated[int, typer.Option(help="Random seed; the same seed on the same network writes the same demo.")] = (
        2027
    ),
) -> None:
    """Write the demo's GMP records: trained staff, instruments, approved master batch records, specifications,
    and batches in progress, in QC, released and rejected, signed by the demo staff.

    Once only: when the database holds GMP records (never deleted), it says so and changes nothing. Run it
    before 'opencdmo demo-users', which then hands out the passwords to sign in with.
    """
    from opencdmo.demo.quality import build_quality_demo

    with ready_app() as application, ui.steps("writing the quality demo") as announce:
        result = build_quality_demo(application.unit_of_work(), seed=seed, progress=announce)
    ui.out.print(result.message, soft_wrap=True)
    if not result.written:
        return
    ui.out.print(
        f"{result.master_records} master batch record versions, {result.specifications} release specifications, "
        f"{result.instruments} instruments, {result.trainings} training records",
        soft_wrap=True,
    )
    # Plain lines rather than a rich table: a narrow terminal must never cut a lot number or a page's path.
    rows = [("lot", "stage", "sponsor"), *((lot.lot, lot.stage.value, lot.sponsor) for lot in result.lots)]
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    ui.say("Batches of the quality demo", "(what to look at under each)")
    for index, row in enumerate(rows):
        ui.out.print(f"  {row[0].ljust(widths[0])}  {row[1].ljust(widths[1])}  {row[2]}".rstrip(), soft_wrap=True)
        if index:
            ui.out.print(f"      {result.lots[index - 1].look_at}", soft_wrap=True)
    if result.skipped:
        stages = ", ".join(stage.value for stage in result.skipped)
        ui.out.print(f"not enough planned or scheduled batches for: {stages}", soft_wrap=True)
