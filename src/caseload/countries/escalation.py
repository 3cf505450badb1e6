"""Escalation of refused or stalled travel-document requests, and the package a headquarters
team sends for diplomatic action (``caseload countries escalation``).

Steps open in order (``data/travel_documents.toml``): consulate contact, headquarters review,
diplomatic escalation. Escalation is per case: a case's first refusal opens the consulate
contact, its second the headquarters review, its third (and later) the diplomatic escalation,
and a case never holds two open tasks of one level (no parallel consulate contacts; a database
constraint guards it). The daily sweep opens the first step for requests pending past the
stalled threshold, lapses steps left open past their due date (the next step opens, so nothing
stops silently) and resolves tasks whose case got a document or was closed. docs/domain.md §4
(the Jean Jacques case): the case stays visible throughout, a release included.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string

from caseload.core import audit, bulk, clock
from caseload.core.errors import Conflict, NotFound, UsageError
from caseload.countries import config as cfgmod
from caseload.countries.models import (
    ISSUED_STATUSES,
    PENDING_STATUSES,
    EscalationReason,
    EscalationStatus,
    TravelDocumentEscalation,
    TravelDocumentRequest,
    TravelDocumentStatus,
)
from caseload.countries.rules import label_of, require

AGEING_BUCKETS = ((0, 30), (31, 90), (91, 180), (181, 365), (366, None))  # days pending, for display
_TABLE = TravelDocumentEscalation._meta.db_table
_COLUMNS = ("request_id", "case_id", "office_id", "country_id", "step", "reason", "opened_on", "due_on", "status",
            "closed_on", "closed_by", "note")


def _due(step: str, on: dt.date) -> dt.date:
    return on + dt.timedelta(days=cfgmod.config().due_days[step])


def step_for(case_id: int, *, reason: str, as_of: dt.date) -> str:
    """The level a new refused or stalled request of the case escalates to: the n-th refusal on
    the case opens the n-th step (the last step for any further one); a stalled request the first."""
    steps = cfgmod.config().steps
    if reason != EscalationReason.REFUSED:
        return steps[0]
    refusals = TravelDocumentRequest.objects.filter(case_id=case_id, status=TravelDocumentStatus.REFUSED,
                                                    decided_on__lte=as_of).count()
    return steps[min(max(refusals, 1), len(steps)) - 1]


def open_steps(case_ids) -> dict[int, set[str]]:
    """{case id: steps with an open task} for the given cases."""
    out: dict[int, set[str]] = defaultdict(set)
    for cid, step in TravelDocumentEscalation.objects.filter(case_id__in=list(case_ids), status=EscalationStatus.OPEN
                                                             ).values_list("case_id", "step"):
        out[cid].add(step)
    return out


def open_step_for(request: TravelDocumentRequest, *, reason: str, on: dt.date, label: str) -> TravelDocumentEscalation | None:
    """Open the task ``request``'s refusal (or stall) escalates the case to, unless the request
    already has one or the case already has an open task of that level."""
    step = step_for(request.case_id, reason=reason, as_of=on)
    if request.escalations.exists() or step in open_steps([request.case_id]).get(request.case_id, set()):
        return None
    task = TravelDocumentEscalation.objects.create(
        request=request, case_id=request.case_id, office_id=request.office_id, country_id=request.country_id,
        step=step, reason=reason, opened_on=on, due_on=_due(step, on))
    audit.record(action="travel_document.escalation_opened", actor_label=label, object_type="countries.traveldocumentescalation",
                 object_id=task.pk, office_id=task.office_id,
                 details={"request": request.pk, "case": request.case_id, "step": step, "reason": reason,
                          "due_on": task.due_on.isoformat()})
    return task


def _close_open(tasks, *, status: str, on: dt.date, label: str, note: str) -> int:
    return tasks.filter(status=EscalationStatus.OPEN).update(status=status, closed_on=on, closed_by=label, note=note[:500])


def resolve_for_case(case_id: int, *, on: dt.date, label: str, note: str) -> int:
    """A document was issued for the case: its open tasks are resolved."""
    return _close_open(TravelDocumentEscalation.objects.filter(case_id=case_id), status=EscalationStatus.RESOLVED,
                       on=on, label=label, note=note)


def cancel_for_request(request_id: int, *, on: dt.date, label: str) -> int:
    return _close_open(TravelDocumentEscalation.objects.filter(request_id=request_id), status=EscalationStatus.CANCELLED,
                       on=on, label=label, note="request withdrawn")


def access_task(task_id: int) -> TravelDocumentEscalation:
    try:
        return TravelDocumentEscalation.objects.select_related("request").get(pk=task_id)
    except TravelDocumentEscalation.DoesNotExist:
        raise NotFound("unknown_task", f"no escalation task with id {task_id}") from None


def do_close_task(*, task: TravelDocumentEscalation, outcome: str, note: str, actor=None,
                  actor_label: str | None = None) -> tuple[TravelDocumentEscalation, TravelDocumentEscalation | None]:
    """Record a step's outcome. ``unresolved`` opens the next step; ``resolved`` ends the escalation."""
    require(actor, "countries.work_escalations", task)
    label = label_of(actor, actor_label)
    if outcome not in (EscalationStatus.RESOLVED, EscalationStatus.UNRESOLVED):
        raise UsageError("invalid_outcome", f"outcome must be resolved or unresolved, got {outcome!r}")
    if not note.strip():
        raise UsageError("note_required", "record what was done (e.g. who was contacted and the answer)")
    today = clock.today()
    following = cfgmod.config().next_step(task.step) if outcome == EscalationStatus.UNRESOLVED else None
    with transaction.atomic():
        changed = TravelDocumentEscalation.objects.filter(pk=task.pk, status=EscalationStatus.OPEN).update(
            status=outcome, closed_on=today, closed_by=label, note=note.strip()[:500])
        if not changed:
            raise Conflict("task_closed", f"escalation task {task.pk} is not open")
        nxt = None
        if following in open_steps([task.case_id]).get(task.case_id, set()):
            following = None  # that level is already open on the case (one open task per level)
        if following:
            nxt = TravelDocumentEscalation.objects.create(
                request_id=task.request_id, case_id=task.case_id, office_id=task.office_id, country_id=task.country_id,
                step=following, reason=task.reason, opened_on=today, due_on=_due(following, today))
        audit.record(action="travel_document.escalation_closed", actor=actor, actor_label=label,
                     object_type="countries.traveldocumentescalation", object_id=task.pk, office_id=task.office_id,
                     details={"request": task.request_id, "step": task.step, "outcome": outcome, "note": note.strip(),
                              "next_task": nxt.pk if nxt else None, "next_step": following})
    task.refresh_from_db()
    return task, nxt


# --- Set-based steps of the daily sweep --------------------------------------------------------

def resolve_finished(*, as_of: dt.date, label: str) -> int:
    """Open tasks whose case is closed or holds an issued document are resolved."""
    from caseload.docket.models import CaseStatus

    issued = TravelDocumentRequest.objects.filter(case_id=OuterRef("case_id"), status=TravelDocumentStatus.ISSUED)
    done = TravelDocumentEscalation.objects.filter(status=EscalationStatus.OPEN).filter(
        Q(case__status=CaseStatus.CLOSED) | Exists(issued))
    return _close_open(TravelDocumentEscalation.objects.filter(pk__in=list(done.values_list("pk", flat=True))),
                       status=EscalationStatus.RESOLVED, on=as_of, label=label, note="case closed or document issued")


def open_due_escalations(*, as_of: dt.date) -> int:
    """Open the first step for every refused request on an open case without a document, and
    every request pending past the stalled threshold, that has no escalation yet."""
    from caseload.docket.models import CaseStatus

    cfg = cfgmod.config()
    stalled_before = as_of - dt.timedelta(days=cfg.stalled_after_days)
    has_task = TravelDocumentEscalation.objects.filter(request_id=OuterRef("pk"))
    has_document = TravelDocumentRequest.objects.filter(case_id=OuterRef("case_id"), status=TravelDocumentStatus.ISSUED)
    candidates = (TravelDocumentRequest.objects.filter(case__status=CaseStatus.OPEN, requested_on__lte=as_of)
                  .filter(Q(status=TravelDocumentStatus.REFUSED, decided_on__lte=as_of)
                          | Q(status__in=PENDING_STATUSES, requested_on__lt=stalled_before))
                  .exclude(Exists(has_task)).exclude(Exists(has_document))
                  .order_by("case_id", "decided_on", "requested_on", "id")
                  .values_list("id", "case_id", "office_id", "country_id", "status"))
    candidates = list(candidates)
    cases = {c[1] for c in candidates}
    # The n-th refusal of a case escalates to the n-th step: count the refusals already escalated.
    refusals = Counter(TravelDocumentRequest.objects.filter(
        case_id__in=cases, status=TravelDocumentStatus.REFUSED, decided_on__lte=as_of).filter(Exists(has_task)
    ).values_list("case_id", flat=True)) if candidates else Counter()
    taken = open_steps(cases) if candidates else {}
    rows = []
    for rid, cid, oid, country, status in candidates:
        refused = status == TravelDocumentStatus.REFUSED
        refusals[cid] += refused
        step = cfg.steps[min(max(refusals[cid], 1), len(cfg.steps)) - 1] if refused else cfg.steps[0]
        if step in taken.setdefault(cid, set()):
            continue  # the case's escalation is already at that level
        taken[cid].add(step)
        rows.append((rid, cid, oid, country, step,
                     EscalationReason.REFUSED.value if refused else EscalationReason.STALLED.value,
                     as_of.isoformat(), _due(step, as_of).isoformat(), EscalationStatus.OPEN.value, None, "", ""))
    with transaction.atomic():
        bulk.insert_rows(_TABLE, _COLUMNS, rows)
    return len(rows)


def lapse_overdue(*, as_of: dt.date, label: str) -> tuple[int, int]:
    """Open steps past their due date lapse and the next step opens; the last step stays open
    (and overdue) until someone records its outcome. Returns (lapsed, opened)."""
    cfg = cfgmod.config()
    overdue = list(TravelDocumentEscalation.objects.filter(status=EscalationStatus.OPEN, due_on__lt=as_of)
                   .exclude(step=cfg.steps[-1])
                   .values_list("id", "request_id", "case_id", "office_id", "country_id", "step", "reason"))
    # A lapsed step opens the next one unless the case already holds an open task of that level.
    lapsing = {t[0] for t in overdue}
    taken: dict[int, set[str]] = defaultdict(set)
    for tid, cid, step in TravelDocumentEscalation.objects.filter(
            case_id__in={t[2] for t in overdue}, status=EscalationStatus.OPEN).values_list("id", "case_id", "step"):
        if tid not in lapsing:
            taken[cid].add(step)
    rows = []
    for _, rid, cid, oid, country, step, reason in overdue:
        following = cfg.next_step(step)
        if following in taken[cid]:
            continue
        taken[cid].add(following)
        rows.append((rid, cid, oid, country, following, reason, as_of.isoformat(), _due(following, as_of).isoformat(),
                     EscalationStatus.OPEN.value, None, "", ""))
    with transaction.atomic():
        ids = [t[0] for t in overdue]
        for start in range(0, len(ids), 5000):
            TravelDocumentEscalation.objects.filter(pk__in=ids[start:start + 5000]).update(
                status=EscalationStatus.LAPSED, closed_on=as_of, closed_by=label, note="not done by its due date")
        bulk.insert_rows(_TABLE, _COLUMNS, rows)
    return len(overdue), len(rows)


# --- Listing -----------------------------------------------------------------------------------

_TASK_FIELDS = ("id", "request_id", "case_id", "case__person__a_number", "office__code", "country_id", "step", "reason",
                "opened_on", "due_on", "status", "closed_on", "closed_by", "note")


def _task_dict(values: tuple, as_of: dt.date) -> dict:
    from caseload.docket import anumber

    tid, rid, cid, a, office, country, step, reason, opened_on, due_on, status, closed_on, closed_by, note = values
    return {"id": tid, "request": rid, "case": cid, "a_number": anumber.display(a), "office": office,
            "country": country, "step": step, "reason": reason, "opened_on": opened_on.isoformat(),
            "due_on": due_on.isoformat(), "status": status, "overdue": status == EscalationStatus.OPEN and due_on < as_of,
            "closed_on": closed_on.isoformat() if closed_on else None, "closed_by": closed_by, "note": note}


def tasks_of_request(request_id: int) -> list[dict]:
    rows = TravelDocumentEscalation.objects.filter(request_id=request_id).order_by("id").values_list(*_TASK_FIELDS)
    return [_task_dict(r, clock.today()) for r in rows]


def list_tasks(*, country: str | None = None, office: str | None = None, status: str | None = EscalationStatus.OPEN,
               limit: int = 1000) -> list[dict]:
    """Escalation tasks, oldest due date first."""
    qs = TravelDocumentEscalation.objects.all()
    if country:
        qs = qs.filter(country_id=country)
    if office:
        qs = qs.filter(office__code=office.upper())
    if status:
        if status not in EscalationStatus.values:
            raise UsageError("invalid_status", f"status must be one of {', '.join(EscalationStatus.values)}, got {status!r}")
        qs = qs.filter(status=status)
    today = clock.today()
    return [_task_dict(r, today) for r in qs.order_by("due_on", "id").values_list(*_TASK_FIELDS)[:limit]]


# --- The package for diplomatic action ---------------------------------------------------------

def _bucket(days: int) -> str:
    for low, high in AGEING_BUCKETS:
        if high is None or days <= high:
            return f"{low}-{high} days" if high is not None else f"over {low - 1} days"
    raise AssertionError(days)


def escalation_package(*, country, as_of: dt.date | None = None, cases_in=None) -> dict:
    """What a headquarters team sends for diplomatic action about one country: the measured
    figures, the ageing of pending requests, the refusal history by fiscal year, the open
    escalation tasks, and the cases concerned, identified by A-number only.

    ``cases_in`` (a queryset of cases, e.g. ``visible_cases(actor)``) limits the listed cases to
    the reader's scope; the counts stay those of the country."""
    from caseload.countries.services import report
    from caseload.docket import anumber
    from caseload.docket.models import CaseStatus
    from caseload.ingest.foia import fiscal_year_of

    as_of = as_of or clock.today()
    row = report(as_of=as_of, only=[country.code])[0]
    requests = TravelDocumentRequest.objects.filter(country=country, requested_on__lte=as_of)

    history: dict[int, dict] = defaultdict(lambda: {"issued": 0, "refused": 0, "reasons": Counter()})
    for status, decided_on, reason in requests.filter(
            status__in=[*ISSUED_STATUSES, TravelDocumentStatus.REFUSED], decided_on__lte=as_of).values_list(
            "status", "decided_on", "refusal_reason"):
        year = history[fiscal_year_of(decided_on)]
        if status == TravelDocumentStatus.REFUSED:
            year["refused"] += 1
            year["reasons"][reason or "no reason given"] += 1
        else:
            year["issued"] += 1
    refusal_history = [
        {"fiscal_year": fy, "issued": h["issued"], "refused": h["refused"],
         "refusal_rate": round(h["refused"] / (h["issued"] + h["refused"]), 3),
         "reasons": [{"reason": r, "refused": n} for r, n in h["reasons"].most_common(5)]}
        for fy, h in sorted(history.items())
    ]

    open_tasks = dict(TravelDocumentEscalation.objects.filter(country=country, status=EscalationStatus.OPEN)
                      .values_list("case_id", "step"))
    overdue = Counter(TravelDocumentEscalation.objects.filter(country=country, status=EscalationStatus.OPEN, due_on__lt=as_of)
                      .values_list("step", flat=True))
    by_step = Counter(open_tasks.values())
    ageing = Counter()
    cases: dict[int, dict] = {}
    refusals = Counter()
    listed_requests = requests.filter(case__status=CaseStatus.OPEN)
    if cases_in is not None:
        listed_requests = listed_requests.filter(case__in=cases_in.values("pk"))
    rows = listed_requests.order_by("case_id", "requested_on", "id").values_list(
        "case_id", "case__person__a_number", "office__code", "case__final_order_date", "id", "status", "requested_on",
        "decided_on", "closed_on", "refusal_reason")
    for cid, a, office, final_order_date, rid, status, requested_on, decided_on, closed_on, reason in rows:
        pending = (decided_on is None or decided_on > as_of) and (closed_on is None or closed_on > as_of)
        refused = status == TravelDocumentStatus.REFUSED and decided_on <= as_of
        refusals[cid] += refused
        # The case's latest request decides whether it belongs in the package.
        cases[cid] = {
            "a_number": anumber.display(a), "office": office,
            "final_order_date": final_order_date.isoformat() if final_order_date else None,
            "request": rid, "request_status": "pending" if pending else status,
            "requested_on": requested_on.isoformat(),
            "days_waiting": (as_of - requested_on).days if pending else None,
            "refused_on": decided_on.isoformat() if refused else None,
            "refusal_reason": reason if refused else "",
        }
    listed = []
    for cid, case in cases.items():
        if case["request_status"] not in ("pending", TravelDocumentStatus.REFUSED) and cid not in open_tasks:
            continue
        if case["days_waiting"] is not None:
            ageing[_bucket(case["days_waiting"])] += 1
        listed.append({**case, "case_id": cid, "refusals": refusals[cid], "escalation_step": open_tasks.get(cid)})
    listed.sort(key=lambda c: (c["request_status"] != TravelDocumentStatus.REFUSED, -(c["days_waiting"] or 0), c["a_number"]))
    return {
        "country": country.code, "name": country.name, "as_of": as_of.isoformat(),
        "tier": row["tier"], "suggested_tier": row["suggested_tier"],
        "counts": {k: row[k] for k in ("open_final_orders", "pending_requests", "pending_over_90_days",
                                       "median_days_to_issue", "refusal_rate", "quota_remaining")}
        | {"cases_listed": len(listed),
           "open_escalations": {s: by_step.get(s, 0) for s in cfgmod.config().steps},
           "overdue_escalations": {s: overdue.get(s, 0) for s in cfgmod.config().steps}},
        "ageing": [{"days": _bucket(low), "pending": ageing.get(_bucket(low), 0)} for low, _ in AGEING_BUCKETS],
        "refusal_history": refusal_history,
        "cases": listed,
    }


PACKAGE_CASE_COLUMNS = ("a_number", "office", "final_order_date", "request", "request_status", "requested_on",
                        "days_waiting", "refused_on", "refusal_reason", "refusals", "escalation_step")


def package_csv(package: dict) -> str:
    """The package's case list as CSV (one row per case, A-numbers only)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PACKAGE_CASE_COLUMNS)
    for case in package["cases"]:
        writer.writerow(["" if case[c] is None else case[c] for c in PACKAGE_CASE_COLUMNS])
    return out.getvalue()


def package_html(package: dict) -> str:
    """The package as a standalone HTML document, to print or send."""
    return render_to_string("countries/escalation_package.html",
                            {"package": package, "columns": PACKAGE_CASE_COLUMNS, "generated_at": clock.now()})


def record_package_export(package: dict, *, fmt: str, via: str, actor=None, actor_label: str | None = None) -> None:
    """The package lists people by A-number: producing it is an audited read (``case.list``)."""
    from caseload.docket import anumber

    audit.record_read(action="case.list", via=via, actor=actor, actor_label=actor_label,
                      case_ids=[c["case_id"] for c in package["cases"]],
                      a_numbers=[anumber.normalize(c["a_number"]) for c in package["cases"]],
                      export="countries.escalation_package", country=package["country"], format=fmt)
