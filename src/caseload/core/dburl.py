"""Turn ``CASELOAD_DATABASE_URL`` into Django's ``DATABASES['default']``.

Imported by settings, so it must not import Django models.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url

DEFAULT_SQLITE_PATH = Path("var") / "caseload.sqlite3"

# WAL lets readers (the web app) run while a writer (an import) holds the lock;
# synchronous=NORMAL is the documented safe pairing with WAL.
SQLITE_INIT = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"


class DatabaseURLError(ValueError):
    """The database URL cannot be used; the message is one line for the user."""


def database_settings(url: str | None) -> dict:
    """Return the Django database dict for ``url`` (None or empty: the default SQLite file)."""
    if not url:
        url = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in {"sqlite", "postgres", "postgresql"}:
        raise DatabaseURLError(
            f"unsupported database URL {redact(url)!r}: use sqlite:///PATH or postgresql://USER@HOST:PORT/NAME"
        )
    try:
        config = dict(dj_database_url.parse(url))
    except Exception as exc:  # dj-database-url raises several types for bad input
        raise DatabaseURLError(f"malformed database URL {redact(url)!r}: {exc}") from None
    if scheme == "sqlite":
        name = config.get("NAME") or ""
        if not name or name == ":memory:":
            raise DatabaseURLError("sqlite URL needs a file path, e.g. sqlite:///var/caseload.sqlite3")
        config["OPTIONS"] = {"init_command": SQLITE_INIT, "transaction_mode": "IMMEDIATE"}
    else:
        if not config.get("NAME"):
            raise DatabaseURLError(f"malformed database URL {redact(url)!r}: no database name")
        try:
            int(config.get("PORT") or 5432)
        except ValueError:
            raise DatabaseURLError(f"malformed database URL {redact(url)!r}: bad port") from None
        config["ENGINE"] = "django.db.backends.postgresql"
        config.setdefault("OPTIONS", {})["connect_timeout"] = 5
    config["TEST"] = {"NAME": None}
    return config


def redact(url: str) -> str:
    """Hide a password in a URL before it is printed."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
