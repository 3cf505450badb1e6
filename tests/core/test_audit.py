import pytest
from django.db import DatabaseError, connection, transaction

from caseload.core import audit
from caseload.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _events(n: int) -> list[AuditEvent]:
    return [audit.record(action="case.read", actor_label="tester", object_type="case", object_id=i,
                         details={"i": i, "note": "ü"}) for i in range(n)]


def _bypass_triggers_and_run(sql: str, params: list) -> None:
    """What an intruder with database access could do: disable the guard, change a row."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("DROP TRIGGER audit_no_update")
            cur.execute("DROP TRIGGER audit_no_delete")
        else:
            cur.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        cur.execute(sql, params)


def test_chain_links_each_event_to_the_previous():
    events = _events(3)
    assert events[0].prev_hash == audit.GENESIS
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert len({e.hash for e in events}) == 3


def test_verify_passes_on_an_untouched_chain():
    _events(5)
    result = audit.verify(batch=2)  # several keyset pages
    assert result.ok and result.events == 5 and result.first_bad_id is None


def test_update_and_delete_are_refused_by_the_database():
    event = _events(1)[0]
    for sql in ("UPDATE core_auditevent SET action = 'x' WHERE id = %s", "DELETE FROM core_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [event.id])
    assert AuditEvent.objects.get(pk=event.pk).action == "case.read"


def test_orm_refuses_to_save_an_existing_event():
    event = _events(1)[0]
    event.action = "changed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


def test_altered_row_is_detected():
    events = _events(4)
    _bypass_triggers_and_run("UPDATE core_auditevent SET details = %s WHERE id = %s", ['{"i": 99}', events[2].id])
    result = audit.verify()
    assert not result.ok
    assert result.first_bad_id == events[2].id
    assert "altered" in result.reason


def test_removed_row_is_detected():
    events = _events(4)
    _bypass_triggers_and_run("DELETE FROM core_auditevent WHERE id = %s", [events[1].id])
    result = audit.verify()
    assert not result.ok and result.first_bad_id == events[2].id
    assert "removed" in result.reason


def test_an_event_needs_an_actor():
    with pytest.raises(ValueError):
        audit.record(action="case.read")


def test_record_many_continues_the_chain():
    first = _events(1)[0]
    assert audit.record_many([{"action": "case.moved", "object_type": "case", "object_id": i, "details": {"i": i}}
                              for i in range(3)], actor_label="tester") == 3
    events = list(AuditEvent.objects.order_by("id"))
    assert events[1].prev_hash == first.hash and events[3].prev_hash == events[2].hash
    assert audit.verify().ok
