"""Bulk loading without the ORM: one ``executemany`` (SQLite) or ``COPY`` (PostgreSQL) per batch.

:class:`BulkLoader` drops the secondary indexes (and, on PostgreSQL, the foreign keys) of the
tables it loads, and restores them when the load ends, also after a failure, so a big load
builds each index once instead of updating it per row. Re-adding a foreign key on PostgreSQL
validates every loaded row in one pass; SQLite keeps enforcing foreign keys row by row (a
primary-key lookup, cheap).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from django.db import connection, transaction

from caseload.core.errors import CaseloadError


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def raw_connection():
    """The DB-API connection under Django's wrapper (sqlite3 or psycopg)."""
    connection.ensure_connection()
    return connection.connection


def _plain(column) -> list:
    if not hasattr(column, "tolist"):
        return list(column)
    if column.dtype == bool:  # the drivers bind int faster than bool; both backends accept 0/1
        return column.astype("int8").tolist()
    return column.tolist()


def rows_from_columns(columns: dict, names: Sequence[str]) -> list[tuple]:
    """Column arrays (NumPy or lists) -> row tuples of plain Python values, in ``names`` order."""
    return list(zip(*(_plain(columns[n]) for n in names), strict=True))


def insert_rows(table: str, names: Sequence[str], rows: Iterable[tuple]) -> int:
    """Insert rows in the current transaction with the backend's fastest plain path."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return 0
    cols = ", ".join(quote(n) for n in names)
    raw = raw_connection()
    if connection.vendor == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {quote(table)} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(names))
        raw.executemany(f"INSERT INTO {quote(table)} ({cols}) VALUES ({marks})", rows)
    return len(rows)


def reset_sequences(tables: Iterable[str]) -> None:
    """After inserting explicit ids, move PostgreSQL's id sequences past the largest id."""
    if connection.vendor != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY continues from max(id) by itself
    with connection.cursor() as cur:
        for table in tables:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {quote(table)}",
                [table],
            )


class BulkLoader:
    """Context manager: indexes and foreign keys of ``tables`` are off inside, restored on exit."""

    def __init__(self, tables: Sequence[str]) -> None:
        self.tables = list(tables)
        self._indexes: list[tuple[str, str]] = []
        self._foreign_keys: list[tuple[str, str, str]] = []
        self.restore_seconds = 0.0

    def __enter__(self) -> BulkLoader:
        self._sqlite_pragmas = connection.vendor == "sqlite" and not connection.in_atomic_block
        if self._sqlite_pragmas:
            with connection.cursor() as cur:
                cur.execute("PRAGMA foreign_keys = OFF")
                cur.execute("PRAGMA synchronous = OFF")
                cur.execute("PRAGMA cache_size = -262144")  # 256 MiB: unique-index inserts in random order
        with transaction.atomic(), connection.cursor() as cur:
            for table in self.tables:
                if connection.vendor == "postgresql":
                    cur.execute(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                        "AND tablename = %s AND indexname NOT IN "
                        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                        [table, table],
                    )
                    self._indexes += cur.fetchall()
                    cur.execute(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conrelid = %s::regclass AND contype = 'f'",
                        [table],
                    )
                    self._foreign_keys += [(table, name, definition) for name, definition in cur.fetchall()]
                else:
                    cur.execute(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                        [table],
                    )
                    self._indexes += cur.fetchall()
            for table, name, _ in self._foreign_keys:
                cur.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            for name, _ in self._indexes:
                cur.execute(f"DROP INDEX {quote(name)}")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cur:
            for _, definition in self._indexes:
                cur.execute(definition)
            for table, name, definition in self._foreign_keys:
                cur.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
        if connection.vendor == "sqlite":
            with connection.cursor() as cur:
                if self._sqlite_pragmas:
                    cur.execute("PRAGMA foreign_keys = ON")
                    cur.execute("PRAGMA synchronous = NORMAL")
                    cur.execute("PRAGMA cache_size = -2000")
                if exc_type is None:
                    for table in self.tables:
                        cur.execute(f"PRAGMA foreign_key_check({quote(table)})")
                        broken = cur.fetchall()
                        if broken:
                            raise CaseloadError("foreign_key_violation",
                                                f"{len(broken)} rows of {table} reference missing rows, e.g. {broken[0]}")
        if exc_type is None:
            with connection.cursor() as cur:
                if connection.vendor == "sqlite":
                    cur.execute("PRAGMA analysis_limit = 1000")  # sampled statistics: seconds, not minutes
                cur.execute("ANALYZE")
        self.restore_seconds = time.perf_counter() - started
