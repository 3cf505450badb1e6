"""Kill ``caseload generate`` (SIGKILL, no clean-up) at named points of the bulk load, then run
it again: the counts equal an uninterrupted generation's, the schema a fresh database's, and no
row references a missing row. Processes and schema reads as in ``test_kill_import.py``."""

from __future__ import annotations

import pytest

from tests.processes import caseload, ok

pytestmark = pytest.mark.slow


# --- the tests ----------------------------------------------------------------------------------

# indexes dropped; a batch in progress; everything inserted; restored but the load's record kept; the last step
GENERATE_POINTS = ["bulk.dropped", "bulk.insert:40", "bulk.restore", "bulk.restored", "bulk.finish"]
GENERATE = ("generate", "--scale", "0.001", "--seed", "3", "--as-of", "2026-06-30")


def test_generate_killed_at_each_point_then_run_again(tmp_path, databases):
    fresh, db = databases("fresh", initialised=True), databases("generate", initialised=True)
    expected_schema = fresh.schema()
    keys = fresh.foreign_keys()
    reference = ok(caseload(fresh, *GENERATE, "--weights-out", str(tmp_path / "w0.json"), "--format", "json"))
    expected_counts = fresh.counts()
    assert expected_counts["docket_case"] == reference["cases"] == 2_200
    damaged = []

    for n, point in enumerate(GENERATE_POINTS):
        weights = str(tmp_path / f"w{n + 1}.json")
        caseload(db, *GENERATE, *(["--replace"] if n else []), "--weights-out", weights, kill=point)
        damaged += [point] if db.schema() != expected_schema else []
        # The same command without --replace: the interrupted generation is cleared and done again.
        again = ok(caseload(db, *GENERATE, "--weights-out", weights, "--format", "json"))

        assert {k: v for k, v in again.items() if k != "seconds"} == {k: v for k, v in reference.items() if k != "seconds"}
        assert db.counts() == expected_counts, point
        assert db.schema() == expected_schema, point
        assert db.orphans(keys) == {}, point
        assert db.query("SELECT count(*) FROM core_bulkload") == [(0,)], point

    assert damaged == ["bulk.dropped", "bulk.insert:40", "bulk.restore"]  # killed before the indexes came back
    refused = caseload(db, *GENERATE)  # a complete docket is not replaced without --replace
    assert refused.returncode == 1 and "database_not_empty" in refused.stderr
