"""Commands ``caseload snapshot take|list`` and ``caseload report build`` (docs/report.md)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, command, emit, parse_date, stderr, table

app = typer.Typer()
snapshot_app = typer.Typer(no_args_is_help=True, help="Snapshots: the headline figures of a date, for trends.")
report_app = typer.Typer(no_args_is_help=True, help="The management report (HTML or PDF).")
app.add_typer(snapshot_app, name="snapshot")
app.add_typer(report_app, name="report")


@snapshot_app.command("take")
@command
def take(as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="the date of the figures (default today)")] = None,
         history: Annotated[bool, typer.Option("--history", help="also the first day of each month since the earliest "
                                               "time-log entry (skipping dates already taken)")] = False,
         fmt: FormatOption = Format.text) -> None:
    """Store the headline figures of a date; a date already taken is left as it is (idempotent)."""
    from caseload.reports import snapshots

    day = snapshots.check_as_of(parse_date(as_of, "--as-of"))
    if not history:
        snap, created = snapshots.do_take_snapshot(as_of=day, actor_label="cli:snapshot take")
        doc = snapshots.snapshot_dict(snap, created=created)
        emit(fmt, doc, lambda: stderr.print(f"snapshot of {doc['as_of']} " + ("taken" if created else "exists already (unchanged)")
                                            + f": {doc['figures']['docket']['cases']:,} open cases"))
        return
    rows = []
    for d in snapshots.history_dates(day):
        snap, created = snapshots.do_take_snapshot(as_of=d, actor_label="cli:snapshot take")
        rows.append({"as_of": snap.as_of.isoformat(), "created": created})
        stderr.print(f"snapshot of {d}: " + ("taken" if created else "exists already"))
    emit(fmt, {"snapshots": rows}, lambda: stderr.print(f"{sum(r['created'] for r in rows)} of {len(rows)} snapshots taken"))


@snapshot_app.command("list")
@command
def list_(fmt: FormatOption = Format.text) -> None:
    """The stored snapshots, oldest first."""
    from caseload.reports import snapshots

    rows = snapshots.list_snapshots()
    emit(fmt, rows, lambda: table("Snapshots", ["as of", "open cases", "officers", "overdue", "taken at", "by"],
                                  [[r["as_of"], r["cases"], r["officers"], r["overdue"] if r["overdue"] is not None else "–",
                                    r["taken_at"][:16].replace("T", " "), r["taken_by"]] for r in rows]))


class ReportFormat(str, enum.Enum):
    html = "html"
    pdf = "pdf"


@report_app.command("build")
@command
def build(out: Annotated[Path, typer.Option("--out", help="the file to write")],
          as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="the report's date (default today)")] = None,
          fmt: Annotated[ReportFormat, typer.Option("--format", help="html or pdf")] = ReportFormat.pdf,
          office: Annotated[str | None, typer.Option(help="one field office only")] = None) -> None:
    """Build the management report for a date: the docket against the five recommendations."""
    from caseload.core.errors import UsageError
    from caseload.reports import report

    if out.exists() and out.is_dir():
        raise UsageError("invalid_out", f"--out {out} is a directory")
    if not out.parent.exists():
        raise UsageError("invalid_out", f"--out {out}: the folder {out.parent} does not exist")
    doc = report.build(as_of=parse_date(as_of, "--as-of"), office=office)
    if fmt == ReportFormat.pdf:
        out.write_bytes(report.render_pdf(doc))
    else:
        out.write_text(report.render_html(doc, standalone=True), encoding="utf-8")
    stderr.print(f"management report as of {doc['as_of']}{' for ' + doc['office'] if doc['office'] else ''} "
                 f"written to {out} ({fmt.value}, {out.stat().st_size:,} bytes; figures gathered in {doc['seconds']} s)")
