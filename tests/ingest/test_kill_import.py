"""Kill ``caseload import ice-extract`` (SIGKILL, no clean-up) at named points of the bulk load, then
run the same command again: the counts are exact, the schema is identical to a freshly
initialised database's and no row references a missing row.

The processes are real ``caseload`` processes on a database of their own (a SQLite file, or a
new PostgreSQL database on the test server); ``CASELOAD_KILL_AT`` makes a process kill itself at
a point (``caseload.core.bulk.checkpoint``). The schema is read here with plain catalogue
queries, independently of ``caseload doctor``.
"""

from __future__ import annotations

import pytest

from tests.countries.extracts import REMOVALS_HEADER, extract_text, removal, write
from tests.processes import caseload, ok

pytestmark = pytest.mark.slow
BATCH = 1_000  # CASELOAD_BULK_BATCH_ROWS of the imports here: rows per transaction, and the size from which indexes are dropped
ROWS = 2 * BATCH + 1  # three batches


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
    fresh, db = databases("fresh", initialised=True), databases("import", initialised=True)
    expected_schema = fresh.schema()
    keys = fresh.foreign_keys()
    assert db.schema() == expected_schema and any(t == "ingest_removalrecord" for t, *_ in keys)
    damaged = []

    for n, (point, repair) in enumerate(IMPORT_POINTS):
        rows = [removal(removed=f"{1 + i % 12}/{1 + i % 28}/2016") for i in range(ROWS)]
        path = write(tmp_path / f"removals_{n}.csv.gz", extract_text(REMOVALS_HEADER, rows, title=f"ICE Removals FY2016 #{n}"))

        caseload(db, "import", "ice-extract", str(path), kill=point, batch_rows=BATCH)
        damaged += [point] if db.schema() != expected_schema else []
        if repair == "init":
            ok(caseload(db, "init"))
            assert db.schema() == expected_schema, point
        again = ok(caseload(db, "import", "ice-extract", str(path), "--format", "json", batch_rows=BATCH))

        assert again[0]["rows"] == ROWS and again[0]["imported"] + again[0]["duplicates"] == ROWS, point
        assert db.schema() == expected_schema, point
        assert db.orphans(keys) == {}, point
        assert db.query("SELECT count(*) FROM ingest_removalrecord")[0][0] == ROWS * (n + 1), point
        assert db.query("SELECT count(*), sum(rows) FROM ingest_extractfile") == [(n + 1, ROWS * (n + 1))], point
        assert db.query("SELECT count(*) FROM core_bulkload") == [(0,)], point

    # The kills before the restore left the schema damaged: the checks above are not vacuous.
    assert damaged == [point for point, _ in IMPORT_POINTS if point != "bulk.restored"]
    report = ok(caseload(db, "doctor", "--format", "json"))
    assert (report["ok"], report["differences"], report["interrupted_loads"]) == (True, [], [])
