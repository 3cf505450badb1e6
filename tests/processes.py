"""Real ``caseload`` processes on databases of their own, for tests of what a process leaves behind
(kills, backups): a SQLite file under the test's tmp directory, or a new PostgreSQL database on
the test server (dropped afterwards)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import uuid

import pytest

ON_POSTGRES = os.environ.get("CASELOAD_DATABASE_URL", "").startswith("postgres")


class Database:
    """A new database: a SQLite file under ``tmp``, or a PostgreSQL database on the test server;
    empty, or a copy of ``template`` (another :class:`Database`, with no open connection)."""

    def __init__(self, tmp, name: str, template: Database | None = None) -> None:
        self.name = f"proc_{name}_{uuid.uuid4().hex[:8]}"
        if ON_POSTGRES:
            import psycopg

            base = os.environ["CASELOAD_DATABASE_URL"]
            self.url = base.rsplit("/", 1)[0] + "/" + self.name
            self._admin = psycopg.connect(base, autocommit=True)
            self._admin.execute(f"CREATE DATABASE {self.name}" + (f" TEMPLATE {template.name}" if template else ""))
        else:
            self.url = f"sqlite:///{tmp / (self.name + '.sqlite3')}"
            if template:
                source, target = template.connect(), self.connect()
                try:
                    source.backup(target)
                finally:
                    source.close()
                    target.close()

    def connect(self):
        if ON_POSTGRES:
            import psycopg

            return psycopg.connect(self.url, autocommit=True)
        return sqlite3.connect(self.url.removeprefix("sqlite:///"))

    def query(self, sql: str, params=()) -> list[tuple]:
        conn = self.connect()
        try:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()

    def drop(self) -> None:
        if ON_POSTGRES:
            self._admin.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            self._admin.close()

    # The schema as the catalogue has it: {(kind, name): definition}.
    def schema(self) -> dict:
        found = {}
        if ON_POSTGRES:
            for name, definition in self.query("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"):
                found[("index", name)] = definition
            for table, name, definition in self.query(
                    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE connamespace = 'public'::regnamespace"):
                found[("constraint", f"{table}.{name}")] = definition
            for table, name, definition in self.query(
                    "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal"):
                found[("trigger", f"{table}.{name}")] = definition
            for (table,) in self.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"):
                found[("table", table)] = ""
        else:
            for kind, name, table, sql in self.query("SELECT type, name, tbl_name, sql FROM sqlite_master "
                                                     "WHERE name NOT LIKE 'sqlite_stat%'"):  # ANALYZE's statistics
                found[(kind, name)] = sql
                if kind == "table":
                    for row in self.query(f"SELECT * FROM pragma_foreign_key_list('{name}')"):
                        found[("foreign_key", f"{name}.{row[3]}")] = f"{row[2]}.{row[4]}"
        return found

    def foreign_keys(self) -> list[tuple[str, str, str, str]]:
        """(table, column, referenced table, referenced column) of every foreign key."""
        if ON_POSTGRES:
            keys = []
            for table, definition in self.query("SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
                                                "WHERE contype = 'f' AND connamespace = 'public'::regnamespace"):
                m = re.match(r"FOREIGN KEY \((\w+)\) REFERENCES (\w+)\((\w+)\)", definition)
                keys.append((table, m.group(1), m.group(2), m.group(3)))
            return keys
        keys = []
        for (table,) in self.query("SELECT name FROM sqlite_master WHERE type = 'table'"):
            keys += [(table, r[3], r[2], r[4]) for r in self.query(f"SELECT * FROM pragma_foreign_key_list('{table}')")]
        return keys

    def orphans(self, keys) -> dict:
        """Rows whose foreign-key column names a missing row, per key (checked with plain joins)."""
        found = {}
        for table, column, target, to in keys:
            n = self.query(f'SELECT count(*) FROM "{table}" c WHERE c."{column}" IS NOT NULL AND NOT EXISTS '
                           f'(SELECT 1 FROM "{target}" p WHERE p."{to}" = c."{column}")')[0][0]
            if n:
                found[f"{table}.{column}"] = n
        return found

    def counts(self, exclude=("core_auditevent",)) -> dict:
        if ON_POSTGRES:
            tables = [t for (t,) in self.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        else:
            tables = [t for (t,) in self.query("SELECT name FROM sqlite_master WHERE type = 'table' "
                                               "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'policy_manual_fts%'")]
        return {t: self.query(f'SELECT count(*) FROM "{t}"')[0][0] for t in sorted(tables) if t not in exclude}


def caseload(db: Database, *args: str, kill: str | None = None, batch_rows: int | None = None) -> subprocess.CompletedProcess:
    """Run ``caseload ARGS`` on ``db``; ``kill`` sets ``CASELOAD_KILL_AT``, ``batch_rows``
    ``CASELOAD_BULK_BATCH_ROWS`` (imports load that many rows per transaction and drop the
    indexes from that many rows on)."""
    env = {**os.environ, "CASELOAD_DATABASE_URL": db.url}
    env.pop("CASELOAD_BULK_BATCH_ROWS", None)
    if batch_rows:
        env["CASELOAD_BULK_BATCH_ROWS"] = str(batch_rows)
    env.setdefault("CASELOAD_DEBUG", "1")
    env.pop("CASELOAD_KILL_AT", None)
    if kill:
        env["CASELOAD_KILL_AT"] = kill
    result = subprocess.run([sys.executable, "-m", "caseload.cli", *args], capture_output=True, text=True, env=env,
                            timeout=300)
    if kill:
        assert result.returncode == -signal.SIGKILL, f"not killed at {kill}: {result.returncode}\n{result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="session")
def initialised_template(tmp_path_factory):
    """A database made by ``caseload init`` once per test process (migrating a new database takes
    several seconds), for tests whose subject starts after ``init``."""
    db = Database(tmp_path_factory.mktemp("template"), "template")
    ok(caseload(db, "init"))
    yield db
    db.drop()


@pytest.fixture
def databases(tmp_path, request):
    """``databases(name)``: a new, empty database; ``databases(name, initialised=True)``: a copy
    of one ``caseload init`` made (the same schema and reference data; made on first use)."""
    made = []

    def make(name, initialised: bool = False):
        template = request.getfixturevalue("initialised_template") if initialised else None
        made.append(Database(tmp_path, name, template=template))
        return made[-1]

    yield make
    for db in made:
        db.drop()


def ok(result: subprocess.CompletedProcess):
    """The process succeeded; its JSON document (with --format json), else its stdout."""
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout.strip()
    return json.loads(out) if out[:1] in ("{", "[") else out
