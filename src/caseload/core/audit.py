"""Write and verify the hash-chained audit log.

Each event's hash is SHA-256 over the previous event's hash and a canonical JSON form of the
event's own fields. Appends are serialised (an advisory lock on PostgreSQL, SQLite's single
writer) so the chain never forks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.db import connection, transaction

from caseload.core import clock
from caseload.core.models import AuditEvent

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x6361_7365  # "case": one advisory lock guards the chain's tail


def _canonical_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(prev_hash: str, *, occurred_at: dt.datetime, actor_id: int | None, actor_label: str,
               action: str, object_type: str, object_id: str, office_id: int | None, details: dict) -> str:
    payload = json.dumps(
        {
            "prev": prev_hash,
            "at": _canonical_time(occurred_at),
            "actor_id": actor_id,
            "actor": actor_label,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "office_id": office_id,
            "details": details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _lock_tail() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])


def record(*, action: str, actor=None, actor_label: str | None = None, object_type: str = "",
           object_id: object = "", office_id: int | None = None, details: dict | None = None) -> AuditEvent:
    """Append one event. Call inside the transaction that makes the change it records."""
    if actor is None and not actor_label:
        raise ValueError("an audit event needs an actor or an actor_label")
    label = actor_label or actor.get_username()
    # Round-trip through JSON so the hashed form is exactly what the database returns later.
    clean_details = json.loads(json.dumps(details or {}, default=str, sort_keys=True))
    occurred_at = clock.now().astimezone(dt.UTC)
    with transaction.atomic():
        _lock_tail()
        prev = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS
        fields = dict(
            occurred_at=occurred_at,
            actor_id=actor.pk if actor is not None else None,
            actor_label=label,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            office_id=office_id,
            details=clean_details,
        )
        event = AuditEvent(prev_hash=prev, hash=event_hash(prev, **fields), **fields)
        event.save()
    return event


def record_many(events: list[dict], *, actor=None, actor_label: str | None = None) -> int:
    """Append several events (each a dict of ``record``'s keyword arguments other than the actor)
    under one lock and one bulk insert: for changes that touch many objects at once."""
    if not events:
        return 0
    if actor is None and not actor_label:
        raise ValueError("audit events need an actor or an actor_label")
    label = actor_label or actor.get_username()
    occurred_at = clock.now().astimezone(dt.UTC)
    with transaction.atomic():
        _lock_tail()
        prev = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS
        rows = []
        for spec in events:
            fields = dict(
                occurred_at=occurred_at,
                actor_id=actor.pk if actor is not None else None,
                actor_label=label,
                action=spec["action"],
                object_type=spec.get("object_type", ""),
                object_id=str(spec.get("object_id", "")),
                office_id=spec.get("office_id"),
                details=json.loads(json.dumps(spec.get("details") or {}, default=str, sort_keys=True)),
            )
            digest = event_hash(prev, **fields)
            rows.append(AuditEvent(prev_hash=prev, hash=digest, **fields))
            prev = digest
        AuditEvent.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


@dataclass(frozen=True)
class VerifyResult:
    events: int
    ok: bool
    first_bad_id: int | None = None
    reason: str = ""

    def as_dict(self) -> dict:
        return {"events": self.events, "ok": self.ok, "first_bad_id": self.first_bad_id, "reason": self.reason}


def verify(batch: int = 5000) -> VerifyResult:
    """Recompute the whole chain in id order; report the first event that does not match."""
    prev = GENESIS
    last_id = 0
    count = 0
    fields = ("id", "occurred_at", "actor_id", "actor_label", "action", "object_type", "object_id",
              "office_id", "details", "prev_hash", "hash")
    while True:
        rows = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id").values_list(*fields)[:batch])
        if not rows:
            return VerifyResult(events=count, ok=True)
        for (pk, occurred_at, actor_id, actor_label, action, object_type, object_id, office_id,
             details, prev_hash, stored_hash) in rows:
            count += 1
            if prev_hash != prev:
                return VerifyResult(count, False, pk, "prev_hash does not match the preceding event (row removed or reordered)")
            expected = event_hash(prev, occurred_at=occurred_at, actor_id=actor_id, actor_label=actor_label,
                                  action=action, object_type=object_type, object_id=object_id,
                                  office_id=office_id, details=details)
            if expected != stored_hash:
                return VerifyResult(count, False, pk, "content does not match its hash (row altered)")
            prev = stored_hash
            last_id = pk


READ_ACTIONS = ("case.read", "case.list")


def record_read(*, action: str, via: str, actor=None, actor_label: str | None = None,
                case_ids=(), a_numbers=(), office_id: int | None = None) -> AuditEvent:
    """Record that a user or process was shown people's records: one event per page, export or
    command, listing the case ids and A-numbers shown (``case.read`` for one record, ``case.list``
    for a list). ``via`` names the route or command, e.g. ``/cases/12/`` or ``worklist``.

    A command-line read is recorded as ``cli:<command>`` with the operating-system user."""
    if action not in READ_ACTIONS:
        raise ValueError(f"a read is one of {READ_ACTIONS}, got {action!r}")
    details: dict = {"via": via, "cases": [int(c) for c in case_ids], "a_numbers": [str(a) for a in a_numbers]}
    if actor is None:
        import getpass

        actor_label = actor_label or f"cli:{via}"
        try:
            details["os_user"] = getpass.getuser()
        except (KeyError, OSError):
            details["os_user"] = ""
    object_id = details["a_numbers"][0] if action == "case.read" and len(details["a_numbers"]) == 1 else ""
    return record(action=action, actor=actor, actor_label=actor_label, object_type="person" if object_id else "",
                  object_id=object_id, office_id=office_id, details=details)
