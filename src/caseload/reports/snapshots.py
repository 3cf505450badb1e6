"""Snapshots: the headline figures of a date, stored once per date (``caseload snapshot take``)."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from caseload.core import audit, clock
from caseload.core.errors import UsageError
from caseload.reports import figures
from caseload.reports.models import Snapshot


def check_as_of(as_of: dt.date | None) -> dt.date:
    today = clock.today()
    as_of = as_of or today
    if as_of > today:
        raise UsageError("date_in_future", f"the date {as_of} is after today ({today}): figures exist only up to today")
    return as_of


def snapshot_dict(snapshot: Snapshot, *, created: bool) -> dict:
    return {"as_of": snapshot.as_of.isoformat(), "created": created, "taken_at": snapshot.taken_at.isoformat(),
            "taken_by": snapshot.taken_by, "figures": snapshot.figures}


def do_take_snapshot(*, as_of: dt.date | None = None, actor=None, actor_label: str | None = None) -> tuple[Snapshot, bool]:
    """The snapshot of ``as_of`` (default today): computed and stored if none exists for that
    date, else the stored one unchanged (idempotent per date). Audited as ``snapshot.taken``."""
    as_of = check_as_of(as_of)
    found = Snapshot.objects.filter(as_of=as_of).first()
    if found is not None:
        return found, False
    doc = figures.headline(as_of)
    label = actor_label or (actor.get_username() if actor is not None else "system")
    try:
        with transaction.atomic():
            snapshot = Snapshot.objects.create(as_of=as_of, figures=doc, taken_at=clock.now(), taken_by=label)
            audit.record(action="snapshot.taken", actor=actor, actor_label=actor_label, object_type="snapshot",
                         object_id=as_of.isoformat(), details={"not_dated": doc["not_dated"]})
    except IntegrityError:  # another process stored the same date first: theirs stands
        return Snapshot.objects.get(as_of=as_of), False
    return snapshot, True


def history_dates(as_of: dt.date) -> list[dt.date]:
    """The first day of each month from the month of the earliest time-log entry up to ``as_of``,
    then ``as_of`` itself: the dates ``snapshot take --history`` fills."""
    from caseload.workload.models import TimeLogEntry

    first = TimeLogEntry.objects.order_by("started_at").values_list("started_at", flat=True).first()
    dates = []
    if first is not None:
        day = dt.date(first.year, first.month, 1)
        while day < as_of:
            dates.append(day)
            day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return [*dates, as_of]


def list_snapshots() -> list[dict]:
    rows = Snapshot.objects.order_by("as_of")
    return [{"as_of": s.as_of.isoformat(), "taken_at": s.taken_at.isoformat(), "taken_by": s.taken_by,
             "cases": s.figures["docket"]["cases"], "officers": s.figures["docket"]["officers"],
             "overdue": s.figures["overdue"]["total"] if s.figures.get("overdue") else None,
             "not_dated": s.figures.get("not_dated", [])} for s in rows]


def trend(*, until: dt.date, office: str | None = None) -> list[dict]:
    """The stored snapshots up to ``until``: cases, officers, cases per officer (one office's, if given)."""
    out = []
    for s in Snapshot.objects.filter(as_of__lte=until).order_by("as_of"):
        d = s.figures["docket"]
        if office is not None:
            row = next((r for r in d["by_office"] if r["office"] == office), None)
            if row is None:
                continue
            d = row
        overdue = s.figures.get("overdue")
        out.append({"as_of": s.as_of.isoformat(), "cases": d["cases"], "officers": d["officers"],
                    "cases_per_officer": d["cases_per_officer"],
                    "overdue": (overdue["total"] if office is None else
                                next((r["overdue"] for r in overdue["by_office"] if r["office"] == office), None))
                    if overdue else None})
    return out
