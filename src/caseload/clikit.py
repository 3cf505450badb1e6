"""Shared pieces of the command line: Django set-up, error handling, output formats.

Each domain app with commands has a ``cli.py`` defining a Typer ``app`` built with these
helpers; ``caseload.cli`` mounts them. Conventions: ``--format json`` prints exactly one JSON
document on stdout; progress and messages go to stderr; a CaseloadError becomes
``error[code]: message`` on stderr (plus ``{"error": {...}}`` on stdout in JSON mode) and its
exit code (2 bad input, 3 unusable database, 1 otherwise). Argument errors that Typer finds
before a command runs (a bad value, an unknown option, a missing argument) are reported the
same way with the code ``usage`` (:class:`Group`).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import os
import re
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from typer._click import exceptions as click  # Typer's own copy of Click raises these
from rich.markup import escape
from rich.table import Table

stderr = Console(stderr=True)
stdout = Console(highlight=False)


class Format(str, enum.Enum):
    text = "text"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", help="text for people, json for programs")]


def setup(*, initialises: bool = False) -> None:
    """Configure Django and check the database answers and has been initialised; raise
    ConfigurationError otherwise. Only a command that ``initialises`` the database (init,
    generate, restore) may create it: any other leaves a missing SQLite file missing."""
    from caseload.core.dburl import DEFAULT_SQLITE_PATH, DatabaseURLError
    from caseload.core.errors import ConfigurationError

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseload.settings")
    if initialises and not os.environ.get("CASELOAD_DATABASE_URL"):
        DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    from django.core.exceptions import ImproperlyConfigured

    try:
        import django

        django.setup()
    except DatabaseURLError as exc:
        raise ConfigurationError("bad_database_url", str(exc)) from None
    except ImproperlyConfigured as exc:
        raise ConfigurationError("missing_setting", str(exc)) from None
    from django.db import connection
    from django.db.utils import Error as DatabaseError

    not_initialised = ConfigurationError("database_not_initialised", "run caseload init")
    if (connection.vendor == "sqlite" and not initialises and not connection.is_in_memory_db()
            and not os.path.exists(connection.settings_dict["NAME"])):
        raise not_initialised  # connecting would create the file
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        from caseload.core.dburl import redact

        settings = connection.settings_dict
        where = settings.get("NAME") if connection.vendor == "sqlite" else f"{settings.get('HOST') or 'localhost'}:{settings.get('PORT') or 5432}/{settings.get('NAME')}"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigurationError("database_unreachable", f"cannot connect to the database at {redact(str(where))}: {reason}") from None
    if not initialises and "django_migrations" not in _tables(connection, ["django_migrations"]):
        raise not_initialised


def _tables(connection, names: list[str]) -> set[str]:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT relname FROM pg_class WHERE relname = ANY(%s) AND pg_table_is_visible(oid)", [names])
        else:
            cur.execute(f"SELECT name FROM sqlite_master WHERE name IN ({', '.join(['%s'] * len(names))})", names)
        return {row[0] for row in cur.fetchall()}


def report_error(code: str, message: str, exit_code: int, *, as_json: bool, details: dict | None = None) -> None:
    """``error[code]: message`` on stderr, and ``{"error": {...}}`` on stdout in JSON mode."""
    if as_json:
        print(json.dumps({"error": {"code": code, "message": message, **({"details": details} if details else {})}}))
    print(f"error[{code}]: {message}", file=sys.stderr)


def command(func: Callable[..., Any] | None = None, *, initialises: bool = False) -> Any:
    """Set up Django, run the command, and turn CaseloadError into a clear message and exit code.

    ``@command`` for a command that needs an initialised database; ``@command(initialises=True)``
    for one that creates or fills a new one (``init``, ``generate``, ``restore``)."""
    if func is None:
        return functools.partial(command, initialises=initialises)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from caseload.core.errors import CaseloadError

        fmt = kwargs.get("fmt", Format.text)
        try:
            setup(initialises=initialises)
            return func(*args, **kwargs)
        except CaseloadError as exc:
            report_error(exc.code, exc.message, exc.exit_code, as_json=fmt == Format.json, details=exc.details or None)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def _json_requested(args: list[str]) -> bool:
    return any(a == "--format=json" or (a == "--format" and nxt == "json") for a, nxt in zip(args, [*args[1:], ""]))


class Group(typer.core.TyperGroup):
    """The top-level command group: argument errors become ``error[usage]: …`` (exit 2), with
    the JSON error document on stdout when ``--format json`` was asked for."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(args=argv, prog_name=prog_name, complete_var=complete_var, standalone_mode=False,
                                  **extra)
            code = result if isinstance(result, int) and not isinstance(result, bool) else 0
        except click.NoArgsIsHelpError as exc:
            print(exc.ctx.get_help())
            code = exc.exit_code
        except click.UsageError as exc:
            hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
            report_error("usage", exc.format_message() + hint, 2, as_json=_json_requested(argv))
            code = 2
        except click.ClickException as exc:
            report_error("usage", exc.format_message(), exc.exit_code, as_json=_json_requested(argv))
            code = exc.exit_code
        except typer.Abort:
            report_error("aborted", "aborted", 1, as_json=_json_requested(argv))
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code


def emit(fmt: Format, document: Any, render: Callable[[], None]) -> None:
    """Print ``document`` as JSON, or call ``render`` for people."""
    if fmt == Format.json:
        print(json.dumps(document, default=str))
    else:
        render()


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A Rich table on stdout; first column left-aligned, the rest right-aligned."""
    out = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        out.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        out.add_row(*("" if v is None else f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else escape(str(v))
                      for v in row))
    stdout.print(out)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(value: str | None, flag: str) -> dt.date | None:
    """A date written YYYY-MM-DD from a command-line flag (None stays None), or a usage error
    naming the flag. Only that form: ``date.fromisoformat`` alone would also take 20261201,
    2026-W49-2 and full-width digits, which the message and the documentation do not offer."""
    from caseload.core.errors import UsageError

    if value is None:
        return None
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError("invalid_date", f"{flag} must be a date as YYYY-MM-DD, got {value!r}") from None

