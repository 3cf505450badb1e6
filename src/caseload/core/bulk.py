"""Bulk loading without the ORM: one ``executemany`` (SQLite) or ``COPY`` (PostgreSQL) per batch.

:class:`BulkLoader` drops the secondary indexes (and, on PostgreSQL, the foreign keys) of the
tables it loads, and restores them when the load ends, also after a failure, so a big load
builds each index once instead of updating it per row. Re-adding a foreign key on PostgreSQL
validates every loaded row in one pass; SQLite keeps enforcing foreign keys row by row (a
primary-key lookup, cheap).

A load can also end without running any code: ``kill -9``, a power cut. So the definitions of
what a load drops are written to a :class:`~caseload.core.models.BulkLoad` row in the same
transaction as the drop, and that row is deleted in the transaction that restores them. A row
whose loading process is gone is an interrupted load: :func:`restore_interrupted` (called by
every load before it starts, by ``caseload init`` and by ``caseload doctor --repair``) restores
what it dropped. Whether the process is gone: on PostgreSQL the loader holds a session advisory
lock that the server releases when the connection dies; on SQLite (one machine) the recorded
process id no longer runs.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from django.db import connection, transaction
from django.db.utils import DatabaseError

from caseload.core.errors import CaseloadError, ConfigurationError

KILL_ENV = "CASELOAD_KILL_AT"
BATCH_ENV = "CASELOAD_BULK_BATCH_ROWS"
DEFAULT_BATCH_ROWS = 50_000
MIN_BATCH_ROWS = 100
MAX_BATCH_ROWS = 1_000_000
_LOCK_SPACE = 0x626C  # "bl": the first key of the loaders' advisory locks (the second is the row id)
_passed: Counter = Counter()


def checkpoint(name: str) -> None:
    """A named point of a load for the crash tests: with ``CASELOAD_KILL_AT=name:N`` in the
    environment the process kills itself (SIGKILL, no clean-up of any kind) the Nth time it
    gets here (``name`` alone: the first time). Unset, this is one dictionary lookup."""
    wanted = os.environ.get(KILL_ENV)
    if not wanted:
        return
    target, _, nth = wanted.partition(":")
    if target != name:
        return
    _passed[name] += 1
    if _passed[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def batch_rows() -> int:
    """Rows per transaction of a file import, and the size from which an import into an empty
    table drops its indexes meanwhile: ``CASELOAD_BULK_BATCH_ROWS`` (100 to 1,000,000), else
    50,000. Smaller batches hold less in memory and lose less to a crash; larger ones load a
    little faster."""
    raw = os.environ.get(BATCH_ENV, "").strip()
    if not raw:
        return DEFAULT_BATCH_ROWS
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not MIN_BATCH_ROWS <= value <= MAX_BATCH_ROWS:
        raise ConfigurationError("bad_setting", f"{BATCH_ENV}={raw!r}: expected a whole number from "
                                           f"{MIN_BATCH_ROWS:,} to {MAX_BATCH_ROWS:,}")
    return value


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
    checkpoint("bulk.insert")
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


# --- what a load drops, and putting it back ----------------------------------------------------

def droppable(cur, table: str) -> list[dict]:
    """The secondary indexes of ``table`` and, on PostgreSQL, its foreign keys, as
    ``{kind, table, name, definition}`` (what :func:`restore` needs to recreate them)."""
    if connection.vendor == "postgresql":
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %s AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [table, table],
        )
        found = [{"kind": "index", "table": table, "name": n, "definition": d} for n, d in cur.fetchall()]
        cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname", [table])
        return found + [{"kind": "foreign_key", "table": table, "name": n, "definition": d} for n, d in cur.fetchall()]
    cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL "
                "ORDER BY name", [table])
    return [{"kind": "index", "table": table, "name": n, "definition": d} for n, d in cur.fetchall()]


def drop(cur, item: dict) -> None:
    if item["kind"] == "foreign_key":
        cur.execute(f"ALTER TABLE {quote(item['table'])} DROP CONSTRAINT {quote(item['name'])}")
    else:
        cur.execute(f"DROP INDEX {quote(item['name'])}")


def exists(cur, item: dict) -> bool:
    if item["kind"] == "foreign_key":
        cur.execute("SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass AND conname = %s",
                    [item["table"], item["name"]])
    elif connection.vendor == "postgresql":
        cur.execute("SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = %s", [item["name"]])
    else:
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = %s", [item["name"]])
    return cur.fetchone() is not None


def restore(cur, items: Sequence[dict]) -> int:
    """Recreate the dropped ``items`` that are not there (indexes first, then foreign keys);
    returns how many were recreated. Run inside a transaction."""
    done = 0
    for item in sorted(items, key=lambda i: i["kind"] == "foreign_key"):
        if exists(cur, item):
            continue
        if item["kind"] == "foreign_key":
            cur.execute(f"ALTER TABLE {quote(item['table'])} ADD CONSTRAINT {quote(item['name'])} {item['definition']}")
        else:
            cur.execute(item["definition"])
        done += 1
        checkpoint("bulk.restoring")
    return done


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim_if_gone(cur, record) -> bool:
    """True if the process that made ``record`` is gone (and, on PostgreSQL, take its lock)."""
    if record.owner == _owner():
        return False
    if connection.vendor == "postgresql":
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_SPACE, record.pk % 2**31])
        return bool(cur.fetchone()[0])
    host, _, pid = record.owner.rpartition(":")
    if host != socket.gethostname():
        return False  # another machine's process: we cannot tell, so leave it be
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


def _unlock(cur, record_id: int) -> None:
    if connection.vendor == "postgresql":
        cur.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_SPACE, record_id % 2**31])


def interrupted_loads() -> list:
    """The recorded loads whose process is gone (their locks are released again)."""
    from caseload.core.models import BulkLoad

    found = []
    with connection.cursor() as cur:
        for record in BulkLoad.objects.order_by("id"):
            if _claim_if_gone(cur, record):
                _unlock(cur, record.pk)
                found.append(record)
    return found


def restore_interrupted(*, clear: dict[str, Callable[[], None]] | None = None) -> list[dict]:
    """Restore what every interrupted load dropped; return ``[{label, started_at, restored}]``.

    A resumable load's record is then deleted (running the load again completes it). A
    non-resumable one keeps its record, with nothing left to restore, as the mark that its
    partial data must be cleared, unless ``clear`` maps its label to the function that clears
    that data: then the data is cleared in the same transaction and the record deleted.
    """
    from caseload.core.models import BulkLoad

    clear = clear or {}
    done = []
    with connection.cursor() as cur:
        for record in BulkLoad.objects.order_by("id"):
            if not _claim_if_gone(cur, record):
                continue
            record_id = record.pk
            try:
                with transaction.atomic():
                    record = BulkLoad.objects.select_for_update().filter(pk=record_id).first()
                    if record is None:
                        continue  # another process restored it meanwhile
                    if not record.resumable and record.label in clear:
                        clear[record.label]()
                    restored = restore(cur, record.dropped)
                    if record.resumable or record.label in clear:
                        BulkLoad.objects.filter(pk=record_id).delete()
                    elif record.dropped:
                        BulkLoad.objects.filter(pk=record_id).update(dropped=[])
                    done.append({"label": record.label, "started_at": record.started_at.isoformat(),
                                 "restored": restored})
            except DatabaseError as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise CaseloadError("schema_restore_failed",
                                    f"cannot restore what the interrupted load {record.label!r} dropped: {reason}; "
                                    "see caseload doctor") from None
            finally:
                _unlock(cur, record_id)
    return done


class BulkLoader:
    """Context manager: indexes and foreign keys of ``tables`` are off inside, restored on exit.

    ``label`` names the load in its durable record; ``resumable`` says whether running the
    same load again completes it (an import) or its partial data must be cleared first (the
    generator). A non-resumable load's record outlives the restore: the caller deletes it with
    :meth:`finish` once everything the load writes is written, so a load killed at any point
    before that is cleared and redone by the next one."""

    def __init__(self, tables: Sequence[str], *, label: str = "bulk load", resumable: bool = True) -> None:
        self.tables = list(tables)
        self.label = label
        self.resumable = resumable
        self.dropped: list[dict] = []
        self.record_id: int | None = None
        self.restore_seconds = 0.0

    def __enter__(self) -> BulkLoader:
        from caseload.core import clock
        from caseload.core.models import BulkLoad

        restore_interrupted()
        self._sqlite_pragmas = connection.vendor == "sqlite" and not connection.in_atomic_block
        if self._sqlite_pragmas:
            with connection.cursor() as cur:
                cur.execute("PRAGMA foreign_keys = OFF")
                cur.execute("PRAGMA synchronous = OFF")
                cur.execute("PRAGMA cache_size = -262144")  # 256 MiB: unique-index inserts in random order
        with transaction.atomic(), connection.cursor() as cur:
            for table in self.tables:
                self.dropped += droppable(cur, table)
            record = BulkLoad.objects.create(label=self.label[:80], owner=_owner(), started_at=clock.now(),
                                             resumable=self.resumable, dropped=self.dropped)
            self.record_id = record.pk
            if connection.vendor == "postgresql":  # held until the load ends or the connection dies
                cur.execute("SELECT pg_advisory_lock(%s, %s)", [_LOCK_SPACE, record.pk % 2**31])
            for item in self.dropped:
                drop(cur, item)
        checkpoint("bulk.dropped")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        from caseload.core.models import BulkLoad

        started = time.perf_counter()
        checkpoint("bulk.restore")
        with transaction.atomic(), connection.cursor() as cur:
            restore(cur, self.dropped)
            if self.resumable:
                BulkLoad.objects.filter(pk=self.record_id).delete()
            else:
                BulkLoad.objects.filter(pk=self.record_id).update(dropped=[])
        if self.resumable:
            with connection.cursor() as cur:
                _unlock(cur, self.record_id)
        checkpoint("bulk.restored")
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

    def finish(self) -> None:
        """The non-resumable load is complete: delete its record (and release its lock)."""
        from caseload.core.models import BulkLoad

        checkpoint("bulk.finish")
        BulkLoad.objects.filter(pk=self.record_id).delete()
        with connection.cursor() as cur:
            _unlock(cur, self.record_id)
