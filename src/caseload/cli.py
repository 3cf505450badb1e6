"""The ``caseload`` command line: thin wrappers over the services.

Every command that computes something takes ``--format json`` and then prints exactly one JSON
document on stdout; progress and messages go to stderr. Errors print ``error[code]: message``
on stderr (and ``{"error": {...}}`` on stdout with ``--format json``) and exit non-zero:
2 for bad input, 3 for an unusable database, 1 otherwise.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, command, emit, parse_date, stderr, table

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="caseload: case management, workload and staffing for a national supervision docket.")
docket_app = typer.Typer(no_args_is_help=True, help="The docket: headline figures and case lists.")
officers_app = typer.Typer(no_args_is_help=True, help="Officers.")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")
users_app = typer.Typer(no_args_is_help=True, help="User accounts and their roles.")
app.add_typer(docket_app, name="docket")
app.add_typer(officers_app, name="officers")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")

# Command groups that live with their domain app: (module with a Typer ``app``, group name).
APP_COMMANDS = [
    ("caseload.policy.cli", "policy"),
    ("caseload.policy.manual_cli", "manual"),
    ("caseload.training.cli", "training"),
    ("caseload.docket.worklist_cli", None),
    ("caseload.workload.cli", None),
    ("caseload.staffing.cli", None),
    ("caseload.countries.cli", "countries"),
    ("caseload.ingest.cli", "import"),
]


def _mount_app_commands() -> None:
    """Mount each domain app's commands; a group name of None adds its commands at the top level."""
    for module_name, group in APP_COMMANDS:
        if importlib.util.find_spec(module_name) is None:
            continue
        sub = importlib.import_module(module_name).app
        if group:
            app.add_typer(sub, name=group)
        else:
            for info in sub.registered_commands:
                app.registered_commands.append(info)
            for group_info in sub.registered_groups:
                app.registered_groups.append(group_info)


_mount_app_commands()


@app.callback()
def _global(database: Annotated[str | None, typer.Option(
        "--database", metavar="URL",
        help="database URL (sqlite:///PATH or postgresql://USER@HOST:PORT/NAME); "
             "default $CASELOAD_DATABASE_URL, else sqlite:///var/caseload.sqlite3")] = None) -> None:
    if database:
        os.environ["CASELOAD_DATABASE_URL"] = database


@app.command()
@command
def init(fmt: FormatOption = Format.text) -> None:
    """Create or upgrade the database schema and load reference data (offices, countries, roles)."""
    from django.core.management import call_command

    from caseload.core.reference import load_reference_data

    call_command("migrate", interactive=False, verbosity=0)
    counts = load_reference_data()
    counts.update(_shipped_policy())
    emit(fmt, {"migrated": True, **counts},
         lambda: stderr.print(f"database ready: {counts['offices']} offices, {counts['countries']} countries, "
                              f"{counts['roles']} roles, {counts['rule_sets']} priority rule sets, "
                              f"{counts['cadence_tables']} reporting-cadence tables"))


def _shipped_policy() -> dict:
    """Install the shipped priority rule sets and cadence tables not installed yet (audited)."""
    from caseload.policy.models import CadenceTable, RuleSet
    from caseload.policy.services import do_load_shipped

    do_load_shipped(actor_label="cli:init")
    return {"rule_sets": RuleSet.objects.count(), "cadence_tables": CadenceTable.objects.count()}


@app.command()
@command
def generate(
    scale: Annotated[str, typer.Option(help="1.0 is the national docket (2.2 million cases)")] = "0.01",
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same docket")] = 1,
    replace: Annotated[bool, typer.Option("--replace", help="delete an existing docket first")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="the docket's reference date (default today)")] = None,
    weights_out: Annotated[Path, typer.Option("--weights-out", help="where to write the generator's true case weights")] = Path("var/true_case_weights.json"),
    fmt: FormatOption = Format.text,
) -> None:
    """Generate the synthetic national docket, calibrated to OIG-17-51 and the FY2016 FOIA extracts."""
    from django.core.management import call_command
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from caseload.ingest import generate as gen
    from caseload.ingest.synthetic import load_toml

    value = gen.check_scale(scale)
    reference_date = parse_date(as_of, "--as-of")
    call_command("migrate", interactive=False, verbosity=0)
    total = max(1, round(load_toml("calibration.toml")["docket"]["open_cases"] * value))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=stderr, transient=fmt == Format.json) as bar:
        task = bar.add_task("generating", total=total)
        result = gen.generate_docket(scale=value, seed=seed, replace=replace, as_of=reference_date,
                                     weights_path=weights_out,
                                     progress=lambda n, desc: bar.update(task, advance=n, description=desc))
    emit(fmt, result.summary(), lambda: table(
        f"Generated docket as of {result.as_of} in {result.seconds:.1f} s", ["figure", "count"],
        [[k, v] for k, v in result.summary().items() if k != "seconds"]))
    stderr.print(f"true case weights written to {result.weights_path}")


@docket_app.command("summary")
@command
def docket_summary(fmt: FormatOption = Format.text) -> None:
    """Headline figures: cases, people, officers, convicted, final orders, cases per officer by office."""
    from caseload.docket.services import summary

    doc = summary()
    emit(fmt, doc, lambda: (
        table("Docket", ["figure", "count"], [[k, doc[k]] for k in ("cases", "people", "officers", "convicted", "final_orders")]),
        table("By office", ["office", "cases", "officers", "cases per officer"],
               [[o["office"], o["cases"], o["officers"], o["cases_per_officer"]] for o in doc["by_office"]]),
    ))


@docket_app.command("list")
@command
def docket_list(
    office: Annotated[str | None, typer.Option(help="field office code, e.g. WAS")] = None,
    officer: Annotated[int | None, typer.Option(help="officer id")] = None,
    limit: Annotated[int, typer.Option(help="how many cases (keyset page size)")] = 100,
    after: Annotated[int | None, typer.Option(help="start after this case id (the last one of the previous page)")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Open cases in case-id order, one page at a time."""
    from caseload.docket.services import list_cases

    rows = list_cases(office=office, officer=officer, limit=limit, after=after)
    emit(fmt, rows, lambda: table("Cases", ["A-number", "case", "office", "officer", "supervision", "stage"],
                                   [[r["a_number"], r["case_id"], r["office"], r["officer"], r["supervision_type"], r["stage"]] for r in rows]))


@officers_app.command("list")
@command
def officers_list(office: Annotated[str | None, typer.Option(help="field office code")] = None,
                  fmt: FormatOption = Format.text) -> None:
    """Officers with their open-case counts."""
    from caseload.offices.services import list_officers

    rows = [{k: r[k] for k in ("id", "name", "office", "unit", "cases")} for r in list_officers(office=office)]
    emit(fmt, rows, lambda: table("Officers", ["id", "name", "office", "unit", "cases"],
                                   [[r["id"], r["name"], r["office"], r["unit"], r["cases"]] for r in rows]))


@audit_app.command("verify")
@command
def audit_verify(fmt: FormatOption = Format.text) -> None:
    """Recompute the audit log's hash chain; exit 1 if any event was altered or removed."""
    from caseload.core.audit import verify

    result = verify()
    emit(fmt, result.as_dict(), lambda: stderr.print(
        f"audit chain intact: {result.events:,} events" if result.ok
        else f"[red]audit chain broken at event {result.first_bad_id}[/red]: {result.reason}", highlight=False))
    if not result.ok:
        raise typer.Exit(1)


@users_app.command("add")
@command
def users_add(username: Annotated[str, typer.Argument(help="login name")],
              role: Annotated[str, typer.Option(help="officer, supervisor, hq_analyst, auditor or administrator")],
              password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")] = False,
              fmt: FormatOption = Format.text) -> None:
    """Create a user in one role; without --password-stdin a strong password is generated and shown once."""
    from caseload.core.users import do_add_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    user, secret = do_add_user(username=username, role=role, password=password, actor_label="cli:users add")
    doc = {"id": user.pk, "username": user.username, "role": role}
    emit(fmt, doc if password_stdin else {**doc, "password": secret},
         lambda: stderr.print(f"user {user.username} ({role}) created" + ("" if password_stdin else f"; password: {secret}")))


@app.command()
@command
def serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="port")] = 8000) -> None:
    """Serve the web app (development server; use a WSGI server such as gunicorn in production)."""
    from django.core.management import call_command

    stderr.print(f"serving at http://{host}:{port}/ (Ctrl-C to stop)")
    call_command("runserver", f"{host}:{port}", use_reloader=False)


def main() -> None:
    app(prog_name="caseload")


if __name__ == "__main__":
    sys.exit(main())
