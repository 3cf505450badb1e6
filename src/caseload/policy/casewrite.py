"""Bulk writes of computed columns to ``docket_case``: one batch path per backend, no ORM per row.

Reclassification and the reporting cadence both set a few columns on many cases and increment
each written case's ``version`` (the optimistic lock), so a stale edit of the same case is
refused rather than silently overwriting the new values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import connection

from caseload.core import bulk

BATCH = 100_000
SQLITE_CACHE_KIB = 262_144  # 256 MiB: the updated pages stay in memory until commit


def update_cases(columns: Sequence[tuple[str, str]], rows: list[tuple],
                 progress: Callable[[int, int], None] | None = None) -> int:
    """Set ``columns`` ((name, SQL type) pairs) on the cases given as (id, value, …) rows; bump their version.

    Call inside a transaction. SQLite: ``executemany`` of one UPDATE by primary key, in batches,
    with a larger page cache. PostgreSQL: ``COPY`` into a temporary table, then one
    ``UPDATE … FROM``.
    """
    if not rows:
        return 0
    names = [name for name, _ in columns]
    if connection.vendor == "postgresql":
        definition = ", ".join(f"{bulk.quote(n)} {sql_type}" for n, sql_type in columns)
        assignments = ", ".join(f"{bulk.quote(n)} = u.{bulk.quote(n)}" for n in names)
        with connection.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE policy_case_update (id bigint PRIMARY KEY, {definition}) ON COMMIT DROP")
            bulk.insert_rows("policy_case_update", ["id", *names], rows)
            cur.execute("ANALYZE policy_case_update")
            cur.execute(f"UPDATE docket_case SET {assignments}, version = docket_case.version + 1 "
                        "FROM policy_case_update u WHERE docket_case.id = u.id")
            cur.execute("DROP TABLE policy_case_update")
        if progress:
            progress(len(rows), len(rows))
        return len(rows)
    assignments = ", ".join(f"{bulk.quote(n)} = ?" for n in names)
    sql = f"UPDATE docket_case SET {assignments}, version = version + 1 WHERE id = ?"
    raw = bulk.raw_connection()
    previous = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        for start in range(0, len(rows), BATCH):
            raw.executemany(sql, ((*row[1:], row[0]) for row in rows[start:start + BATCH]))
            if progress:
                progress(min(start + BATCH, len(rows)), len(rows))
    finally:
        raw.execute(f"PRAGMA cache_size = {int(previous)}")
    return len(rows)
