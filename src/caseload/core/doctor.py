"""``caseload doctor``: compare the live schema with what the migrations define, and repair it.

The expected schema is not described a second time here: it is read from a scratch database of
the same vendor that the migrations have just built (a temporary SQLite file; on PostgreSQL a
temporary schema in the same database, so no CREATEDB privilege is needed). Both schemas are
read with the same catalogue queries into a :class:`Schema` (tables and their columns,
indexes, constraints including foreign keys, triggers and, on PostgreSQL, the functions
triggers call), and every difference is reported. ``repair`` first restores what interrupted
bulk loads dropped (:func:`caseload.core.bulk.restore_interrupted`), then recreates missing or
changed indexes, constraints, functions and triggers from the scratch schema's definitions. A
missing table or column is reported, not repaired: ``caseload init`` migrates.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, connections, transaction
from django.db.utils import DatabaseError, load_backend

from caseload.core import bulk

KINDS = ("table", "column", "index", "constraint", "function", "trigger")
REPAIRABLE = {"index", "constraint", "function", "trigger"}
_SCRATCH = "caseload_doctor_scratch"


@dataclass
class Schema:
    """Catalogue objects by kind: ``{kind: {key: definition}}``; a key names the object."""

    objects: dict[str, dict[str, str]] = field(default_factory=lambda: {k: {} for k in KINDS})
    tables_of: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, key) -> table

    def add(self, kind: str, key: str, definition: str, table: str = "") -> None:
        self.objects[kind][key] = " ".join(definition.split())
        self.tables_of[(kind, key)] = table

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.objects.items()}


def read_schema(conn) -> Schema:
    """The schema of ``conn`` (a Django connection) as :class:`Schema`."""
    schema = Schema()
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            _read_postgresql(cur, schema)
        else:
            _read_sqlite(cur, schema)
    return schema


def _read_sqlite(cur, schema: Schema) -> None:
    cur.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
    rows = cur.fetchall()
    for kind, name, table, sql in rows:
        if kind == "table":
            schema.add("table", name, "", name)
            cur.execute(f"SELECT name, type, \"notnull\", pk FROM pragma_table_info({_literal(name)})")
            for column, type_, notnull, pk in cur.fetchall():
                schema.add("column", f"{name}.{column}", f"{type_} {'NOT NULL' if notnull else 'NULL'}"
                           f"{' PRIMARY KEY' if pk else ''}", name)
            cur.execute(f"SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list({_literal(name)})")
            for column, target, to in cur.fetchall():
                schema.add("constraint", f"{name}.{column} -> {target}", f"FOREIGN KEY ({column}) REFERENCES {target}({to})",
                           name)
        elif kind in ("index", "trigger") and sql:
            schema.add(kind, name, sql, table)


def _read_postgresql(cur, schema: Schema) -> None:
    cur.execute("SELECT current_schema()")
    namespace = cur.fetchone()[0]

    def plain(text: str) -> str:  # definitions name the schema; the comparison must not
        return text.replace(f'"{namespace}".', "").replace(f"{namespace}.", "")

    cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE'",
                [namespace])
    for (table,) in cur.fetchall():
        schema.add("table", table, "", table)
    cur.execute("SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
                "WHERE table_schema = %s", [namespace])
    for table, column, type_, nullable in cur.fetchall():
        if (("table", table)) in schema.tables_of:
            schema.add("column", f"{table}.{column}", f"{type_} {'NULL' if nullable == 'YES' else 'NOT NULL'}", table)
    cur.execute("SELECT c.conname, t.relname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
                "WHERE n.nspname = %s AND c.contype IN ('p', 'u', 'f', 'c', 'x')", [namespace])
    constraint_names = set()
    for name, table, definition in cur.fetchall():
        constraint_names.add(name)
        schema.add("constraint", f"{table}.{name}", plain(definition), table)
    cur.execute("SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = %s", [namespace])
    for name, table, definition in cur.fetchall():
        if name not in constraint_names:
            schema.add("index", name, plain(definition), table)
    cur.execute("SELECT t.tgname, c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND NOT t.tgisinternal", [namespace])
    for name, table, definition in cur.fetchall():
        schema.add("trigger", f"{table}.{name}", plain(definition), table)
    cur.execute("SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = %s AND p.prokind = 'f'", [namespace])
    for name, definition in cur.fetchall():
        schema.add("function", name, plain(definition))


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


# --- the expected schema: a scratch database the migrations build -----------------------------

def _migration_key() -> tuple:
    """The migrations on disk (a new migration invalidates a cached expected schema)."""
    from django.db.migrations.loader import MigrationLoader

    return tuple(sorted(MigrationLoader(None, ignore_no_migrations=True).disk_migrations))


@functools.cache
def _expected(vendor: str, key: tuple) -> Schema:
    from django.core.management import call_command

    settings = {**connection.settings_dict, "TEST": {}}
    tmpdir = None
    namespace = None
    if vendor == "postgresql":
        namespace = f"caseload_doctor_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        options = {**settings.get("OPTIONS", {})}
        options["options"] = f"{options.get('options', '')} -c search_path={namespace}".strip()
        settings["OPTIONS"] = options
    else:
        tmpdir = tempfile.TemporaryDirectory(prefix="caseload-doctor-")
        settings["NAME"] = str(Path(tmpdir.name) / "expected.sqlite3")
    # Registered as a connection but not in the settings: a connection made for one task (test
    # runners allow those; the settings' aliases are the project's databases).
    scratch = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, alias=_SCRATCH)
    connections[_SCRATCH] = scratch
    try:
        if namespace:  # through the scratch connection: committed at once, whatever the caller's transaction
            with scratch.cursor() as cur:
                cur.execute(f"CREATE SCHEMA {namespace}")
        call_command("migrate", database=_SCRATCH, interactive=False, verbosity=0, skip_checks=True)
        return read_schema(scratch)
    finally:
        if namespace:
            with scratch.cursor() as cur:
                cur.execute(f"DROP SCHEMA IF EXISTS {namespace} CASCADE")
        scratch.close()
        del connections[_SCRATCH]
        if tmpdir:
            tmpdir.cleanup()


def expected_schema() -> Schema:
    """What the migrations define, for this database's vendor (built once per process)."""
    return _expected(connection.vendor, _migration_key())


# --- comparing and repairing -------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    kind: str
    name: str
    table: str
    problem: str            # missing | unexpected | different
    expected: str | None
    found: str | None

    @property
    def repairable(self) -> bool:
        return self.kind in REPAIRABLE and self.problem != "unexpected" and not (
            self.kind == "constraint" and connection.vendor == "sqlite")

    def as_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "table": self.table, "problem": self.problem,
                "expected": self.expected, "found": self.found, "repairable": self.repairable}


_CAST = re.compile(r"::\"?[a-z_][a-z0-9_]*\"?(?: (?:varying|precision|with(?:out)? time zone))?(?:\(\d+(?:,\d+)?\))?(?:\[\])?")


def comparable(kind: str, definition: str) -> str:
    """The form two definitions are compared in. PostgreSQL prints a CHECK constraint from its
    parsed expression, and a dump restored prints the same constraint with its casts and
    parentheses placed differently (``ARRAY[('a'::varchar)::text]`` / ``(ARRAY['a'::varchar])::text[]``),
    so casts and parentheses are left out of that comparison (repairs use the full text)."""
    if kind == "constraint" and definition.startswith("CHECK"):
        return "".join(_CAST.sub("", definition).replace("(", " ").replace(")", " ").split())
    return definition


def compare(expected: Schema, live: Schema) -> list[Difference]:
    found = []
    for kind in KINDS:
        want, have = expected.objects[kind], live.objects[kind]
        for key in sorted(want.keys() | have.keys()):
            if key in want and key not in have:
                problem = "missing"
            elif key not in want:
                problem = "unexpected"
            elif comparable(kind, want[key]) != comparable(kind, have[key]):
                problem = "different"
            else:
                continue
            table = expected.tables_of.get((kind, key)) or live.tables_of.get((kind, key), "")
            found.append(Difference(kind, key, table, problem, want.get(key), have.get(key)))
    return found


@dataclass
class Report:
    differences: list[Difference]
    interrupted_loads: list[dict]
    repaired: list[dict]
    counts: dict[str, int]
    errors: list[dict]

    @property
    def ok(self) -> bool:
        return not self.differences and not self.interrupted_loads and not self.errors

    def as_dict(self) -> dict:
        """The documented JSON document of ``caseload doctor --format json``."""
        return {"ok": self.ok, "vendor": connection.vendor, "counts": self.counts,
                "differences": [d.as_dict() for d in self.differences],
                "interrupted_loads": self.interrupted_loads, "repaired": self.repaired, "errors": self.errors}


def _pending_loads() -> list[dict]:
    return [{"label": r.label, "owner": r.owner, "started_at": r.started_at.isoformat(), "resumable": r.resumable,
             "dropped": [f"{d['kind']} {d['name']}" for d in r.dropped]} for r in bulk.interrupted_loads()]


_ORDER = {"function": 0, "index": 1, "constraint": 2, "trigger": 3}


def _constraint_order(d: Difference) -> int:
    """Primary keys and unique constraints before the foreign keys that reference them."""
    text = d.expected or ""
    return 0 if text.startswith(("PRIMARY KEY", "UNIQUE")) else 1


def _repair_one(cur, d: Difference) -> None:
    name = d.name.rsplit(".", 1)[-1] if d.kind in ("constraint", "trigger") else d.name
    if d.problem == "different":
        if d.kind == "index":
            cur.execute(f"DROP INDEX {bulk.quote(name)}")
        elif d.kind == "constraint":
            cur.execute(f"ALTER TABLE {bulk.quote(d.table)} DROP CONSTRAINT {bulk.quote(name)}")
        elif d.kind == "trigger":
            on = f" ON {bulk.quote(d.table)}" if connection.vendor == "postgresql" else ""
            cur.execute(f"DROP TRIGGER {bulk.quote(name)}{on}")
    if d.kind == "constraint":
        cur.execute(f"ALTER TABLE {bulk.quote(d.table)} ADD CONSTRAINT {bulk.quote(name)} {d.expected}")
    else:
        cur.execute(d.expected)  # a CREATE INDEX / CREATE TRIGGER / CREATE OR REPLACE FUNCTION statement


def diagnose(*, repair: bool = False) -> Report:
    """Compare (and with ``repair`` restore) the live schema against the migrations'."""
    expected = expected_schema()
    repaired: list[dict] = []
    errors: list[dict] = []
    if repair:
        repaired += [{"kind": "interrupted_load", "name": r["label"], "restored": r["restored"]}
                     for r in bulk.restore_interrupted()]
        todo = [d for d in compare(expected, read_schema(connection)) if d.repairable]
        todo.sort(key=lambda d: (_ORDER[d.kind], _constraint_order(d) if d.kind == "constraint" else 0, d.name))
        with connection.cursor() as cur:
            for d in todo:
                try:
                    with transaction.atomic():
                        _repair_one(cur, d)
                    repaired.append({"kind": d.kind, "name": d.name, "problem": d.problem})
                except DatabaseError as exc:
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    errors.append({"kind": d.kind, "name": d.name, "reason": _orphan_hint(d, reason)})
    live = read_schema(connection)
    return Report(differences=compare(expected, live), interrupted_loads=_pending_loads(), repaired=repaired,
                  counts=live.counts(), errors=errors)


def _orphan_hint(d: Difference, reason: str) -> str:
    if d.kind == "constraint" and (d.expected or "").startswith("FOREIGN KEY") and re.search(r"violates foreign key", reason):
        return f"{reason} (rows of {d.table} reference missing rows: delete or fix them, then repair again)"
    return reason
