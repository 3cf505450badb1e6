"""Time-log commands: ``caseload timelog record|correct|summary|activities`` (docs/workload-capture.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, command, emit, parse_date, stderr, table

app = typer.Typer(no_args_is_help=True)
timelog_app = typer.Typer(no_args_is_help=True, help="Officers' time: record it, correct it, summarise it.")
app.add_typer(timelog_app, name="timelog")


@timelog_app.command("record")
@command
def record(
    officer: Annotated[int, typer.Option("--officer", help="officer id")],
    activity: Annotated[str, typer.Option("--activity", help="activity type (caseload timelog activities)")],
    minutes: Annotated[int | None, typer.Option("--minutes", help="minutes spent (default: the activity's default)")] = None,
    case: Annotated[int | None, typer.Option("--case", help="case id; required for case work, refused for collateral duties")] = None,
    at: Annotated[str | None, typer.Option("--at", metavar="DATETIME", help="when the work started (ISO, default now)")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Record minutes of officer work: case work, or a collateral duty without a case."""
    from caseload.docket.lifecycle import access_case
    from caseload.docket.worklist_cli import parse_datetime
    from caseload.workload.services import access_officer, do_record_time

    entry = do_record_time(officer=access_officer(officer), activity=activity, minutes=minutes,
                           case=access_case(case) if case is not None else None, started_at=parse_datetime(at, "--at"),
                           actor_label="cli:timelog record")
    doc = {"entry": entry.pk, "officer": entry.officer_id, "office": entry.office_id, "case_id": entry.case_id,
           "activity": entry.activity, "minutes": entry.minutes, "default_minutes_used": entry.default_minutes_used,
           "started_at": entry.started_at.isoformat()}
    emit(fmt, doc, lambda: stderr.print(f"recorded {entry.minutes} minutes of {entry.activity} (entry {entry.pk})"))


@timelog_app.command("correct")
@command
def correct(entry: Annotated[int, typer.Argument(help="time-log entry id")],
            minutes: Annotated[int, typer.Option("--minutes", help="the minutes actually spent")],
            reason: Annotated[str, typer.Option("--reason", help="why the entry is corrected")],
            fmt: FormatOption = Format.text) -> None:
    """Correct the minutes of an entry (e.g. the default was kept)."""
    from caseload.workload.services import do_correct_minutes

    row = do_correct_minutes(entry_id=entry, minutes=minutes, reason=reason, actor_label="cli:timelog correct")
    emit(fmt, {"entry": row.pk, "minutes": row.minutes}, lambda: stderr.print(f"entry {row.pk} now {row.minutes} minutes"))


@timelog_app.command("summary")
@command
def summary(
    office: Annotated[str | None, typer.Option("--office", help="field office code, e.g. WAS")] = None,
    date_from: Annotated[str | None, typer.Option("--from", metavar="DATE", help="first day (UTC) included")] = None,
    date_to: Annotated[str | None, typer.Option("--to", metavar="DATE", help="last day (UTC) included")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Minutes by activity type and by officer; case-related vs collateral share."""
    from caseload.workload.services import timelog_summary

    with stderr.status("summing the time log …"):
        doc = timelog_summary(office=office, date_from=parse_date(date_from, "--from"), date_to=parse_date(date_to, "--to"))

    def render() -> None:
        where = doc["office"] or "all offices"
        span = f"{doc['from'] or 'start'} to {doc['to'] or 'end'}"
        share = "" if doc["collateral_share"] is None else f"; collateral {doc['collateral_share']:.1%}"
        table(f"Time log, {where}, {span}: {doc['minutes']:,} minutes in {doc['entries']:,} entries{share}",
              ["activity", "collateral", "entries", "minutes", "share"],
              [[a["activity"], "yes" if a["collateral"] else "", a["entries"], a["minutes"],
                "" if a["share"] is None else f"{a['share']:.1%}"] for a in doc["by_activity"]])
        table("By officer", ["officer", "name", "office", "entries", "case minutes", "collateral minutes", "collateral share"],
              [[o["officer"], o["name"], o["office"], o["entries"], o["case_minutes"], o["collateral_minutes"],
                "" if o["collateral_share"] is None else f"{o['collateral_share']:.1%}"] for o in doc["by_officer"]])

    emit(fmt, doc, render)


@timelog_app.command("activities")
@command
def activity_types(fmt: FormatOption = Format.text) -> None:
    """Activity types with their default minutes and whether they are collateral duties."""
    from caseload.workload.activities import activities

    rows = [{"activity": a.code, "label": a.label, "collateral": a.collateral, "default_minutes": a.default_minutes}
            for a in activities().values()]
    emit(fmt, rows, lambda: table("Activity types", ["activity", "label", "collateral", "default minutes"],
                                  [[r["activity"], r["label"], "yes" if r["collateral"] else "", r["default_minutes"]]
                                   for r in rows]))

