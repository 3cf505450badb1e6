"""Write and verify the keyed, hash-chained audit log.

Each event's hash is HMAC-SHA256, keyed with ``CASELOAD_AUDIT_KEY``, over the previous event's
hash and a canonical JSON form of the event's own fields. Without the key nobody can write a
row, or re-chain altered rows, that verifies. Appends are serialised (an advisory lock on
PostgreSQL, SQLite's single writer) so the chain never forks. A *checkpoint* is the chain's
head signed with the key, kept outside the database, so rows removed from the end are found.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

from django.conf import settings
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
    return hmac.new(_key(), payload.encode(), hashlib.sha256).hexdigest()


def _key() -> bytes:
    return settings.AUDIT_KEY.encode()


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


@dataclass
class VerifyResult:
    events: int
    problems: list

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"ok": self.ok, "events": self.events, "problems": self.problems}


MAX_PROBLEMS = 1000


def verify(*, checkpoint: dict | None = None, batch: int = 5000) -> VerifyResult:
    """Recompute the whole chain in id order and list every event that does not match.

    Each problem is ``{"id", "problem"}``: ``altered`` (content does not match its keyed hash:
    changed, forged without the key, or re-chained without it), ``broken_link`` (its ``prev_hash``
    is not the preceding row's hash: a row before it was removed or reordered). With a
    ``checkpoint`` (see :func:`checkpoint`) it also finds rows removed after it was taken
    (``truncated``), and a checkpoint that was not signed with this key (``bad_checkpoint``)."""
    problems: list[dict] = []

    def problem(pk, text):
        if len(problems) < MAX_PROBLEMS:
            problems.append({"id": pk, "problem": text})

    checkpoint_found = False
    if checkpoint is not None and not checkpoint_is_signed(checkpoint):
        problem(checkpoint.get("last_id"), "bad_checkpoint: its signature does not match this audit key")
        checkpoint = None
    prev = GENESIS
    last_id = 0
    count = 0
    fields = ("id", "occurred_at", "actor_id", "actor_label", "action", "object_type", "object_id",
              "office_id", "details", "prev_hash", "hash")
    while True:
        rows = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id").values_list(*fields)[:batch])
        if not rows:
            break
        for (pk, occurred_at, actor_id, actor_label, action, object_type, object_id, office_id,
             details, prev_hash, stored_hash) in rows:
            count += 1
            if prev_hash != prev:
                problem(pk, "broken_link: prev_hash does not match the preceding event (an event was removed or reordered)")
            expected = event_hash(prev_hash, occurred_at=occurred_at, actor_id=actor_id, actor_label=actor_label,
                                  action=action, object_type=object_type, object_id=object_id,
                                  office_id=office_id, details=details)
            if not hmac.compare_digest(expected, stored_hash):
                problem(pk, "altered: content does not match its keyed hash (changed, or written without the audit key)")
            if checkpoint is not None and pk == checkpoint["last_id"]:
                checkpoint_found = True
                if stored_hash != checkpoint["head"]:
                    problem(pk, "checkpoint_mismatch: this event's hash is not the checkpoint's head")
                if count != checkpoint["events"]:
                    problem(pk, f"checkpoint_count: {count} events up to here, the checkpoint counted {checkpoint['events']}")
            prev = stored_hash
            last_id = pk
    if checkpoint is not None and not checkpoint_found:
        problem(checkpoint["last_id"], f"truncated: the checkpoint's last event #{checkpoint['last_id']} is missing "
                                       f"(events at or before it were removed; {count} events remain)")
    return VerifyResult(events=count, problems=problems)


def _signature(doc: dict) -> str:
    body = json.dumps({k: doc[k] for k in ("events", "last_id", "head", "at")}, sort_keys=True, separators=(",", ":"))
    return hmac.new(_key(), b"checkpoint:" + body.encode(), hashlib.sha256).hexdigest()


def checkpoint() -> dict:
    """The chain's head now, signed with the audit key: ``{"events", "last_id", "head", "at",
    "signature"}``. Keep it outside the database (printed, mailed, another system); a later
    ``verify`` against it detects removal of any event up to ``last_id``."""
    with transaction.atomic():
        _lock_tail()
        last = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
        events = AuditEvent.objects.count()
    doc = {"events": events, "last_id": last[0] if last else 0, "head": last[1] if last else GENESIS,
           "at": _canonical_time(clock.now())}
    return {**doc, "signature": _signature(doc)}


def checkpoint_is_signed(doc: dict) -> bool:
    try:
        return hmac.compare_digest(_signature(doc), str(doc.get("signature", "")))
    except (KeyError, TypeError):
        return False


READ_ACTIONS = ("case.read", "case.list")


def record_read(*, action: str, via: str, actor=None, actor_label: str | None = None,
                case_ids=(), a_numbers=(), office_id: int | None = None, **extra) -> AuditEvent:
    """Record that a user or process was shown people's records: one event per page, export or
    command, listing the case ids and A-numbers shown (``case.read`` for one record, ``case.list``
    for a list). ``via`` names the route or command, e.g. ``/cases/12/`` or ``worklist``.

    A command-line read is recorded as ``cli:<command>`` with the operating-system user."""
    if action not in READ_ACTIONS:
        raise ValueError(f"a read is one of {READ_ACTIONS}, got {action!r}")
    details: dict = {**extra, "via": via, "cases": [int(c) for c in case_ids], "a_numbers": [str(a) for a in a_numbers]}
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


def _period(qs, start: dt.date | None, end: dt.date | None):
    if start:
        qs = qs.filter(occurred_at__date__gte=start)
    if end:
        qs = qs.filter(occurred_at__date__lte=end)
    return qs


def _via(details: dict) -> str:
    via = details.get("via", "")
    return f"{via} (os user {details['os_user']})" if details.get("os_user") else via


def _mentioning(qs, text: str):
    """Events whose details mention ``text`` (a cheap text filter; callers check the exact field)."""
    from django.db.models import TextField
    from django.db.models.functions import Cast

    return qs.annotate(details_text=Cast("details", TextField())).filter(details_text__contains=text)


PAGE_SIZE = 100


def search_events(*, actor: str = "", action: str = "", a_number: str = "", start: dt.date | None = None,
                  end: dt.date | None = None, before: int | None = None, limit: int = PAGE_SIZE) -> dict:
    """One keyset page of events, newest first, filtered by actor label, action (exact, or a
    prefix ending in '.'), an A-number the event names, and a date range."""
    qs = _period(AuditEvent.objects.all(), start, end)
    if actor:
        qs = qs.filter(actor_label=actor)
    if action:
        qs = qs.filter(action__startswith=action) if action.endswith(".") else qs.filter(action=action)
    digits = ""
    if a_number:
        from caseload.docket import anumber

        digits = anumber.check(a_number)
        qs = _mentioning(qs, digits)
    if before:
        qs = qs.filter(id__lt=before)
    rows = []
    for event in qs.order_by("-id")[: limit + 1 if not digits else None].iterator(chunk_size=1000):
        if digits and digits not in event.details.get("a_numbers", ()) and event.object_id != digits:
            continue
        rows.append(event)
        if len(rows) > limit:
            break
    more = len(rows) > limit
    rows = rows[:limit]
    return {"events": rows, "next_before": rows[-1].pk if more and rows else None}


def who_read(a_number: str, *, start: dt.date | None = None, end: dt.date | None = None) -> list[dict]:
    """Every audited read that showed this person: ``[{"at", "actor", "action", "via"}]``, oldest first."""
    from caseload.docket import anumber

    digits = anumber.check(a_number)
    qs = _mentioning(_period(AuditEvent.objects.filter(action__in=READ_ACTIONS), start, end), digits).order_by("id")
    out = []
    for at, actor, action, details in qs.values_list("occurred_at", "actor_label", "action", "details").iterator(chunk_size=5000):
        if digits in (details or {}).get("a_numbers", ()):
            out.append({"at": at.isoformat(), "actor": actor, "action": action, "via": _via(details)})
    return out


def activity(username: str, *, start: dt.date | None = None, end: dt.date | None = None, limit: int = 10_000) -> list[dict]:
    """What one user read and changed: ``[{"at", "action", "object_type", "object_id", "via", "cases"}]``."""
    qs = _period(AuditEvent.objects.filter(actor_label=username), start, end).order_by("id")
    return [{"id": pk, "at": at.isoformat(), "action": action, "object_type": otype, "object_id": oid,
             "via": _via(details or {}), "cases": len((details or {}).get("cases", ()))}
            for pk, at, action, otype, oid, details in
            qs.values_list("id", "occurred_at", "action", "object_type", "object_id", "details")[:limit]]


def known_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())
