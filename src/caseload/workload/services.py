"""The time log: recording officers' minutes, correcting them, and summarising them.

Every officer action recorded through the docket services writes a time-log entry in the
same transaction (:func:`log_minutes`); collateral duties, which belong to no case, are
recorded with :func:`do_record_time`. The staffing model reads these rows. See
docs/workload-capture.md.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Count, Q, Sum

from caseload.core import audit, clock
from caseload.core.errors import NotFound, UsageError
from caseload.offices.models import FieldOffice, Officer
from caseload.offices.services import access_office
from caseload.workload.activities import Activity, activities
from caseload.workload.models import TimeLogEntry

MAX_MINUTES = 1440  # one entry covers at most a day (the table's check constraint)


def access_activity(code: str) -> Activity:
    try:
        return activities()[code]
    except KeyError:
        raise UsageError("unknown_activity", f"no activity type {code!r}; known: {', '.join(activities())}") from None


def check_minutes(minutes: int) -> None:
    if not 1 <= minutes <= MAX_MINUTES:
        raise UsageError("invalid_minutes", f"minutes must be between 1 and {MAX_MINUTES}, got {minutes}")


def log_minutes(*, officer: Officer, activity: str, case=None, minutes: int | None = None,
                started_at: dt.datetime | None = None) -> TimeLogEntry:
    """Write one entry without an audit event: the caller's action (audited in the same
    transaction) is what it records. ``minutes=None`` takes the activity's default."""
    spec = access_activity(activity)
    if spec.collateral and case is not None:
        raise UsageError("collateral_has_no_case", f"{activity} is a collateral duty: it is recorded without a case")
    if not spec.collateral and case is None:
        raise UsageError("case_required", f"{activity} is case work: name the case")
    used_default = minutes is None
    minutes = spec.default_minutes if used_default else minutes
    check_minutes(minutes)
    return TimeLogEntry.objects.create(
        officer=officer, office_id=officer.office_id, case=case, activity=activity,
        started_at=started_at or clock.now(), minutes=minutes, default_minutes_used=used_default)


def access_officer(officer_id: int) -> Officer:
    try:
        return Officer.objects.get(pk=officer_id)
    except Officer.DoesNotExist:
        raise NotFound("unknown_officer", f"no officer with id {officer_id}") from None


def do_record_time(*, officer: Officer, activity: str, minutes: int | None = None, case=None,
                   started_at: dt.datetime | None = None, actor=None, actor_label: str | None = None) -> TimeLogEntry:
    """Record minutes an officer spent, on a case or (collateral duties) on none."""
    with transaction.atomic():
        entry = log_minutes(officer=officer, activity=activity, case=case, minutes=minutes, started_at=started_at)
        audit.record(action="timelog.recorded", actor=actor, actor_label=actor_label, object_type="timelogentry",
                     object_id=entry.pk, office_id=entry.office_id,
                     details={"officer": officer.pk, "activity": activity, "case": case.pk if case else None,
                              "minutes": entry.minutes, "default_minutes_used": entry.default_minutes_used})
    return entry


def do_correct_minutes(*, entry_id: int, minutes: int, reason: str, actor=None, actor_label: str | None = None) -> TimeLogEntry:
    """Change an entry's minutes (the default was kept, or the time was mistyped), with a reason."""
    check_minutes(minutes)
    if not reason.strip():
        raise UsageError("reason_required", "a correction needs a reason")
    with transaction.atomic():
        try:
            entry = TimeLogEntry.objects.select_for_update().get(pk=entry_id)
        except TimeLogEntry.DoesNotExist:
            raise NotFound("unknown_time_entry", f"no time-log entry with id {entry_id}") from None
        before = entry.minutes
        TimeLogEntry.objects.filter(pk=entry.pk).update(minutes=minutes, default_minutes_used=False)
        entry.minutes, entry.default_minutes_used = minutes, False
        audit.record(action="timelog.corrected", actor=actor, actor_label=actor_label, object_type="timelogentry",
                     object_id=entry.pk, office_id=entry.office_id,
                     details={"minutes_before": before, "minutes": minutes, "reason": reason.strip()})
    return entry


def _period(date_from: dt.date | None, date_to: dt.date | None) -> Q:
    """Entries started on date_from .. date_to inclusive (UTC days)."""
    if date_from and date_to and date_from > date_to:
        raise UsageError("invalid_period", f"--from {date_from} is after --to {date_to}")
    q = Q()
    if date_from:
        q &= Q(started_at__gte=dt.datetime.combine(date_from, dt.time(), tzinfo=dt.UTC))
    if date_to:
        q &= Q(started_at__lt=dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC))
    return q


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def timelog_summary(*, office: str | None = None, date_from: dt.date | None = None, date_to: dt.date | None = None) -> dict:
    """Minutes by activity type and by officer, and the case-related vs collateral split.

    Case-related or collateral follows the activity type (``collateral`` in activities.toml).
    """
    acts = activities()
    collateral_codes = [code for code, a in acts.items() if a.collateral]
    office_obj = access_office(office) if office else None
    qs = TimeLogEntry.objects.filter(_period(date_from, date_to))
    if office_obj:
        qs = qs.filter(office=office_obj)
    per_activity = {a: (n, m) for a, n, m in
                    qs.values_list("activity").annotate(n=Count("id"), m=Sum("minutes")).values_list("activity", "n", "m")}
    is_collateral = Q(activity__in=collateral_codes)
    per_officer = list(qs.values_list("officer_id").annotate(
        n=Count("id"), m=Sum("minutes"), coll=Sum("minutes", filter=is_collateral)).values_list("officer_id", "n", "m", "coll"))
    officers = {pk: (f"{first} {last}", off) for pk, first, last, off in
                Officer.objects.filter(pk__in=[r[0] for r in per_officer]).values_list("id", "first_name", "last_name", "office_id")}
    codes = dict(FieldOffice.objects.values_list("id", "code"))

    total = sum(m for _, m in per_activity.values())
    collateral = sum(m for a, (_, m) in per_activity.items() if a in collateral_codes)
    by_activity = []
    for code in sorted(per_activity, key=lambda a: (-per_activity[a][1], a)):
        n, m = per_activity[code]
        spec = acts.get(code)
        by_activity.append({"activity": code, "label": spec.label if spec else code,
                            "collateral": bool(spec and spec.collateral), "entries": n, "minutes": m,
                            "share": _share(m, total)})
    by_officer = []
    for officer_id, n, m, coll in sorted(per_officer, key=lambda r: (-r[2], r[0])):
        name, off = officers.get(officer_id, ("", None))
        coll = coll or 0
        by_officer.append({"officer": officer_id, "name": name, "office": codes.get(off), "entries": n, "minutes": m,
                           "case_minutes": m - coll, "collateral_minutes": coll, "collateral_share": _share(coll, m)})
    return {
        "office": office_obj.code if office_obj else None,
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
        "entries": sum(n for n, _ in per_activity.values()),
        "minutes": total,
        "case_minutes": total - collateral,
        "collateral_minutes": collateral,
        "case_share": _share(total - collateral, total),
        "collateral_share": _share(collateral, total),
        "by_activity": by_activity,
        "by_officer": by_officer,
    }
