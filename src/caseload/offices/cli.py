"""``caseload officers …``: officers join, go on leave, return, transfer and depart (docs/cli.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, command, emit, parse_date, stderr, table

app = typer.Typer(no_args_is_help=True, help="Officers: add, leave, return, transfer, depart, list.")

OfficerArg = Annotated[int, typer.Argument(help="officer id")]


def _reassignment_text(doc: dict, what: str) -> None:
    stderr.print(f"{what}: {doc['cases']:,} open cases, {doc['reassigned']:,} reassigned, "
                 f"{doc['left_unassigned']:,} left unassigned", highlight=False)
    for u in doc["unassigned"][:50]:
        stderr.print(f"  case {u['case_id']}: unassigned: {u['reason']}", highlight=False)


@app.command("add")
@command
def officers_add(name: Annotated[str, typer.Argument(help="the officer's full name, e.g. 'Ada Lovelace'")],
                 office: Annotated[str, typer.Option("--office", help="field office code")],
                 unit: Annotated[str, typer.Option("--unit", help="non_detained, detained, atd or fugitive_operations")],
                 weekly_hours: Annotated[float, typer.Option("--weekly-hours", help="contracted hours a week")] = 40.0,
                 external_id: Annotated[str | None, typer.Option("--external-id", help="the officer's id in the agency's systems")] = None,
                 fmt: FormatOption = Format.text) -> None:
    """Add an officer to an office and unit (active from today)."""
    from caseload.offices.services import do_add_officer

    doc = do_add_officer(name=name, office=office, unit=unit, weekly_hours=weekly_hours, external_id=external_id,
                         actor_label="cli:officers add")
    emit(fmt, doc, lambda: stderr.print(f"officer {doc['id']} {doc['name']} added to {doc['office']} {doc['unit']}",
                                        highlight=False))


@app.command("leave")
@command
def officers_leave(officer_id: OfficerArg,
                   from_: Annotated[str, typer.Option("--from", metavar="DATE", help="first day of leave (today or earlier)")],
                   until: Annotated[str | None, typer.Option("--until", metavar="DATE", help="expected last day")] = None,
                   fmt: FormatOption = Format.text) -> None:
    """Put an officer on leave: their cases stay with them, flagged, and they get no new ones."""
    from caseload.offices.services import do_start_leave

    doc = do_start_leave(officer_id=officer_id, from_=parse_date(from_, "--from"), until=parse_date(until, "--until"),
                         actor_label="cli:officers leave")
    emit(fmt, doc, lambda: stderr.print(f"officer {doc['id']} {doc['status_label']}; {doc['cases']:,} open cases "
                                        "stay with the officer and are excluded from automatic assignment", highlight=False))


@app.command("return")
@command
def officers_return(officer_id: OfficerArg, fmt: FormatOption = Format.text) -> None:
    """End an officer's leave."""
    from caseload.offices.services import do_return_from_leave

    doc = do_return_from_leave(officer_id=officer_id, actor_label="cli:officers return")
    emit(fmt, doc, lambda: stderr.print(f"officer {doc['id']} {doc['name']} is active again", highlight=False))


@app.command("transfer")
@command
def officers_transfer(officer_id: OfficerArg,
                      office: Annotated[str, typer.Option("--office", help="the new field office code")],
                      on: Annotated[str, typer.Option("--on", metavar="DATE", help="the day of the transfer (today or earlier)")],
                      fmt: FormatOption = Format.text) -> None:
    """Move an officer to another office; their open cases are reassigned in the old office."""
    from caseload.offices.services import do_transfer_officer

    doc = do_transfer_officer(officer_id=officer_id, office=office, on=parse_date(on, "--on"))
    emit(fmt, doc, lambda: _reassignment_text(doc, f"officer {officer_id} moved from {doc['from_office']} to {office.upper()}"))


@app.command("depart")
@command
def officers_depart(officer_id: OfficerArg,
                    on: Annotated[str, typer.Option("--on", metavar="DATE", help="the officer's last day (today or earlier)")],
                    reassign: Annotated[str, typer.Option("--reassign", help="auto, or the id of the officer who takes the cases")],
                    fmt: FormatOption = Format.text) -> None:
    """Record that an officer left; all their open cases are reassigned in the same transaction."""
    from caseload.offices.services import do_depart

    doc = do_depart(officer_id=officer_id, on=parse_date(on, "--on"), reassign=reassign)
    emit(fmt, doc, lambda: _reassignment_text(doc, f"officer {officer_id} departed"))


@app.command("list")
@command
def officers_list(office: Annotated[str | None, typer.Option(help="field office code")] = None,
                  fmt: FormatOption = Format.text) -> None:
    """Officers with their status (active, on leave until, departed) and open-case counts."""
    from caseload.offices.services import list_officers

    keys = ("id", "name", "office", "unit", "status", "status_label", "leave_until", "departed_on", "external_id", "cases")
    rows = [{k: r[k] for k in keys} for r in list_officers(office=office)]
    emit(fmt, rows, lambda: table("Officers", ["id", "name", "office", "unit", "status", "external id", "cases"],
                                   [[r["id"], r["name"], r["office"], r["unit"], r["status_label"], r["external_id"], r["cases"]]
                                    for r in rows]))
