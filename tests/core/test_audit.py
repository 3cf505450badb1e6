"""The audit log: a keyed hash chain that a hostile insider cannot forge, rewrite or shorten
without detection, and append-only against every statement form. Each test runs on SQLite and
on PostgreSQL."""

import datetime as dt
import hashlib
import json

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from caseload.core import audit
from caseload.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def earlier():
    """The log as the test found it: events other tests committed (e.g. with real concurrent
    transactions on PostgreSQL) may precede the test's own; the assertions count from here."""
    tail = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    return {"count": AuditEvent.objects.count(), "tail": tail or audit.GENESIS}


def _events(n: int) -> list[AuditEvent]:
    return [audit.record(action="case.read", actor_label="tester", object_type="case", object_id=i,
                         details={"i": i, "note": "ü"}) for i in range(n)]


def _drop_guards() -> None:
    """What an intruder with the database owner's rights could do: remove the triggers."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            for name in ("audit_no_update", "audit_no_delete", "audit_no_replace"):
                cur.execute(f"DROP TRIGGER IF EXISTS {name}")
        else:
            cur.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")


def _run(sql: str, params: list) -> None:
    with connection.cursor() as cur:
        cur.execute(sql, params)


def _problems(result) -> dict[int, str]:
    return {p["id"]: p["problem"].split(":")[0] for p in result.problems}


def _insert_raw(*, prev: str, digest: str, action: str = "case.read", details: dict | None = None) -> None:
    _run("INSERT INTO core_auditevent (occurred_at, actor_label, action, object_type, object_id, details, prev_hash, hash) "
         "VALUES (%s, %s, %s, '', '', %s, %s, %s)",
         [dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "intruder", action, json.dumps(details or {}), prev, digest])


def _fields_of(event_id: int) -> dict:
    e = AuditEvent.objects.get(pk=event_id)
    return dict(occurred_at=e.occurred_at, actor_id=e.actor_id, actor_label=e.actor_label, action=e.action,
                object_type=e.object_type, object_id=e.object_id, office_id=e.office_id, details=e.details)


def test_chain_links_each_event_to_the_previous(earlier):
    events = _events(3)
    assert events[0].prev_hash == earlier["tail"]
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert len({e.hash for e in events}) == 3


def test_verify_passes_on_an_untouched_chain(earlier):
    _events(5)
    result = audit.verify(batch=2)  # several keyset pages
    n = earlier["count"] + 5
    assert result.ok and result.events == n and result.problems == []
    assert result.as_dict() == {"ok": True, "events": n, "problems": []}


def test_the_hash_is_keyed(earlier):
    event = _events(1)[0]
    fields = _fields_of(event.pk)
    assert audit.event_hash(earlier["tail"], **fields) == event.hash
    with override_settings(AUDIT_KEY="another key"):
        assert audit.event_hash(earlier["tail"], **fields) != event.hash


@pytest.mark.parametrize("sql", [
    "UPDATE core_auditevent SET action = 'x' WHERE id = %s",
    "DELETE FROM core_auditevent WHERE id = %s",
])
def test_update_and_delete_are_refused_by_the_database(sql):
    event = _events(1)[0]
    with pytest.raises(DatabaseError), transaction.atomic():
        _run(sql, [event.id])
    assert AuditEvent.objects.get(pk=event.pk).action == "case.read"


def test_a_rewrite_by_insert_is_refused(vendor, earlier):
    """SQLite's INSERT OR REPLACE and an UPSERT (both databases) cannot replace an event."""
    event = _events(2)[0]
    statements = ["INSERT INTO core_auditevent (id, occurred_at, actor_label, action, object_type, object_id, details, prev_hash, hash) "
                  "VALUES (%s, %s, 'x', 'forged', '', '', '{}', %s, %s) "
                  "ON CONFLICT (id) DO UPDATE SET action = excluded.action"]
    if vendor == "sqlite":
        statements += ["INSERT OR REPLACE INTO core_auditevent (id, occurred_at, actor_label, action, object_type, object_id, details, prev_hash, hash) "
                       "VALUES (%s, %s, 'x', 'forged', '', '', '{}', %s, %s)",
                       "REPLACE INTO core_auditevent (id, occurred_at, actor_label, action, object_type, object_id, details, prev_hash, hash) "
                       "VALUES (%s, %s, 'x', 'forged', '', '', '{}', %s, %s)"]
    for sql in statements:
        with pytest.raises(DatabaseError), transaction.atomic():
            _run(sql, [event.id, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), event.prev_hash, "f" * 64])
    assert AuditEvent.objects.get(pk=event.pk).action == "case.read"
    assert AuditEvent.objects.count() == earlier["count"] + 2 and audit.verify().ok


@pytest.mark.postgres_only  # TRUNCATE is a PostgreSQL statement
def test_truncate_is_refused(vendor, earlier):
    _events(2)
    with pytest.raises(DatabaseError), transaction.atomic():
        _run("TRUNCATE core_auditevent", [])
    assert AuditEvent.objects.count() == earlier["count"] + 2


def test_orm_refuses_to_save_an_existing_event():
    event = _events(1)[0]
    event.action = "changed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


def test_an_altered_payload_is_detected():
    events = _events(4)
    _drop_guards()
    _run("UPDATE core_auditevent SET details = %s WHERE id = %s", ['{"i": 99}', events[2].id])
    result = audit.verify()
    assert not result.ok and _problems(result) == {events[2].id: "altered"}


def test_a_deleted_middle_row_is_detected(earlier):
    events = _events(4)
    _drop_guards()
    _run("DELETE FROM core_auditevent WHERE id = %s", [events[1].id])
    result = audit.verify()
    assert _problems(result) == {events[2].id: "broken_link"} and result.events == earlier["count"] + 3


def test_a_deleted_tail_is_detected_with_a_checkpoint(earlier):
    events = _events(5)
    point = audit.checkpoint()
    assert point["events"] == earlier["count"] + 5 and point["last_id"] == events[-1].id and point["head"] == events[-1].hash
    assert audit.verify(checkpoint=point).ok
    _drop_guards()
    _run("DELETE FROM core_auditevent WHERE id >= %s", [events[3].id])
    assert audit.verify().ok, "without a checkpoint a shortened chain is still a valid chain"
    result = audit.verify(checkpoint=point)
    assert not result.ok and _problems(result) == {events[-1].id: "truncated"}


def test_events_added_after_a_checkpoint_still_verify_against_it():
    _events(3)
    point = audit.checkpoint()
    _events(2)
    assert audit.verify(checkpoint=point).ok


def test_a_checkpoint_not_signed_with_the_key_is_refused():
    _events(2)
    point = audit.checkpoint()
    forged = {**point, "events": 1}
    result = audit.verify(checkpoint=forged)
    assert not result.ok and list(_problems(result).values()) == ["bad_checkpoint"]
    with override_settings(AUDIT_KEY="another key"):
        assert not audit.verify(checkpoint=point).ok


@pytest.mark.parametrize("forge", ["unkeyed", "wrong_key"])
def test_a_forged_row_appended_is_detected(forge):
    events = _events(3)
    fields = dict(occurred_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), actor_id=None, actor_label="intruder",
                  action="case.read", object_type="", object_id="", office_id=None, details={})
    payload = json.dumps({"prev": events[-1].hash, "at": "2026-01-01T00:00:00.000000Z", "actor_id": None,
                          "actor": "intruder", "action": "case.read", "object_type": "", "object_id": "",
                          "office_id": None, "details": {}}, sort_keys=True, separators=(",", ":"))
    if forge == "unkeyed":
        digest = hashlib.sha256(payload.encode()).hexdigest()
    else:
        with override_settings(AUDIT_KEY="a guessed key"):
            digest = audit.event_hash(events[-1].hash, **fields)
    _insert_raw(prev=events[-1].hash, digest=digest)
    forged_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    assert _problems(audit.verify()) == {forged_id: "altered"}


def test_a_rechained_rewrite_without_the_key_is_detected():
    """An intruder rewrites event 2 and recomputes every later hash, with plain SHA-256."""
    events = _events(4)
    _drop_guards()
    prev = events[0].hash
    for e in events[1:]:
        fields = _fields_of(e.pk)
        if e.pk == events[1].pk:
            fields["details"] = {"i": 1, "note": "rewritten"}
        body = json.dumps({"prev": prev, "at": fields["occurred_at"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                           "actor_id": fields["actor_id"], "actor": fields["actor_label"], "action": fields["action"],
                           "object_type": fields["object_type"], "object_id": fields["object_id"],
                           "office_id": fields["office_id"], "details": fields["details"]},
                          sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(body.encode()).hexdigest()
        _run("UPDATE core_auditevent SET details = %s, prev_hash = %s, hash = %s WHERE id = %s",
             [json.dumps(fields["details"]), prev, digest, e.pk])
        prev = digest
    result = audit.verify()
    assert set(_problems(result)) == {e.pk for e in events[1:]}
    assert set(_problems(result).values()) == {"altered"}


def test_an_event_needs_an_actor():
    with pytest.raises(ValueError):
        audit.record(action="case.read")


def test_record_many_continues_the_chain():
    first = _events(1)[0]
    assert audit.record_many([{"action": "case.moved", "object_type": "case", "object_id": i, "details": {"i": i}}
                              for i in range(3)], actor_label="tester") == 3
    events = list(AuditEvent.objects.filter(id__gte=first.id).order_by("id"))
    assert events[1].prev_hash == first.hash and events[3].prev_hash == events[2].hash
    assert audit.verify().ok


def test_a_read_lists_cases_and_a_numbers_in_one_event():
    event = audit.record_read(action="case.list", via="docket list", case_ids=[3, 4], a_numbers=["123456789", "987654321"])
    assert event.actor_label == "cli:docket list" and event.details["cases"] == [3, 4]
    assert event.details["a_numbers"] == ["123456789", "987654321"] and "os_user" in event.details
    assert [r["via"].split(" (")[0] for r in audit.who_read("A123-456-789")] == ["docket list"]
    assert audit.who_read("A111-111-111") == []
    with pytest.raises(ValueError):
        audit.record_read(action="case.changed", via="x")
