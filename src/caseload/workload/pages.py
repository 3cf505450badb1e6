"""The officer's time-log page: their day and week, recording and correcting collateral duties.

Only the signed-in officer's own entries are shown or changed (another officer's entry is
reported missing)."""

from __future__ import annotations

import datetime as dt

from caseload.core import clock
from caseload.core.access import officer_of
from caseload.core.errors import NotFound
from caseload.workload.activities import activities
from caseload.workload.models import TimeLogEntry
from caseload.workload.services import do_correct_minutes, do_record_time


def _own_officer(actor):
    officer = officer_of(actor)
    if officer is None:
        raise NotFound("no_officer_record", "Your account is not linked to an officer record; ask an administrator.")
    return officer


def collateral_choices() -> list[tuple[str, str]]:
    return [(a.code, a.label) for a in activities().values() if a.collateral]


def timelog_page(actor, *, day: dt.date | None = None) -> dict:
    """The officer's entries of ``day`` (default today) and the totals of its week (Monday first)."""
    officer = _own_officer(actor)
    day = day or clock.today()
    monday = day - dt.timedelta(days=day.weekday())
    start = dt.datetime.combine(monday, dt.time.min, tzinfo=dt.UTC)
    entries = list(TimeLogEntry.objects.filter(officer=officer, started_at__gte=start,
                                               started_at__lt=start + dt.timedelta(days=7))
                   .select_related("case", "case__person").order_by("started_at", "id"))
    labels = {a.code: a.label for a in activities().values()}
    collateral = {a.code for a in activities().values() if a.collateral}
    week = []
    for offset in range(7):
        d = monday + dt.timedelta(days=offset)
        rows = [e for e in entries if e.started_at.astimezone(dt.UTC).date() == d]
        week.append({"day": d, "case_minutes": sum(e.minutes for e in rows if e.activity not in collateral),
                     "collateral_minutes": sum(e.minutes for e in rows if e.activity in collateral)})
    today_rows = [{"entry": e, "label": labels.get(e.activity, e.activity), "collateral": e.activity in collateral}
                  for e in entries if e.started_at.astimezone(dt.UTC).date() == day]
    return {"officer": officer, "day": day, "monday": monday, "entries": today_rows, "week": week,
            "week_case_minutes": sum(w["case_minutes"] for w in week),
            "week_collateral_minutes": sum(w["collateral_minutes"] for w in week),
            "previous_day": day - dt.timedelta(days=1), "next_day": day + dt.timedelta(days=1)}


def do_record_collateral(actor, *, activity: str, minutes: int | None, started_at: dt.datetime | None = None) -> TimeLogEntry:
    """A collateral duty of the signed-in officer (walk-in, phone call, data entry, escort, duty officer)."""
    return do_record_time(officer=_own_officer(actor), activity=activity, minutes=minutes, started_at=started_at,
                          actor=actor)


def do_correct_own_entry(actor, *, entry_id: int, minutes: int, reason: str) -> TimeLogEntry:
    officer = _own_officer(actor)
    if not TimeLogEntry.objects.filter(pk=entry_id, officer=officer).exists():
        raise NotFound("unknown_time_entry", f"no time-log entry {entry_id} of yours")
    return do_correct_minutes(entry_id=entry_id, minutes=minutes, reason=reason, actor=actor)
