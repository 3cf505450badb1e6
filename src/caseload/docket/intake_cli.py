"""``caseload case open | transfer | close | show | search`` and ``caseload export docket``.

The case commands join the ``case`` group of ``worklist_cli``; ``export`` is a group of its own.
Mounted at the top level by ``caseload.cli``. See docs/case-lifecycle.md and docs/docket-file.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, command, emit, parse_date, stderr, stdout, table
from caseload.docket.worklist_cli import case_app

app = typer.Typer(no_args_is_help=True)
export_app = typer.Typer(no_args_is_help=True, help="Export the docket as files other systems read.")
app.add_typer(export_app, name="export")


@case_app.command("open")
@command
def case_open(
    a_number: Annotated[str, typer.Option("--a-number", help="A123-456-789 or nine digits")],
    family_name: Annotated[str, typer.Option("--family-name")],
    given_name: Annotated[str, typer.Option("--given-name")],
    birth_date: Annotated[str, typer.Option("--birth-date", metavar="DATE")],
    citizenship: Annotated[str, typer.Option("--citizenship", help="ISO 3166 code or country name")],
    office: Annotated[str, typer.Option("--office", help="field office code")],
    unit: Annotated[str, typer.Option("--unit", help="non_detained or detained (also atd, fugitive_operations)")],
    supervision_type: Annotated[str, typer.Option("--supervision-type", help="osup, atd, recognizance, bond or parole")],
    stage: Annotated[str, typer.Option("--stage", help="pending, appeal or final_order")],
    final_order_date: Annotated[str | None, typer.Option("--final-order-date", metavar="DATE")] = None,
    entry_date: Annotated[str | None, typer.Option("--entry-date", metavar="DATE")] = None,
    entry_manner: Annotated[str | None, typer.Option("--entry-manner", help="ewi, visa, visa_waiver, parole, lpr or unknown")] = None,
    apprehended_on: Annotated[str | None, typer.Option("--apprehended-on", metavar="DATE")] = None,
    apprehended_at_border: Annotated[bool, typer.Option("--apprehended-at-border")] = False,
    national_security: Annotated[bool, typer.Option("--national-security")] = False,
    conviction: Annotated[list[str] | None, typer.Option("--conviction", metavar="CATEGORY:DATE[:felony][:custody_days]",
                                                         help="repeat for each conviction")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Open a case: validated, prioritised, first tasks due, assigned to the eligible officer with the lowest capacity."""
    from caseload.docket.intake import do_open_case

    opened = do_open_case(
        a_number=a_number, family_name=family_name, given_name=given_name, birth_date=parse_date(birth_date, "--birth-date"),
        citizenship=citizenship, office=office, unit=unit, supervision_type=supervision_type, stage=stage,
        final_order_date=parse_date(final_order_date, "--final-order-date"), entry_date=parse_date(entry_date, "--entry-date"),
        entry_manner=entry_manner, apprehended_on=parse_date(apprehended_on, "--apprehended-on"),
        apprehended_at_border=apprehended_at_border, national_security=national_security, convictions=conviction or [],
        actor_label="cli:case open")
    doc = opened.as_dict()
    emit(fmt, doc, lambda: stderr.print(
        f"case {doc['case_id']} opened for {doc['a_number']} at {doc['office']} ({doc['unit']}), priority "
        f"{doc['priority'] or 'unclassified'}, first check-in due {doc['next_report_due']}\n{doc['assignment_reason']}",
        highlight=False))


@case_app.command("transfer")
@command
def case_transfer(case_id: Annotated[int, typer.Argument(help="case id")],
                  office: Annotated[str, typer.Option("--office", help="the new field office code")],
                  reason: Annotated[str, typer.Option("--reason", help="why the case moves (the person moved to …)")],
                  fmt: FormatOption = Format.text) -> None:
    """Move a case (with its history) to another office, where it is assigned automatically."""
    from caseload.docket.intake import do_transfer_case

    doc = do_transfer_case(case_id=case_id, office=office, reason=reason, actor_label="cli:case transfer")
    emit(fmt, doc, lambda: stderr.print(f"case {case_id} moved from {doc['from_office']} to {doc['office']}\n"
                                        f"{doc['assignment_reason']}", highlight=False))


@case_app.command("close")
@command
def case_close(case_id: Annotated[int, typer.Argument(help="case id")],
               reason: Annotated[str, typer.Option("--reason", help="removed, departed, relief_granted, terminated, deceased or duplicate")],
               on: Annotated[str, typer.Option("--on", metavar="DATE", help="closing date (not before opening, not in the future)")],
               fmt: FormatOption = Format.text) -> None:
    """Close a case for a reason on a date."""
    from caseload.docket.intake import do_close_case

    doc = do_close_case(case_id=case_id, reason=reason, on=parse_date(on, "--on"), actor_label="cli:case close")
    emit(fmt, doc, lambda: stderr.print(f"case {case_id} closed on {doc['closed_on']} ({doc['close_reason']})",
                                        highlight=False))


@case_app.command("show")
@command
def case_show(a_number: Annotated[str, typer.Argument(help="A-number")], fmt: FormatOption = Format.text) -> None:
    """The person, their cases, convictions, tasks, check-ins and travel documents (an audited read)."""
    from caseload.docket.intake import person_record

    doc = person_record(a_number, via="case show")

    def render() -> None:
        stdout.print(f"{doc['a_number']}  {doc['name']}  born {doc['birth_date']}  citizenship {doc['citizenship']}"
                     + ("  national-security flag" if doc["national_security"] else ""), highlight=False, markup=False)
        if doc["convictions"]:
            table("Convictions", ["date", "category", "severity", "custody days"],
                  [[c["convicted_on"], c["offense_category"], c["severity"], c["custody_days"]] for c in doc["convictions"]])
        for c in doc["cases"]:
            table(f"Case {c['case_id']}: {c['office']} {c['unit']}, {c['status']}, {c['stage']}, officer "
                  f"{c['officer_name'] or 'unassigned'}, priority {c['priority'] or 'unclassified'}",
                  ["task", "due", "overdue"], [[t["task"], t["due"], "yes" if t["overdue"] else ""] for t in c["tasks"]])
            if c["check_ins"]:
                table("Check-ins", ["scheduled", "outcome", "records check"],
                      [[x["scheduled_for"], x["outcome"], x["records_check"]] for x in c["check_ins"][:20]])
            if c["travel_documents"]:
                table("Travel documents", ["requested", "country", "status"],
                      [[t["requested_on"], t["country"], t["status"]] for t in c["travel_documents"]])

    emit(fmt, doc, render)


@case_app.command("search")
@command
def case_search(text: Annotated[str, typer.Argument(help="an A-number prefix or words of a name")],
                office: Annotated[str | None, typer.Option("--office", help="field office code")] = None,
                limit: Annotated[int, typer.Option("--limit", help="at most this many people")] = 20,
                fmt: FormatOption = Format.text) -> None:
    """Find people by A-number prefix or name (an audited read)."""
    from caseload.docket.intake import search

    rows = search(text, office=office, limit=limit, via="case search")
    emit(fmt, rows, lambda: table("People", ["A-number", "name", "case", "office", "officer", "stage"],
                                   [[r["a_number"], r["name"], r["case_id"], r["office"], r["officer"], r["stage"]]
                                    for r in rows]))


@export_app.command("docket")
@command
def export_docket(out: Annotated[Path, typer.Option("--out", help="CSV file to write (gzip when the name ends in .gz)")],
                  office: Annotated[str | None, typer.Option("--office", help="only this field office")] = None,
                  convictions_out: Annotated[Path | None, typer.Option("--convictions-out", help="CSV file for the convictions")] = None,
                  fmt: FormatOption = Format.text) -> None:
    """Write the open docket as CSV, one row per case (docs/docket-file.md); an audited read."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from caseload.ingest.docket_file import export_docket as run_export

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=stderr, transient=fmt == Format.json) as bar:
        task = bar.add_task("exporting", total=None)
        doc = run_export(out, office=office, convictions_out=convictions_out, actor_label="cli:export docket",
                         progress=lambda done, total: bar.update(task, completed=done, total=total))
    emit(fmt, doc, lambda: stderr.print(f"{doc['rows']:,} cases written to {doc['file']}"
                                        + (f", {doc['convictions']:,} convictions to {doc['convictions_file']}"
                                           if doc.get("convictions_file") else "") + f" in {doc['seconds']:.1f} s",
                                        highlight=False))
