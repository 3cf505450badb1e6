"""Kill ``caseload import ice-extract`` and ``caseload generate`` (SIGKILL, no clean-up) at named
points of the bulk load, then run the same command again: the counts are exact, the schema is
identical to a freshly initialised database's and no row references a missing row.

The processes are real ``caseload`` processes on a database of their own (a SQLite file, or a
new PostgreSQL database on the test server); ``CASELOAD_KILL_AT`` makes a process kill itself at
a point (``caseload.core.bulk.checkpoint``). The schema is read here with plain catalogue
queries, independently of ``caseload doctor``.
"""

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

from tests.countries.extracts import REMOVALS_HEADER, extract_text, removal, write

pytestmark = pytest.mark.slow
ON_POSTGRES = os.environ.get("CASELOAD_DATABASE_URL", "").startswith("postgres")
ROWS = 50_001  # just over the size from which an import drops the table's indexes: two batches


# --- databases of their own ---------------------------------------------------------------------

class Database:
    """A new, empty database: a SQLite file under ``tmp``, or a PostgreSQL database on the test server."""

    def __init__(self, tmp, name: str) -> None:
        self.name = f"kill_{name}_{uuid.uuid4().hex[:8]}"
        if ON_POSTGRES:
            import psycopg

            base = os.environ["CASELOAD_DATABASE_URL"]
            self.url = base.rsplit("/", 1)[0] + "/" + self.name
            self._admin = psycopg.connect(base, autocommit=True)
            self._admin.execute(f"CREATE DATABASE {self.name}")
        else:
            self.url = f"sqlite:///{tmp / (self.name + '.sqlite3')}"

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


def caseload(db: Database, *args: str, kill: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CASELOAD_DATABASE_URL": db.url}
    env.setdefault("CASELOAD_DEBUG", "1")
    env.pop("CASELOAD_KILL_AT", None)
    if kill:
        env["CASELOAD_KILL_AT"] = kill
    result = subprocess.run([sys.executable, "-m", "caseload.cli", *args], capture_output=True, text=True, env=env,
                            timeout=300)
    if kill:
        assert result.returncode == -signal.SIGKILL, f"not killed at {kill}: {result.returncode}\n{result.stderr[-2000:]}"
    return result


@pytest.fixture
def databases(tmp_path):
    made = []

    def make(name):
        made.append(Database(tmp_path, name))
        return made[-1]

    yield make
    for db in made:
        db.drop()


def ok(result: subprocess.CompletedProcess):
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout) if result.stdout.strip() else None


# --- the tests ----------------------------------------------------------------------------------

# (kill point, what restores the schema before the same command runs again: the command itself or init)
IMPORT_POINTS = [
    ("bulk.dropped", "rerun"),       # indexes (and foreign keys) dropped and committed; nothing loaded
    ("bulk.insert:1", "rerun"),      # inside the first batch's transaction
    ("bulk.insert:2", "rerun"),      # first batch committed, second in progress
    ("bulk.restore", "init"),        # every batch committed, nothing restored yet
    ("bulk.restoring:1", "rerun"),   # inside the restoring transaction, one index recreated
    ("bulk.restored", "rerun"),      # restored and committed; the import's own record not written yet
]


def test_import_killed_at_each_point_then_run_again(tmp_path, databases):
    fresh, db = databases("fresh"), databases("import")
    ok(caseload(fresh, "init"))
    ok(caseload(db, "init"))
    expected_schema = fresh.schema()
    keys = fresh.foreign_keys()
    assert db.schema() == expected_schema and any(t == "ingest_removalrecord" for t, *_ in keys)
    damaged = 0

    for n, (point, repair) in enumerate(IMPORT_POINTS):
        rows = [removal(removed=f"{1 + i % 12}/{1 + i % 28}/2016") for i in range(ROWS)]
        path = write(tmp_path / f"removals_{n}.csv.gz", extract_text(REMOVALS_HEADER, rows, title=f"ICE Removals FY2016 #{n}"))

        caseload(db, "import", "ice-extract", str(path), kill=point)
        damaged += db.schema() != expected_schema
        if repair == "init":
            ok(caseload(db, "init"))
            assert db.schema() == expected_schema, point
        again = ok(caseload(db, "import", "ice-extract", str(path), "--format", "json"))

        assert again[0]["rows"] == ROWS and again[0]["imported"] + again[0]["duplicates"] == ROWS, point
        assert db.schema() == expected_schema, point
        assert db.orphans(keys) == {}, point
        assert db.query("SELECT count(*) FROM ingest_removalrecord")[0][0] == ROWS * (n + 1), point
        assert db.query("SELECT count(*), sum(rows) FROM ingest_extractfile") == [(n + 1, ROWS * (n + 1))], point
        assert db.query("SELECT count(*) FROM core_bulkload") == [(0,)], point

    assert damaged >= 5  # the kills did leave the schema damaged: the checks above are not vacuous
    report = ok(caseload(db, "doctor", "--format", "json"))
    assert (report["ok"], report["differences"], report["interrupted_loads"]) == (True, [], [])


GENERATE_POINTS = ["bulk.dropped", "bulk.insert:1", "bulk.insert:40", "bulk.restore", "bulk.restoring:2", "bulk.restored",
                   "bulk.finish"]
GENERATE = ("generate", "--scale", "0.001", "--seed", "3", "--as-of", "2026-06-30")


def test_generate_killed_at_each_point_then_run_again(tmp_path, databases):
    fresh, db = databases("fresh"), databases("generate")
    ok(caseload(fresh, "init"))
    expected_schema = fresh.schema()
    keys = fresh.foreign_keys()
    reference = ok(caseload(fresh, *GENERATE, "--weights-out", str(tmp_path / "w0.json"), "--format", "json"))
    expected_counts = fresh.counts()
    assert expected_counts["docket_case"] == reference["cases"] == 2_200
    ok(caseload(db, "init"))
    damaged = 0

    for n, point in enumerate(GENERATE_POINTS):
        weights = str(tmp_path / f"w{n + 1}.json")
        caseload(db, *GENERATE, *(["--replace"] if n else []), "--weights-out", weights, kill=point)
        damaged += db.schema() != expected_schema
        # The same command without --replace: the interrupted generation is cleared and done again.
        again = ok(caseload(db, *GENERATE, "--weights-out", weights, "--format", "json"))

        assert {k: v for k, v in again.items() if k != "seconds"} == {k: v for k, v in reference.items() if k != "seconds"}
        assert db.counts() == expected_counts, point
        assert db.schema() == expected_schema, point
        assert db.orphans(keys) == {}, point
        assert db.query("SELECT count(*) FROM core_bulkload") == [(0,)], point

    assert damaged >= 5
    refused = caseload(db, *GENERATE)  # a complete docket is not replaced without --replace
    assert refused.returncode == 1 and "database_not_empty" in refused.stderr
