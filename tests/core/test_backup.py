"""``caseload backup`` and ``caseload restore`` as real processes on databases of their own."""

from __future__ import annotations

import json

import pytest

from tests.countries.extracts import REMOVALS_HEADER, extract_text, removal, write
from tests.processes import ON_POSTGRES, caseload, ok

pytestmark = pytest.mark.slow


def test_a_restored_backup_verifies_and_answers_as_the_source(tmp_path, databases):
    source, target = databases("source", initialised=True), databases("target")
    ok(caseload(source, "generate", "--scale", "0.001", "--seed", "4", "--as-of", "2026-06-30",
                "--weights-out", str(tmp_path / "w.json")))
    extract = write(tmp_path / "r.csv.gz", extract_text(REMOVALS_HEADER, [removal(), removal(citizenship="HAITI")]))
    ok(caseload(source, "import", "ice-extract", str(extract)))
    summary = ok(caseload(source, "docket", "summary", "--format", "json"))
    counts = source.counts()
    events = source.query("SELECT count(*) FROM core_auditevent")[0][0]

    written = ok(caseload(source, "backup", "--out", str(tmp_path / "docket.backup"), "--format", "json"))
    assert written == {"file": str(tmp_path / "docket.backup"), "vendor": "postgresql" if ON_POSTGRES else "sqlite",
                       "bytes": (tmp_path / "docket.backup").stat().st_size}
    assert not (tmp_path / "docket.backup.partial").exists()

    restored = ok(caseload(target, "restore", str(tmp_path / "docket.backup"), "--format", "json"))

    assert restored["audit_events"] == events  # the backup holds the log up to the backup
    verified = ok(caseload(target, "audit", "verify", "--format", "json"))
    assert verified["ok"] is True and verified["events"] == events + 1  # plus the restore's own event
    assert ok(caseload(target, "docket", "summary", "--format", "json")) == summary
    assert target.counts() == counts
    # The same objects; PostgreSQL reprints a restored CHECK constraint's expression with its casts
    # placed differently, so definitions are compared as caseload doctor compares them.
    restored_schema, source_schema = target.schema(), source.schema()
    assert restored_schema.keys() == source_schema.keys()
    assert {k: v for k, v in restored_schema.items() if k[0] != "constraint"} == {
        k: v for k, v in source_schema.items() if k[0] != "constraint"}
    doctor = ok(caseload(target, "doctor", "--format", "json"))
    assert (doctor["ok"], doctor["differences"]) == (True, [])
    assert target.query("SELECT action FROM core_auditevent ORDER BY id DESC LIMIT 1") == [("ops.backup_restored",)]
    assert source.query("SELECT action FROM core_auditevent ORDER BY id DESC LIMIT 1") == [("ops.backup_written",)]


def test_a_restore_refuses_a_database_that_is_not_empty_and_changes_nothing(tmp_path, databases):
    source, other = databases("source", initialised=True), databases("other", initialised=True)
    ok(caseload(source, "backup", "--out", str(tmp_path / "b.backup")))
    before = other.counts(exclude=())

    refused = caseload(other, "restore", str(tmp_path / "b.backup"), "--format", "json")

    assert refused.returncode == 1
    assert json.loads(refused.stdout)["error"]["code"] == "database_not_empty"
    assert refused.stderr.startswith("error[database_not_empty]: a backup is restored into an empty database only")
    assert other.counts(exclude=()) == before


def test_backup_refuses_to_overwrite_and_restore_refuses_what_is_not_a_backup(tmp_path, databases):
    source, target = databases("source", initialised=True), databases("target")
    existing = tmp_path / "taken.backup"
    existing.write_bytes(b"keep me")
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello")

    taken = caseload(source, "backup", "--out", str(existing))
    bogus = caseload(target, "restore", str(not_a_backup))
    missing = caseload(target, "restore", str(tmp_path / "nope.backup"))

    assert (taken.returncode, taken.stderr.split("]")[0]) == (2, "error[file_exists")
    assert existing.read_bytes() == b"keep me"
    assert (bogus.returncode, bogus.stderr.split("]")[0]) == (2, "error[not_a_backup")
    assert (missing.returncode, missing.stderr.split("]")[0]) == (2, "error[file_not_found")
    assert target.counts(exclude=()) == {}  # the target stays empty


@pytest.mark.postgres_only
def test_a_sqlite_backup_is_refused_by_postgresql(tmp_path, databases):
    target = databases("target")
    sqlite_backup = tmp_path / "sqlite.backup"
    sqlite_backup.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    refused = caseload(target, "restore", str(sqlite_backup))
    assert refused.returncode == 2
    assert refused.stderr.strip() == f"error[backup_vendor_mismatch]: {sqlite_backup} is a sqlite backup; this database is postgresql"
