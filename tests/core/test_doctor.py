"""``caseload doctor``: the live schema against a scratch database the migrations build.

Each test damages the schema inside its own transaction (DDL is transactional on SQLite and on
PostgreSQL), so the damage is rolled back with the test."""

from __future__ import annotations

import json
import socket
import subprocess

import pytest
from django.db import connection, transaction
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core import audit, bulk, clock, doctor
from caseload.core.models import BulkLoad

pytestmark = pytest.mark.django_db
runner = CliRunner()
TABLE = "ingest_removalrecord"


def index_of(table: str) -> dict:
    with connection.cursor() as cur:
        return next(i for i in bulk.droppable(cur, table) if i["kind"] == "index")


def execute(sql: str) -> None:
    with connection.cursor() as cur:
        cur.execute(sql)


def dead_owner() -> str:
    child = subprocess.Popen(["true"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}"


def problems(report) -> list[tuple[str, str, str]]:
    return [(d.kind, d.name, d.problem) for d in report.differences]


def test_a_migrated_database_has_no_difference():
    report = doctor.diagnose()
    assert report.ok and report.differences == [] and report.errors == []
    assert report.counts["table"] > 50 and report.counts["index"] > 50 and report.counts["trigger"] >= 2


def test_a_dropped_index_is_reported_and_repaired():
    index = index_of(TABLE)
    execute(f"DROP INDEX {bulk.quote(index['name'])}")

    found = doctor.diagnose()
    assert problems(found) == [("index", index["name"], "missing")]
    assert found.differences[0].repairable and found.differences[0].table == TABLE and not found.ok

    repaired = doctor.diagnose(repair=True)
    assert repaired.repaired == [{"kind": "index", "name": index["name"], "problem": "missing"}]
    assert repaired.ok and repaired.differences == []
    assert index_of(TABLE)["definition"] == index["definition"]


def test_a_changed_index_is_reported_as_different_and_rebuilt():
    index = index_of(TABLE)
    execute(f"DROP INDEX {bulk.quote(index['name'])}")
    execute(f"CREATE INDEX {bulk.quote(index['name'])} ON {TABLE} (line)")
    assert problems(doctor.diagnose()) == [("index", index["name"], "different")]
    assert doctor.diagnose(repair=True).ok
    assert index_of(TABLE)["definition"] == index["definition"]


def test_an_unexpected_index_is_reported_and_left_alone():
    execute(f"CREATE INDEX doctor_extra_idx ON {TABLE} (line)")
    report = doctor.diagnose(repair=True)
    assert problems(report) == [("index", "doctor_extra_idx", "unexpected")]
    assert not report.differences[0].repairable and report.repaired == [] and not report.ok


def test_a_dropped_trigger_is_reported_and_repaired(vendor):
    name = "audit_no_update" if vendor == "sqlite" else "audit_no_update_delete"
    execute(f"DROP TRIGGER {name}" + (" ON core_auditevent" if vendor == "postgresql" else ""))
    key = name if vendor == "sqlite" else f"core_auditevent.{name}"
    assert problems(doctor.diagnose()) == [("trigger", key, "missing")]
    assert doctor.diagnose(repair=True).ok
    audit.record(action="test.event", actor_label="test")
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        execute("UPDATE core_auditevent SET action = 'x'")  # the trigger refuses again


@pytest.mark.postgres_only
def test_a_dropped_foreign_key_is_repaired_unless_orphans_block_it():
    with connection.cursor() as cur:
        fk = next(i for i in bulk.droppable(cur, TABLE) if i["kind"] == "foreign_key" and "ingest_extractfile" in i["definition"])
        bulk.drop(cur, fk)
    key = f"{TABLE}.{fk['name']}"
    assert problems(doctor.diagnose()) == [("constraint", key, "missing")]

    execute(f"INSERT INTO {TABLE} (file_id, line, office_flag, office_label, citizenship_raw, removal_date) "
            "VALUES (987654321, 1, '', '', '', '2016-03-01')")  # an orphan, possible only while the key is missing
    execute("SET CONSTRAINTS ALL IMMEDIATE")  # the other keys' deferred checks run now, as at a commit
    blocked = doctor.diagnose(repair=True)
    assert [e["name"] for e in blocked.errors] == [key] and "reference missing rows" in blocked.errors[0]["reason"]
    assert problems(blocked) == [("constraint", key, "missing")] and not blocked.ok

    execute(f"DELETE FROM {TABLE} WHERE file_id = 987654321")
    execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert doctor.diagnose(repair=True).ok


def test_an_interrupted_load_is_reported_then_restored_by_repair():
    with connection.cursor() as cur:
        dropped = bulk.droppable(cur, TABLE)
        for item in dropped:
            bulk.drop(cur, item)
    BulkLoad.objects.create(label="import:removals", owner=dead_owner(), started_at=clock.now(), dropped=dropped)

    found = doctor.diagnose()
    assert [load["label"] for load in found.interrupted_loads] == ["import:removals"]
    assert {d.name.rsplit(".", 1)[-1] for d in found.differences} == {i["name"] for i in dropped}

    repaired = doctor.diagnose(repair=True)
    assert repaired.repaired[0] == {"kind": "interrupted_load", "name": "import:removals", "restored": len(dropped)}
    assert repaired.ok and BulkLoad.objects.count() == 0


def test_a_load_whose_process_still_runs_is_left_alone(vendor):
    index = index_of(TABLE)
    with connection.cursor() as cur:
        bulk.drop(cur, index)
    record = BulkLoad.objects.create(label="import:removals", owner=f"{socket.gethostname()}:1", started_at=clock.now(),
                                     dropped=[index])  # pid 1 runs
    holder = None
    if vendor == "postgresql":  # the loader's lock, held by the loading process's own connection
        import psycopg

        settings = connection.settings_dict
        holder = psycopg.connect(host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
                                 dbname=settings["NAME"], autocommit=True)
        holder.execute("SELECT pg_advisory_lock(%s, %s)", [bulk._LOCK_SPACE, record.pk % 2**31])
    try:
        assert bulk.restore_interrupted() == []
        assert doctor.diagnose().interrupted_loads == []
        assert BulkLoad.objects.count() == 1 and problems(doctor.diagnose()) == [("index", index["name"], "missing")]
    finally:
        if holder is not None:
            holder.close()


def test_the_command_prints_one_json_document_and_exits_1_while_a_difference_remains():
    clean = runner.invoke(app, ["doctor", "--format", "json"])
    assert clean.exit_code == 0 and json.loads(clean.stdout)["ok"] is True

    index = index_of(TABLE)
    execute(f"DROP INDEX {bulk.quote(index['name'])}")
    damaged = runner.invoke(app, ["doctor", "--format", "json"])
    doc = json.loads(damaged.stdout)
    assert damaged.exit_code == 1 and doc["ok"] is False
    assert [(d["kind"], d["name"], d["problem"], d["repairable"]) for d in doc["differences"]] == [
        ("index", index["name"], "missing", True)]
    assert set(doc) == {"ok", "vendor", "counts", "differences", "interrupted_loads", "repaired", "errors"}

    fixed = runner.invoke(app, ["doctor", "--repair", "--format", "json"])
    assert fixed.exit_code == 0 and json.loads(fixed.stdout)["repaired"] == [
        {"kind": "index", "name": index["name"], "problem": "missing"}]
    text = runner.invoke(app, ["doctor"])
    assert text.exit_code == 0 and "schema matches the migrations" in text.stderr


def test_check_constraints_compare_without_the_casts_a_restore_moves():
    dumped = "CHECK (((NOT ((stage)::text = ANY ((ARRAY['pending'::character varying, 'appeal'::character varying])::text[]))) OR (final_order_date IS NULL)))"
    migrated = "CHECK (((NOT ((stage)::text = ANY (ARRAY[('pending'::character varying)::text, ('appeal'::character varying)::text]))) OR (final_order_date IS NULL)))"
    other = migrated.replace("'appeal'", "'final_order'")
    assert doctor.comparable("constraint", dumped) == doctor.comparable("constraint", migrated)
    assert doctor.comparable("constraint", other) != doctor.comparable("constraint", migrated)
    assert doctor.comparable("index", "CREATE INDEX a ON t (x)") == "CREATE INDEX a ON t (x)"
