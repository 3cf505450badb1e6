"""``caseload policy``: priority rule sets, reporting cadence and directors' exceptions (docs/policy.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, command, emit, parse_date, stderr, stdout, table

app = typer.Typer(no_args_is_help=True, help="Versioned priority rule sets, reporting cadence and directors' exceptions.")
cadence_app = typer.Typer(no_args_is_help=True, help="Reporting-cadence tables: days between check-ins by priority and supervision type.")
exception_app = typer.Typer(no_args_is_help=True, help="Field office directors' exceptions to a computed priority.")
app.add_typer(cadence_app, name="cadence")
app.add_typer(exception_app, name="exception")

AsOf = Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="the date the facts and rule set are taken at (default today)")]


def _label(name: str) -> str:
    return f"cli:policy {name}"


def report_problems(problems) -> None:
    """Print every problem of a refused file on stderr, one unwrapped line each (file:line: field: message)."""
    for problem in problems:
        print(problem, file=sys.stderr)


def _load(kind: str, files: list[Path], replace: bool, fmt: Format, loader) -> None:
    from caseload.policy.services import InvalidPolicyFile

    if not files:
        from caseload.core.errors import UsageError

        raise UsageError("no_files", f"name at least one {kind} file (or --shipped)")
    try:
        results = loader(files, replace=replace, actor_label=_label(f"{kind} load"))
    except InvalidPolicyFile as exc:
        report_problems(exc.problems)
        raise
    emit(fmt, {"loaded": results}, lambda: table(f"{kind.capitalize()} files", ["id", "status"],
                                                   [[r["id"], r["status"]] for r in results]))


@app.command("load")
@command
def load(
    files: Annotated[list[Path] | None, typer.Argument(help="rule-set TOML files (docs/policy.md)", show_default=False)] = None,
    replace: Annotated[bool, typer.Option("--replace", help="replace an installed rule set of the same id")] = False,
    shipped: Annotated[bool, typer.Option("--shipped", help="install the shipped rule sets and cadence tables not yet installed")] = False,
    fmt: FormatOption = Format.text,
) -> None:
    """Validate and install rule sets; a file with any problem is refused and nothing is written."""
    from caseload.core.errors import UsageError
    from caseload.policy import services

    if shipped and files:
        raise UsageError("files_or_shipped", "give rule-set FILES or --shipped, not both")
    if not shipped:
        _load("rule set", files or [], replace, fmt, services.load_rule_set_paths)
        return
    result = services.do_load_shipped(actor_label=_label("load --shipped"))
    emit(fmt, result, lambda: table("Shipped policy files", ["kind", "id", "status"],
                                    [["rule set", r["id"], r["status"]] for r in result["rule_sets"]]
                                    + [["cadence table", r["id"], r["status"]] for r in result["cadence_tables"]]))


@app.command("list")
@command
def list_(fmt: FormatOption = Format.text) -> None:
    """Installed rule sets in effective-date order (effective_to is exclusive)."""
    from caseload.policy.services import list_rule_sets

    rows = list_rule_sets()
    emit(fmt, rows, lambda: table("Rule sets", ["id", "from", "to (exclusive)", "title"],
                                   [[r["id"], r["effective_from"], r["effective_to"] or "open", r["title"]] for r in rows]))


@app.command("explain")
@command
def explain(
    a_number: Annotated[str, typer.Argument(metavar="A_NUMBER", help="e.g. A123-456-789")],
    as_of: AsOf = None,
    rule_set: Annotated[str | None, typer.Option("--rule-set", metavar="ID", help="default: the set in force on --as-of")] = None,
    case: Annotated[int | None, typer.Option("--case", metavar="ID", help="which open case, if the person has several")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Why a person's case has its priority: level, deciding rule, every reason, and the facts read."""
    from caseload.policy.services import explain as explain_service

    doc = explain_service(a_number, as_of=parse_date(as_of, "--as-of"), rule_set_id=rule_set, case_id=case,
                          actor_label=_label("explain"))

    def render() -> None:
        stdout.print(f"{doc['a_number']}: [bold]{doc['priority']}[/bold] under {doc['rule_set']} as of {doc['as_of']}"
                     f" (rule: {doc['rule'] or 'none matched, default level'})")
        table("Reasons", ["kind", "code", "label"], [[r["kind"], r["code"], r["label"]] for r in doc["reasons"]])
        table("Facts", ["fact", "value"], [[k, "" if v is None else str(v)] for k, v in doc["facts"].items()])

    emit(fmt, doc, render)


def _progress(fmt: Format):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=stderr, transient=fmt == Format.json)


@app.command("reclassify")
@command
def reclassify(
    as_of: AsOf = None,
    rule_set: Annotated[str | None, typer.Option("--rule-set", metavar="ID", help="default: the set in force on --as-of")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Recompute and store the priority of every open case (only changed rows are written)."""
    from caseload.policy.services import do_reclassify

    with _progress(fmt) as bar:
        task = bar.add_task("reclassifying", total=None)
        result = do_reclassify(as_of=parse_date(as_of, "--as-of"), rule_set_id=rule_set, actor_label=_label("reclassify"),
                               progress=lambda desc, done, total: bar.update(task, description=desc, completed=done, total=total))
    doc = result.as_dict()
    emit(fmt, doc, lambda: table(
        f"{doc['rule_set']} as of {doc['as_of']}: {doc['cases']:,} open cases, {doc['changed']:,} changed, {doc['seconds']} s",
        ["level", "cases"], [[k, v] for k, v in doc["counts"].items()]))


@app.command("compare")
@command
def compare(
    rule_set: Annotated[list[str], typer.Option("--rule-set", metavar="ID", help="give it twice: --rule-set A --rule-set B")],
    as_of: AsOf = None,
    fmt: FormatOption = Format.text,
) -> None:
    """How many open cases change level between two rule sets, by office (nothing is stored)."""
    from caseload.policy.services import compare as compare_service

    doc = compare_service(rule_set, as_of=parse_date(as_of, "--as-of"))

    def render() -> None:
        table(f"{doc['rule_sets'][0]} → {doc['rule_sets'][1]} as of {doc['as_of']}: {doc['changed']:,} of {doc['cases']:,} "
              "cases change level", ["office", "cases", "changed", "became priority", "ceased priority"],
              [[o["office"], o["cases"], o["changed"], o["became_priority"], o["ceased_priority"]] for o in doc["by_office"]])
        table("Transitions", ["from", "to", "cases"], [[t["from"], t["to"], t["cases"]] for t in doc["transitions"]])

    emit(fmt, doc, render)


# --- reporting cadence ------------------------------------------------------------------------


@cadence_app.command("load")
@command
def cadence_load(
    files: Annotated[list[Path], typer.Argument(help="cadence-table TOML files (docs/policy.md)")],
    replace: Annotated[bool, typer.Option("--replace", help="replace an installed table of the same id")] = False,
    fmt: FormatOption = Format.text,
) -> None:
    """Validate and install reporting-cadence tables; a file with any problem is refused and nothing is written."""
    from caseload.policy import services

    _load("cadence table", files, replace, fmt, services.load_cadence_paths)


@cadence_app.command("list")
@command
def cadence_list(fmt: FormatOption = Format.text) -> None:
    """Installed cadence tables in effective-date order."""
    from caseload.policy.services import list_cadence_tables

    rows = list_cadence_tables()
    emit(fmt, rows, lambda: table("Cadence tables", ["id", "from", "to (exclusive)", "priority rule set"],
                                   [[r["id"], r["effective_from"], r["effective_to"] or "open", r["priority_rule_set"]]
                                    for r in rows]))


@cadence_app.command("apply")
@command
def cadence_apply(
    as_of: AsOf = None,
    table_id: Annotated[str | None, typer.Option("--table", metavar="ID", help="default: the table in force on --as-of")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Give every open case the cadence of the table in force; changed cases get a new next-report-due date."""
    from caseload.policy.cadence import do_apply_cadence

    with _progress(fmt) as bar:
        bar.add_task("applying the cadence table", total=None)
        result = do_apply_cadence(as_of=parse_date(as_of, "--as-of"), table_id=table_id, actor_label=_label("cadence apply"))
    doc = result.as_dict()
    emit(fmt, doc, lambda: table(f"{doc['table']} as of {doc['as_of']}: {doc['cases']:,} open cases, {doc['changed']:,} changed",
                                 ["days between check-ins", "cases"], [[k, v] for k, v in doc["counts"].items()]))


# --- exceptions -------------------------------------------------------------------------------


def _exception_rows(rows: list[dict]) -> None:
    table("Exceptions", ["id", "A-number", "office", "rule set", "level", "approved by", "decided", "revoked"],
          [[r["id"], r["a_number"], r["office"], r["rule_set"], r["level"], r["approved_by"], r["decided_on"],
            r["revoked_on"] or ""] for r in rows])


@exception_app.command("grant")
@command
def exception_grant(
    a_number: Annotated[str, typer.Argument(metavar="A_NUMBER")],
    level: Annotated[str, typer.Option(help="the level the director sets")],
    reason: Annotated[str, typer.Option(help="why (kept in the record and the audit log)")],
    approved_by: Annotated[str, typer.Option("--approved-by", help="the field office director who decided")],
    rule_set: Annotated[str | None, typer.Option("--rule-set", metavar="ID", help="default: the set in force on the decision date")] = None,
    decided_on: Annotated[str | None, typer.Option("--decided-on", metavar="DATE", help="default today")] = None,
    case: Annotated[int | None, typer.Option("--case", metavar="ID", help="which open case, if the person has several")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Record a director's exception: the case takes LEVEL under the rule set whatever its rules say."""
    from caseload.policy.services import do_grant_exception

    row = do_grant_exception(a_number=a_number, level=level, reason=reason, approved_by=approved_by, rule_set_id=rule_set,
                             decided_on=parse_date(decided_on, "--decided-on"), case_id=case,
                             actor_label=_label("exception grant"))
    emit(fmt, row, lambda: _exception_rows([row]))


@exception_app.command("revoke")
@command
def exception_revoke(
    exception_id: Annotated[int, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="why the exception ends")],
    on: Annotated[str | None, typer.Option("--on", metavar="DATE", help="first day without the exception (default today)")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """End an exception; the computed level applies again."""
    from caseload.policy.services import do_revoke_exception

    row = do_revoke_exception(exception_id=exception_id, reason=reason, revoked_on=parse_date(on, "--on"),
                              actor_label=_label("exception revoke"))
    emit(fmt, row, lambda: _exception_rows([row]))


@exception_app.command("list")
@command
def exception_list(
    office: Annotated[str | None, typer.Option(help="field office code")] = None,
    rule_set: Annotated[str | None, typer.Option("--rule-set", metavar="ID")] = None,
    active_on: Annotated[str | None, typer.Option("--active-on", metavar="DATE", help="only exceptions in effect that day")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Directors' exceptions, oldest first."""
    from caseload.policy.services import list_exceptions

    rows = list_exceptions(office=office, rule_set_id=rule_set, active_on=parse_date(active_on, "--active-on"))
    emit(fmt, rows, lambda: _exception_rows(rows))
