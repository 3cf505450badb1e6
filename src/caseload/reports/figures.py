"""The headline figures of a date: what a snapshot stores and what the management report states.

Each figure comes from the service that owns it (docket summary, overdue summary, officer
capacity, training compliance, manual review status and acknowledgments, country report); this
module only selects and sums. Figures that exist only for the present (the overdue tasks, the
unassigned cases and capacity %, which derive from today's case rows) are ``None`` for an earlier
date and listed under ``not_dated``; the docket of an earlier date is counted from the cases'
opening and closing dates and the officers' entry and departure dates.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
from django.db import connection
from django.db.models import Count, Q

from caseload.core import clock
from caseload.docket.models import Case
from caseload.offices.models import FieldOffice, Officer, OfficerStatus, Unit

CAPACITY_BANDS = ((None, 80), (80, 100), (100, 120), (120, 150), (150, None))
PRESENT_ONLY = ("overdue", "unassigned_cases", "stale_national_security", "capacity")


def band_label(low, high) -> str:
    if low is None:
        return f"under {high} %"
    if high is None:
        return f"{low} % and over"
    return f"{low}-{high} %"


def _office_filter(rows: list[dict], office: str | None) -> list[dict]:
    return [r for r in rows if office is None or r["office"] == office]


def docket(as_of: dt.date, office: str | None = None) -> dict:
    """Open non-detained cases and docket officers by office on ``as_of``."""
    if as_of >= clock.today():
        from caseload.docket.services import summary

        doc = summary()
        rows = _office_filter(doc["by_office"], office)
        national = {k: doc[k] for k in ("people", "convicted", "final_orders")} if office is None else {}
    else:
        rows = _office_filter(_dated_docket(as_of), office)
        national = {}
    cases = sum(r["cases"] for r in rows)
    officers = sum(r["officers"] for r in rows)
    return {"cases": cases, "officers": officers,
            "cases_per_officer": round(cases / officers, 1) if officers else None, **national, "by_office": rows}


def _dated_docket(as_of: dt.date) -> list[dict]:
    """Cases open on ``as_of`` (opened on or before, not closed by then) and the non-detained
    officers on duty then, by office. A whole-docket scan (``NOT INDEXED`` on SQLite)."""
    scan = "NOT INDEXED" if connection.vendor == "sqlite" else ""
    day = connection.ops.adapt_datefield_value(as_of)
    with connection.cursor() as cur:
        cur.execute(f"SELECT office_id, COUNT(*) FROM {Case._meta.db_table} {scan} WHERE unit = %s AND opened_on <= %s "
                    "AND (closed_on IS NULL OR closed_on > %s) GROUP BY office_id", [Unit.NON_DETAINED.value, day, day])
        cases = dict(cur.fetchall())
    on_duty = (Officer.objects.filter(unit=Unit.NON_DETAINED)
               .filter(Q(entered_on_duty__isnull=True) | Q(entered_on_duty__lte=as_of))
               .filter(Q(departed_on__gt=as_of) | Q(departed_on__isnull=True, status__in=[
                   s for s in OfficerStatus.values if s != OfficerStatus.SEPARATED])))
    officers = dict(on_duty.values_list("office_id").annotate(n=Count("id")).values_list("office_id", "n"))
    out = []
    for office_id, code in FieldOffice.objects.filter(active=True).order_by("code").values_list("id", "code"):
        n, k = cases.get(office_id, 0), officers.get(office_id, 0)
        out.append({"office": code, "cases": n, "officers": k, "cases_per_officer": round(n / k, 1) if k else None})
    return out


def overdue(as_of: dt.date, office: str | None = None) -> dict:
    from caseload.docket.worklist import overdue_summary

    doc = overdue_summary(office=office, as_of=as_of)
    return {"rule_set": doc["rule_set"], "task_types": doc["task_types"], "total": doc["totals"]["overdue"],
            "by_task": doc["totals"]["by_task"],
            "by_office": [{"office": r["office"], "open_cases": r["open_cases"], "overdue": r["overdue"],
                           "by_task": r["by_task"]} for r in doc["offices"]],
            "unassigned_cases": len(doc["unassigned_cases"]),
            "unassigned_by_office": dict(sorted(Counter(c["office"] for c in doc["unassigned_cases"]).items())),
            "stale_national_security": len(doc["stale_national_security_cases"]),
            "stale_national_security_by_office": dict(sorted(Counter(c["office"] for c in doc["stale_national_security_cases"]).items()))}


def capacity(office: str | None = None) -> dict:
    """Active docket officers by capacity % band: today's open cases per officer and case type
    times the measured weights, over each officer's available casework minutes a month (the
    figures of ``caseload staffing capacity``, computed from one grouped count of the docket
    instead of each office's case rows)."""
    from caseload.staffing import services as staffing

    table = staffing.weight_table(staffing.weights_for("measured"))
    params, collateral, today = staffing.parameters(), staffing.measured_collateral(table), clock.today()
    offices = list(FieldOffice.objects.filter(active=True, **({"code": office} if office else {})).order_by("code"))
    owners, type_index, type_names, counts = staffing.open_case_counts(
        table.group_by, by="officer", office_id=offices[0].pk if office and offices else None)
    minutes = counts * table.lookup(type_names)[type_index] if len(counts) else np.zeros(0)
    load: dict[int, float] = {}
    for owner, m in zip(owners.tolist(), minutes.tolist(), strict=True):
        load[owner] = load.get(owner, 0.0) + m
    pct = []
    for fo in offices:
        officers = staffing.office_officers(fo, params, collateral, as_of=today)
        for oid, status, available in zip(officers.ids.tolist(), officers.status.tolist(), officers.available.tolist(),
                                          strict=True):
            if status == OfficerStatus.ACTIVE and available > 0:
                pct.append(round(100 * load.get(oid, 0.0) / available, 1))
    values = np.array(pct, dtype=float)
    bands = []
    for low, high in CAPACITY_BANDS:
        hit = np.ones(len(values), dtype=bool)
        if low is not None:
            hit &= values >= low
        if high is not None:
            hit &= values < high
        bands.append({"band": band_label(low, high), "officers": int(hit.sum())})
    return {"officers": len(values), "median_pct": round(float(np.median(values)), 1) if len(values) else None,
            "max_pct": round(float(values.max()), 1) if len(values) else None, "over_100": int((values > 100).sum()),
            "bands": bands}


def training(as_of: dt.date, office: str | None = None) -> dict:
    from caseload.training.services import compliance

    rows = compliance(office=office, as_of=as_of)["offices"]
    totals = {k: sum(r[k] for r in rows) for k in ("officers", "current", "expiring", "overdue", "never")}
    share = round(100 * (totals["current"] + totals["expiring"]) / totals["officers"], 1) if totals["officers"] else None
    return {**totals, "compliant_pct": share, "by_office": rows}


def certifications(as_of: dt.date, office: str | None = None) -> list[dict]:
    """Per certification course: officers whose latest completion is current, expiring (within
    the training app's ``expiring_within_days``) or lapsed on ``as_of``."""
    from django.db.models import Max

    from caseload.training.models import Attendance, AttendanceStatus, Course
    from caseload.training.services import status_on

    rows = []
    for course in Course.objects.filter(active=True, certification=True).order_by("code"):
        latest = Attendance.objects.filter(status=AttendanceStatus.PRESENT, completed_on__lte=as_of, session__course=course)
        if office is not None:
            latest = latest.filter(officer__office__code=office)
        statuses = Counter(status_on(last, course.recurrence_months, as_of) for last in
                           latest.values("officer_id").annotate(last=Max("completed_on")).values_list("last", flat=True))
        rows.append({"course": course.code, "title": course.title, "current": statuses.get("current", 0),
                     "expiring": statuses.get("expiring", 0), "lapsed": statuses.get("overdue", 0)})
    return rows


def manual(as_of: dt.date, office: str | None = None) -> dict:
    from caseload.policy import manual as manual_mod

    status = manual_mod.review_status(as_of=as_of)["sections"]
    acks = manual_mod.unacknowledged(office=office, as_of=as_of)["sections"]
    missing_by_office = Counter(m["office"] for s in acks for m in s["missing"])
    return {"sections": len(status), "overdue_for_review": sum(1 for s in status if s["days_overdue"] > 0),
            "acknowledgments_required": sum(s["required"] for s in acks),
            "acknowledgments_missing": sum(s["required"] - s["acknowledged"] for s in acks),
            "unacknowledged_by_office": dict(sorted(missing_by_office.items()))}


def countries(as_of: dt.date) -> dict:
    """Travel documents pending by official tier, tier disagreements, escalations open by step,
    foreseeability reviews flagged and decided (national: a country's figures are not an office's)."""
    from caseload.countries import config as cfgmod
    from caseload.countries.models import ForeseeabilityReview, TravelDocumentEscalation
    from caseload.countries.services import report

    from caseload.countries.models import TravelDocumentRequest, TravelDocumentStatus

    rows = report(as_of=as_of)
    window = cfgmod.config().window_days
    refused = TravelDocumentRequest.objects.filter(status=TravelDocumentStatus.REFUSED, decided_on__lte=as_of,
                                                   decided_on__gt=as_of - dt.timedelta(days=window)).count()
    pending = dict.fromkeys(cfgmod.TIERS, 0)
    for r in rows:
        pending[r["tier"]] = pending.get(r["tier"], 0) + r["pending_requests"]
    tiers = Counter(r["tier"] for r in rows)
    escalations = (TravelDocumentEscalation.objects.filter(opened_on__lte=as_of)
                   .filter(Q(closed_on__isnull=True) | Q(closed_on__gt=as_of)))
    by_step = dict(escalations.values_list("step").annotate(n=Count("id")).values_list("step", "n"))
    reviews = ForeseeabilityReview.objects.filter(flagged_on__lte=as_of)
    decided = reviews.filter(decided_on__lte=as_of)
    outcomes = dict(decided.values_list("decision").annotate(n=Count("id")).values_list("decision", "n"))
    return {"countries_listed": len(rows), "by_tier": {t: tiers.get(t, 0) for t in cfgmod.TIERS},
            "pending_by_tier": pending, "pending_total": sum(pending.values()),
            "refused_in_window": refused, "window_days": window,
            "tier_disagreements": sum(1 for r in rows if r["suggested_tier"] and r["suggested_tier"] != r["tier"]),
            "escalations_open": {s: by_step.get(s, 0) for s in cfgmod.STEPS},
            "reviews": {"flagged": reviews.count(), "open": reviews.count() - decided.count(),
                        "decided": decided.count(), "outcomes": dict(sorted(outcomes.items()))}}


def headline(as_of: dt.date | None = None, *, office: str | None = None) -> dict:
    """Every headline figure of ``as_of`` (default today), nationally or for one office.

    The countries figures are national in both cases (they are a country's, not an office's)."""
    as_of = as_of or clock.today()
    present = as_of >= clock.today()
    doc = {"as_of": as_of.isoformat(), "office": office,
           "docket": docket(as_of, office),
           "overdue": overdue(as_of, office) if present else None,
           "capacity": capacity(office) if present else None,
           "training": training(as_of, office),
           "manual": manual(as_of, office),
           "countries": countries(as_of),
           "not_dated": [] if present else list(PRESENT_ONLY)}
    if doc["overdue"] is not None:
        for key in ("unassigned_cases", "stale_national_security"):
            doc[key] = doc["overdue"][key]
    else:
        doc["unassigned_cases"] = doc["stale_national_security"] = None
    return doc
