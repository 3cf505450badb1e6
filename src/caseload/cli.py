"""The ``caseload`` command line: thin wrappers over the services.

Every command that computes something takes ``--format json`` and then prints exactly one JSON
document on stdout; progress and messages go to stderr. Errors print ``error[code]: message``
on stderr (and ``{"error": {...}}`` on stdout with ``--format json``) and exit non-zero:
2 for bad input, 3 for an unusable database, 1 otherwise.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

stderr = Console(stderr=True)
stdout = Console(highlight=False)


class Format(str, enum.Enum):
    text = "text"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", help="text for people, json for programs")]
app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="caseload: case management, workload and staffing for a national supervision docket.")
docket_app = typer.Typer(no_args_is_help=True, help="The docket: headline figures and case lists.")
officers_app = typer.Typer(no_args_is_help=True, help="Officers.")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")
app.add_typer(docket_app, name="docket")
app.add_typer(officers_app, name="officers")
app.add_typer(audit_app, name="audit")


@app.callback()
def _global(database: Annotated[str | None, typer.Option(
        "--database", metavar="URL",
        help="database URL (sqlite:///PATH or postgresql://USER@HOST:PORT/NAME); "
             "default $CASELOAD_DATABASE_URL, else sqlite:///var/caseload.sqlite3")] = None) -> None:
    if database:
        os.environ["CASELOAD_DATABASE_URL"] = database


def _setup() -> None:
    """Configure Django and check the database answers; raise ConfigurationError otherwise."""
    from caseload.core.dburl import DEFAULT_SQLITE_PATH, DatabaseURLError
    from caseload.core.errors import ConfigurationError

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseload.settings")
    if not os.environ.get("CASELOAD_DATABASE_URL"):
        DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    try:
        import django

        django.setup()
    except DatabaseURLError as exc:
        raise ConfigurationError("bad_database_url", str(exc)) from None
    from django.db import connection
    from django.db.utils import Error as DatabaseError

    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        from caseload.core.dburl import redact

        settings = connection.settings_dict
        where = settings.get("NAME") if connection.vendor == "sqlite" else f"{settings.get('HOST') or 'localhost'}:{settings.get('PORT') or 5432}/{settings.get('NAME')}"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigurationError("database_unreachable", f"cannot connect to the database at {redact(str(where))}: {reason}") from None


def command(func: Callable[..., Any]) -> Callable[..., Any]:
    """Set up Django, run the command, and turn CaseloadError into a clear message and exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from caseload.core.errors import CaseloadError

        fmt = kwargs.get("fmt", Format.text)
        try:
            _setup()
            return func(*args, **kwargs)
        except CaseloadError as exc:
            if fmt == Format.json:
                print(json.dumps({"error": exc.as_dict()}))
            print(f"error[{exc.code}]: {exc.message}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def emit(fmt: Format, document: Any, render: Callable[[], None]) -> None:
    if fmt == Format.json:
        print(json.dumps(document, default=str))
    else:
        render()


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*("" if v is None else f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    stdout.print(table)


@app.command()
@command
def init(fmt: FormatOption = Format.text) -> None:
    """Create or upgrade the database schema and load reference data (offices, countries, roles)."""
    from django.core.management import call_command

    from caseload.core.reference import load_reference_data

    call_command("migrate", interactive=False, verbosity=0)
    counts = load_reference_data()
    emit(fmt, {"migrated": True, **counts},
         lambda: stderr.print(f"database ready: {counts['offices']} offices, {counts['countries']} countries, {counts['roles']} roles"))


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
    reference_date = _parse_date(as_of, "--as-of") if as_of else None
    call_command("migrate", interactive=False, verbosity=0)
    total = max(1, round(load_toml("calibration.toml")["docket"]["open_cases"] * value))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=stderr, transient=fmt == Format.json) as bar:
        task = bar.add_task("generating", total=total)
        result = gen.generate_docket(scale=value, seed=seed, replace=replace, as_of=reference_date,
                                     weights_path=weights_out,
                                     progress=lambda n, desc: bar.update(task, advance=n, description=desc))
    emit(fmt, result.summary(), lambda: _table(
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
        _table("Docket", ["figure", "count"], [[k, doc[k]] for k in ("cases", "people", "officers", "convicted", "final_orders")]),
        _table("By office", ["office", "cases", "officers", "cases per officer"],
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
    emit(fmt, rows, lambda: _table("Cases", ["A-number", "case", "office", "officer", "supervision", "stage"],
                                   [[r["a_number"], r["case_id"], r["office"], r["officer"], r["supervision_type"], r["stage"]] for r in rows]))


@officers_app.command("list")
@command
def officers_list(office: Annotated[str | None, typer.Option(help="field office code")] = None,
                  fmt: FormatOption = Format.text) -> None:
    """Officers with their open-case counts."""
    from caseload.offices.services import list_officers

    rows = [{k: r[k] for k in ("id", "name", "office", "unit", "cases")} for r in list_officers(office=office)]
    emit(fmt, rows, lambda: _table("Officers", ["id", "name", "office", "unit", "cases"],
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


@app.command()
@command
def serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="port")] = 8000) -> None:
    """Serve the web app (development server; use a WSGI server such as gunicorn in production)."""
    from django.core.management import call_command

    stderr.print(f"serving at http://{host}:{port}/ (Ctrl-C to stop)")
    call_command("runserver", f"{host}:{port}", use_reloader=False)


def _parse_date(value: str, flag: str) -> dt.date:
    from caseload.core.errors import UsageError

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError("invalid_date", f"{flag} must be a date as YYYY-MM-DD, got {value!r}") from None


def main() -> None:
    app(prog_name="caseload")


if __name__ == "__main__":
    sys.exit(main())
