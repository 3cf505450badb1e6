"""``caseload manual``: the versioned procedures manual (docs/manual.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, command, emit, parse_date, stderr, stdout, table

app = typer.Typer(no_args_is_help=True, help="The procedures manual: versions, reading as of a date, diffs, search, reviews, acknowledgments.")

AsOf = Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="read the manual as in force on this date (default today)")]


def _label(name: str) -> str:
    return f"cli:manual {name}"


@app.command("import")
@command
def import_(
    directory: Annotated[Path | None, typer.Argument(help="directory of Markdown files with TOML front matter")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="import the sample manual shipped with caseload")] = False,
    fmt: FormatOption = Format.text,
) -> None:
    """Import Markdown sections; new effective dates become new versions. All files or none."""
    from caseload.core.errors import UsageError
    from caseload.policy.cli import report_problems
    from caseload.policy.manual import SAMPLE_DIR, do_import_manual
    from caseload.policy.services import InvalidPolicyFile

    if (directory is None) == (not sample):
        raise UsageError("directory_or_sample", "give a DIRECTORY or --sample (not both)")
    try:
        counts = do_import_manual(SAMPLE_DIR if sample else directory, actor_label=_label("import"))
    except InvalidPolicyFile as exc:
        report_problems(exc.problems)
        raise
    emit(fmt, counts, lambda: table("Manual import", ["figure", "count"], [[k, v] for k, v in counts.items()]))


@app.command("toc")
@command
def toc(as_of: AsOf = None, fmt: FormatOption = Format.text) -> None:
    """Chapters and sections in force on a date."""
    from caseload.policy.manual import table_of_contents

    doc = table_of_contents(as_of=parse_date(as_of, "--as-of"))
    emit(fmt, doc, lambda: table(f"Manual as of {doc['as_of']}", ["section", "title", "version", "in force from"],
                                 [[s["section"], s["title"], s["version"], s["effective_from"]]
                                  for c in doc["chapters"] for s in c["sections"]]))


@app.command("show")
@command
def show(section: Annotated[str, typer.Argument(metavar="SECTION", help="e.g. 2.2")], as_of: AsOf = None,
         fmt: FormatOption = Format.text) -> None:
    """A section's text as in force on a date, with its version, memo and owner."""
    from caseload.policy.manual import show_section

    doc = show_section(section, as_of=parse_date(as_of, "--as-of"))

    def render() -> None:
        stdout.print(f"[bold]{doc['section']} {doc['title']}[/bold]  (version {doc['version']}, in force "
                     f"{doc['effective_from']} → {doc['effective_to'] or 'now'}; owner: {doc['owner']})")
        if doc["memo"]:
            stdout.print(f"memo: {doc['memo']}", markup=False)
        stdout.print(doc["body"], markup=False)

    emit(fmt, doc, render)


@app.command("history")
@command
def history(section: Annotated[str, typer.Argument(metavar="SECTION")], fmt: FormatOption = Format.text) -> None:
    """Every version of a section with the memo and reason behind it."""
    from caseload.policy.manual import section_history

    doc = section_history(section)
    emit(fmt, doc, lambda: table(f"Section {doc['section']}", ["version", "in force from", "memo", "withdrawn"],
                                 [[v["version"], v["effective_from"], v["memo"], "yes" if v["withdrawn"] else ""]
                                  for v in doc["versions"]]))


@app.command("diff")
@command
def diff(
    start: Annotated[str, typer.Option("--from", metavar="DATE", help="the earlier date")],
    end: Annotated[str | None, typer.Option("--to", metavar="DATE", help="the later date (default today)")] = None,
    section: Annotated[str | None, typer.Option(help="one section only")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """What changed in the manual between two dates: added, amended and withdrawn sections, with a text diff."""
    from caseload.core import clock
    from caseload.policy.manual import diff as diff_service

    doc = diff_service(start=parse_date(start, "--from"), end=parse_date(end, "--to") or clock.today(), section=section)

    def render() -> None:
        if not doc["changes"]:
            stdout.print(f"no change between {doc['from']} and {doc['to']}")
        for c in doc["changes"]:
            stdout.print(f"[bold]{c['section']} {c['title']}[/bold]: {c['change']} "
                         f"(v{c['from_version'] or '-'} → v{c['to_version'] or '-'})")
            for a in c["amendments"]:
                stdout.print(f"  v{a['version']} {a['effective_from']}: {a['memo']} {a['reason']}".rstrip(), markup=False)
            stdout.print(c["diff"], markup=False)

    emit(fmt, doc, render)


@app.command("search")
@command
def search(
    query: Annotated[str, typer.Argument(help="words that must all appear (stemmed: 'checks' finds 'check')")],
    as_of: AsOf = None,
    limit: Annotated[int, typer.Option(help="most results")] = 20,
    fmt: FormatOption = Format.text,
) -> None:
    """Full-text search of the sections in force (SQLite FTS5 or PostgreSQL full text)."""
    from caseload.policy.manual import search as search_service

    doc = search_service(query, as_of=parse_date(as_of, "--as-of"), limit=limit)
    emit(fmt, doc, lambda: table(f"'{doc['query']}' in the manual as of {doc['as_of']}", ["section", "title", "snippet"],
                                 [[r["section"], r["title"], r["snippet"]] for r in doc["results"]]))


@app.command("overdue")
@command
def overdue(as_of: AsOf = None, all_sections: Annotated[bool, typer.Option("--all", help="list every section, not only overdue ones")] = False,
            fmt: FormatOption = Format.text) -> None:
    """Sections overdue for review (last review or amendment + the section's review interval)."""
    from caseload.policy.manual import review_status

    doc = review_status(as_of=parse_date(as_of, "--as-of"), overdue_only=not all_sections)
    emit(fmt, doc, lambda: table(f"Reviews as of {doc['as_of']}", ["section", "owner", "last reviewed", "due", "days overdue"],
                                 [[r["section"], r["owner"], r["last_reviewed_on"], r["review_due_on"], r["days_overdue"]]
                                  for r in doc["sections"]]))


@app.command("review")
@command
def review(
    section: Annotated[str, typer.Argument(metavar="SECTION")],
    on: Annotated[str | None, typer.Option("--on", metavar="DATE", help="review date (default today)")] = None,
    note: Annotated[str, typer.Option(help="what the review found")] = "",
    fmt: FormatOption = Format.text,
) -> None:
    """Record a review of a section without changing its text."""
    from caseload.policy.manual import do_record_review

    doc = do_record_review(section=section, reviewed_on=parse_date(on, "--on"), note=note, actor_label=_label("review"))
    emit(fmt, doc, lambda: stderr.print(f"section {doc['section']} reviewed on {doc['reviewed_on']}; next review due {doc['review_due_on']}"))


@app.command("ack")
@command
def ack(
    section: Annotated[str, typer.Argument(metavar="SECTION")],
    officer: Annotated[int, typer.Option(help="officer id")],
    fmt: FormatOption = Format.text,
) -> None:
    """An officer acknowledges the version of a section in force today."""
    from caseload.policy.manual import do_acknowledge

    doc = do_acknowledge(officer_id=officer, section=section, actor_label=_label("ack"))
    emit(fmt, doc, lambda: stderr.print(f"officer {doc['officer_id']} {'acknowledged' if doc['created'] else 'had already acknowledged'} "
                                        f"section {doc['section']} version {doc['version']}"))


@app.command("unacknowledged")
@command
def unacknowledged(
    office: Annotated[str | None, typer.Option(help="field office code")] = None,
    section: Annotated[str | None, typer.Option(help="one section only")] = None,
    as_of: AsOf = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Officers who have not acknowledged the current version of the sections that apply to their unit."""
    from caseload.policy.manual import unacknowledged as unacknowledged_service

    doc = unacknowledged_service(office=office, section=section, as_of=parse_date(as_of, "--as-of"))

    def render() -> None:
        table(f"Acknowledgments as of {doc['as_of']}", ["section", "version", "required", "acknowledged", "missing"],
              [[s["section"], s["version"], s["required"], s["acknowledged"], len(s["missing"])] for s in doc["sections"]])
        rows = [[s["section"], m["officer_id"], m["name"], m["office"], m["unit"]] for s in doc["sections"] for m in s["missing"]]
        if rows:
            table("Not acknowledged", ["section", "officer", "name", "office", "unit"], rows)

    emit(fmt, doc, render)
