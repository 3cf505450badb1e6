"""Shared pieces of the command line: Django set-up, error handling, output formats.

Each domain app with commands has a ``cli.py`` defining a Typer ``app`` built with these
helpers; ``caseload.cli`` mounts them. Conventions: ``--format json`` prints exactly one JSON
document on stdout; progress and messages go to stderr; a CaseloadError becomes
``error[code]: message`` on stderr (plus ``{"error": {...}}`` on stdout in JSON mode) and its
exit code (2 bad input, 3 unusable database, 1 otherwise).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

stderr = Console(stderr=True)
stdout = Console(highlight=False)


class Format(str, enum.Enum):
    text = "text"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", help="text for people, json for programs")]


def setup() -> None:
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
            setup()
            return func(*args, **kwargs)
        except CaseloadError as exc:
            if fmt == Format.json:
                print(json.dumps({"error": exc.as_dict()}))
            print(f"error[{exc.code}]: {exc.message}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


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


def parse_date(value: str | None, flag: str) -> dt.date | None:
    """An ISO date from a command-line flag (None stays None), or a usage error naming the flag."""
    from caseload.core.errors import UsageError

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError("invalid_date", f"{flag} must be a date as YYYY-MM-DD, got {value!r}") from None

