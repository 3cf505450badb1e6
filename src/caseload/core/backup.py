"""Backups of the whole database and their restore (``caseload backup`` / ``caseload restore``).

SQLite: the online backup API copies a consistent snapshot page by page while other
connections keep reading and writing; the backup is itself a SQLite database. PostgreSQL:
``pg_dump --format=custom`` (a consistent snapshot too), restored with ``pg_restore`` in one
transaction, so a failed restore leaves the target database empty. A restore goes into an
empty database only (a new SQLite file, or a PostgreSQL database with no tables), never over
a docket. The file's first bytes say which kind it is; a backup of one vendor is refused by the
other.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.db import connection

from caseload.core.errors import CaseloadError, Conflict, ConfigurationError, UsageError

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


def find_tool(name: str) -> str:
    """The path of a PostgreSQL client tool (``pg_dump``, ``pg_restore``), found as the test
    harness finds the server's: ``pg_config --bindir``, the newest ``/usr/lib/postgresql/*/bin``,
    then PATH. The newest is preferred: pg_dump refuses servers newer than itself."""
    candidates: list[Path] = []
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        candidates.append(Path(out.stdout.strip()))
    except (OSError, subprocess.CalledProcessError):
        pass

    def version(path: str) -> tuple[int, ...]:
        found = re.search(r"/postgresql/([\d.]+)/bin$", path)
        return tuple(int(x) for x in found.group(1).split(".") if x) if found else ()

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)]
    for directory in candidates:
        if os.access(directory / name, os.X_OK):
            return str(directory / name)
    found = shutil.which(name)
    if found:
        return found
    raise ConfigurationError("tool_not_found", f"{name} not found (install the PostgreSQL client tools)")


def _pg_env() -> tuple[list[str], dict]:
    """Connection arguments for the client tools, and the environment with the password."""
    s = connection.settings_dict
    args = ["--host", s.get("HOST") or "localhost", "--port", str(s.get("PORT") or 5432),
            "--username", s.get("USER") or os.environ.get("USER", "postgres"), "--dbname", s["NAME"]]
    env = {**os.environ}
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = s["PASSWORD"]
    return args, env


def _run(cmd: list[str], env: dict, what: str) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        raise CaseloadError(f"{what}_failed", f"{what} failed: {reason}")


def backup(out: Path) -> dict:
    """Write a backup of the database to ``out`` (which must not exist); returns what was written."""
    out = Path(out)
    if out.exists():
        raise UsageError("file_exists", f"{out} exists already; choose a new file name")
    if not out.parent.is_dir():
        raise UsageError("no_such_directory", f"{out.parent} is not a directory")
    partial = out.with_name(out.name + ".partial")
    try:
        if connection.vendor == "postgresql":
            args, env = _pg_env()
            _run([find_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(partial), *args],
                 env, "backup")
        else:
            connection.ensure_connection()
            target = sqlite3.connect(partial)
            try:
                connection.connection.backup(target)
            finally:
                target.close()
        partial.rename(out)  # the backup appears whole or not at all
    finally:
        partial.unlink(missing_ok=True)
    return {"file": str(out), "vendor": connection.vendor, "bytes": out.stat().st_size}


def kind_of(path: Path) -> str:
    """``sqlite`` or ``postgresql`` from the file's first bytes, or UsageError."""
    if not path.is_file():
        raise UsageError("file_not_found", f"{path}: no such file")
    with path.open("rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise UsageError("not_a_backup", f"{path} is not a caseload backup (neither a SQLite database nor a pg_dump archive)")


def is_empty_database() -> bool:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()")
        else:
            cur.execute("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        return cur.fetchone()[0] == 0


def restore(path: Path) -> dict:
    """Restore the backup at ``path`` into this (empty) database."""
    path = Path(path)
    kind = kind_of(path)
    if kind != connection.vendor:
        raise UsageError("backup_vendor_mismatch", f"{path} is a {kind} backup; this database is {connection.vendor}")
    if not is_empty_database():
        raise Conflict("database_not_empty", "a backup is restored into an empty database only; this one holds tables "
                                             "(create a new database, or point --database at a new SQLite file)")
    if kind == "postgresql":
        args, env = _pg_env()
        _run([find_tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
              *args, str(path)], env, "restore")
    else:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            check = source.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise UsageError("damaged_backup", f"{path} is damaged: {check}")
            connection.ensure_connection()
            source.backup(connection.connection)
        finally:
            source.close()
    connection.close()  # the next query sees the restored catalogue
    return {"file": str(path), "vendor": kind}
