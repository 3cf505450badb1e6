"""What the officer's pages show and do: the worklist page, the case page, and the case actions.

Each function takes the signed-in user as ``actor`` and reads rows only through the visibility
functions of :mod:`caseload.core.access`; the actions call the lifecycle, check-in, time-log and
travel-document services (the rules live there) and return what the page needs to say. Reads
that show people are audited here, once per page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from caseload.core import audit, clock
from caseload.core.access import access_case, officer_of, role_of, visible_cases
from caseload.core.errors import Conflict, Forbidden, NotFound, UsageError
from caseload.docket import anumber
from caseload.docket import tasks as task_rules
from caseload.docket.guards import BLOCKERS, removal_step_blockers
from caseload.docket.models import Case, CaseStatus, CheckInOutcome, CitizenshipClaim, RecordsCheck

WORKLIST_PAGE_SIZE = 50
CHANGING_ROLES = ("officer", "supervisor", "administrator")


# --- access for changes -----------------------------------------------------------------------

def access_case_for_change(actor, case_id, *, version: int | None = None) -> Case:
    """The case, for a change by ``actor``: in their scope (else NotFound) and a role that
    changes cases (else Forbidden). ``version`` is the one the form was read with: the write is
    then refused as stale if the case changed since."""
    role = role_of(actor)
    case = access_case(actor, case_id)
    if role != "process" and role not in CHANGING_ROLES:
        raise Forbidden("read_only_role", "Your role reads cases; it does not change them.")
    case = Case.objects.select_related("person", "office", "officer").get(pk=case.pk)
    if version is not None:
        case.version = version
    return case


def acting_officer(actor, case: Case):
    """The officer whose minutes an action records: the signed-in officer, else the case's."""
    return officer_of(actor) if role_of(actor) == "officer" else case.officer


def last_change(case_id: int) -> dict | None:
    """Who last changed the case and when (for the "changed by NAME at TIME" of a stale form)."""
    from caseload.core.models import AuditEvent

    row = (AuditEvent.objects.filter(object_type="case", object_id=str(case_id)).order_by("-id")
           .values_list("actor_label", "occurred_at", "action").first())
    return {"by": row[0], "at": row[1], "action": row[2]} if row else None


# --- the worklist page ------------------------------------------------------------------------

def _labels() -> dict[str, str]:
    rules = task_rules.load_rules()
    return {code: rule.label for code, rule in rules.tasks.items()}


def worklist_page(actor, *, task: str | None = None, overdue_only: bool = False, priority: str | None = None,
                  after: str | None = None, limit: int = WORKLIST_PAGE_SIZE, as_of: dt.date | None = None,
                  via: str = "/worklist/") -> dict:
    """One page of the signed-in officer's worklist (national-security cases first, then
    overdue, then priority, then due date), the counts by task type over the whole list, and
    the filters. ``after`` is the key (``CASE-TASK``) of the last row of the previous page."""
    from caseload.docket.worklist import officer_worklist

    officer = officer_of(actor)
    if officer is None:
        raise NotFound("no_officer_record", "Your account is not linked to an officer record; ask an administrator.")
    labels = _labels()
    if task and task not in labels:
        raise UsageError("unknown_task", f"no task type {task!r}")
    doc = officer_worklist(officer=officer.pk, as_of=as_of)
    rows = doc["tasks"]
    if task:
        rows = [r for r in rows if r["task"] == task]
    if overdue_only:
        rows = [r for r in rows if r["overdue"]]
    if priority:
        rows = [r for r in rows if (r["priority"] or "none") == priority]
    start = 0
    if after:
        keys = [f"{r['case_id']}-{r['task']}" for r in rows]
        start = keys.index(after) + 1 if after in keys else 0
    page = rows[start:start + limit]
    more = start + limit < len(rows)
    for r in page:
        r["label"] = labels.get(r["task"], r["task"])
    audit.record_read(action="case.list", via=via, actor=actor, case_ids=sorted({r["case_id"] for r in page}),
                      a_numbers=sorted({anumber.normalize(r["a_number"]) for r in page}), office_id=officer.office_id)
    counts = doc["counts"]
    by_task = [{"task": code, "label": labels[code], **counts["by_task"][code]}
               for code in labels if counts["by_task"].get(code, {}).get("tasks")]
    priorities = sorted({r["priority"] or "none" for r in doc["tasks"]}, key=lambda p: (p == "none", p))
    return {
        "officer": {"id": officer.pk, "name": officer.name, "office": officer.office_id},
        "as_of": doc["as_of"], "rows": page, "shown_from": start + 1 if page else 0, "shown_to": start + len(page),
        "matching": len(rows), "next_after": f"{page[-1]['case_id']}-{page[-1]['task']}" if more and page else None,
        "counts": {"cases": counts["cases"], "tasks": counts["tasks"], "overdue": counts["overdue"],
                   "national_security": sum(1 for r in doc["tasks"] if r["national_security"])},
        "by_task": by_task, "priorities": priorities,
        "filters": {"task": task or "", "overdue": overdue_only, "priority": priority or ""},
    }


# --- the case page ----------------------------------------------------------------------------

def _case_tasks(case: Case, as_of: dt.date) -> list[dict]:
    from caseload.docket.worklist import check_derived_current, fetch_cases

    check_derived_current()
    rules = task_rules.load_rules()
    cols, td = fetch_cases("c.id = %s", [case.pk])
    found = task_rules.derive(cols, as_of=as_of, rules=rules, td=td)
    order = task_rules.worklist_order(found, cols["priority_rank"], cols["case_id"])
    return [{"task": rules.codes[found.task[k]], "label": rules.tasks[rules.codes[found.task[k]]].label,
             "due": task_rules.day_date(int(found.due[k])), "overdue": bool(found.overdue[k])} for k in order]


def _priority(case: Case, as_of: dt.date) -> dict:
    from caseload.policy.services import decide, resolve_rule_set

    try:
        doc = resolve_rule_set(None, as_of)
    except (NotFound, Conflict, UsageError) as exc:
        return {"level": case.priority or None, "rule_set": None, "rule": None, "reasons": [], "note": exc.message}
    if case.status != CaseStatus.OPEN:
        return {"level": case.priority or None, "rule_set": doc.id, "rule": None, "reasons": [],
                "note": "the case is closed; the rule set in force classifies open cases"}
    level, rule, reasons, facts = decide(doc, case, as_of=as_of)
    return {"level": level, "rule_set": doc.id, "rule": rule, "reasons": reasons, "facts": facts, "note": ""}


def _blockers(case: Case, as_of: dt.date) -> list[str]:
    return [BLOCKERS[code].format(until=case.stay_of_removal_until) for code in removal_step_blockers(case, as_of=as_of)]


def _transitions(case: Case) -> list[dict]:
    """Every transition the table has from the case's state, each enabled or with the reason it is not."""
    from caseload.docket.lifecycle import TRANSITIONS, allowed_targets, case_state, check_transition

    state = case_state(case)
    allowed = set(allowed_targets(case))
    out = []
    for (old, new), transition in TRANSITIONS.items():
        if old != state:
            continue
        reason = ""
        if new not in allowed:
            reason = "not possible for this case"
        else:
            try:
                check_transition(case, new)
            except Conflict as exc:
                reason = exc.message.split(": ", 1)[-1]
        out.append({"to": new, "label": transition.label, "removal_step": transition.removal_step,
                    "enabled": not reason, "blocked_because": reason})
    return out


def _history(case: Case, limit: int = 100) -> list[dict]:
    from caseload.core.models import AuditEvent

    rows = (AuditEvent.objects.filter(object_type="case", object_id=str(case.pk)).order_by("-id")
            .values_list("occurred_at", "actor_label", "action", "details")[:limit])
    return [{"at": at, "by": by, "action": action, "reason": (details or {}).get("reason", ""),
             "changes": sorted((details or {}).get("changes", {}))} for at, by, action, details in rows]


def case_page(actor, case_id, *, via: str) -> dict:
    """Everything the case page shows, read within the actor's scope; an audited read."""
    from caseload.countries.models import TravelDocumentEscalation, TravelDocumentRequest
    from caseload.workload.models import TimeLogEntry

    case = access_case(actor, case_id)
    case = Case.objects.select_related("person", "person__citizenship", "office", "officer").get(pk=case.pk)
    person = case.person
    today = clock.today()
    doc = {
        "case": case, "person": person, "a_number": person.a_number_display,
        "convictions": list(person.convictions.order_by("convicted_on", "id")),
        "other_cases": list(visible_cases(actor).filter(person=person).exclude(pk=case.pk).select_related("office")
                            .order_by("-opened_on")),
        "priority": _priority(case, today),
        "blockers": _blockers(case, today),
        "tasks": _case_tasks(case, today) if case.status == CaseStatus.OPEN else [],
        "check_ins": list(case.check_ins.select_related("officer").order_by("-scheduled_for", "-id")[:50]),
        "travel_documents": list(TravelDocumentRequest.objects.filter(case=case).select_related("country")
                                 .order_by("-requested_on", "-id")),
        "escalations": list(TravelDocumentEscalation.objects.filter(case=case).order_by("-opened_on", "-id")),
        "time_log": list(TimeLogEntry.objects.filter(case=case).select_related("officer").order_by("-started_at")[:50]),
        "history": _history(case),
        "transitions": _transitions(case),
        "may_change": role_of(actor) in CHANGING_ROLES or role_of(actor) == "process",
        "claim_open": person.citizenship_claim == CitizenshipClaim.OPEN,
        "today": today,
    }
    audit.record_read(action="case.read", via=via, actor=actor, case_ids=[case.pk], a_numbers=[person.a_number],
                      office_id=case.office_id)
    return doc


# --- actions ----------------------------------------------------------------------------------

@dataclass
class Done:
    """What an action did, for the confirmation message."""

    message: str
    case_id: int


def do_check_in(*, actor, case: Case, outcome: str, method: str, records_check: str | None, records_check_detail: str,
                reschedule_to: dt.date | None, note: str, minutes: int | None, records_check_minutes: int | None) -> Done:
    """A check-in at the counter or by ATD technology; an appearance is completed only with the
    records-check result (the check-in service refuses it otherwise)."""
    from caseload.docket.checkins import do_record_check_in

    officer = acting_officer(actor, case)
    row = do_record_check_in(case=case, outcome=outcome, method=method or None,
                             records_check=records_check if outcome == CheckInOutcome.APPEARED else None,
                             records_check_detail=records_check_detail, reschedule_to=reschedule_to, note=note,
                             officer=officer, minutes=minutes, records_check_minutes=records_check_minutes, actor=actor)
    text = {CheckInOutcome.APPEARED: "Check-in recorded: appeared", CheckInOutcome.MISSED: "Missed check-in recorded",
            CheckInOutcome.RESCHEDULED: "Check-in rescheduled"}[outcome]
    if row.records_check == RecordsCheck.HIT:
        text += "; the records-check hit goes to the supervisor for review"
    return Done(f"{text}. Next report due {case.next_report_due:%d %b %Y}." if case.next_report_due else text + ".", case.pk)


def do_contact(*, actor, case: Case, activity: str, on: dt.date | None, note: str, minutes: int | None) -> Done:
    from caseload.docket.lifecycle import do_record_contact

    do_record_contact(case=case, activity=activity, on=on, note=note, officer=acting_officer(actor, case),
                      minutes=minutes, actor=actor)
    return Done("Contact recorded.", case.pk)


def do_warning(*, actor, case: Case, on: dt.date | None, minutes: int | None) -> Done:
    from caseload.docket.lifecycle import do_serve_warning

    do_serve_warning(case=case, on=on, officer=acting_officer(actor, case), minutes=minutes, actor=actor)
    return Done("Form I-229(a) warning recorded as served.", case.pk)


def do_review(*, actor, case: Case, kind: str, on: dt.date | None, note: str, minutes: int | None) -> Done:
    from caseload.docket.lifecycle import do_record_review

    do_record_review(case=case, kind=kind, on=on, note=note, officer=acting_officer(actor, case), minutes=minutes,
                     actor=actor)
    return Done("National-security review recorded." if kind == "national_security" else "Custody review recorded.",
                case.pk)


def do_travel_document(*, actor, case: Case, action: str, note: str, minutes: int | None) -> Done:
    """Request a travel document (from the person's country of citizenship) or record a
    follow-up with the consulate; either records the officer's minutes."""
    from caseload.countries.travel_documents import do_request_travel_document
    from caseload.docket.lifecycle import do_record_td_follow_up, log_case_time

    if action == "follow_up":
        do_record_td_follow_up(case=case, note=note, officer=acting_officer(actor, case), minutes=minutes, actor=actor)
        return Done("Travel-document follow-up recorded.", case.pk)
    if action != "request":
        raise UsageError("invalid_action", f"action must be request or follow_up, got {action!r}")
    with transaction.atomic():  # the request locks the case and refuses it if stale or under a guard
        request = do_request_travel_document(case=case, actor=actor)
        officer = acting_officer(actor, case)
        if officer is not None:
            log_case_time(case, officer, "travel_document", minutes)
    return Done(f"Travel document requested from {request.country.name} (request {request.pk}).", case.pk)


def do_stay(*, actor, case: Case, until: dt.date, reason: str, minutes: int | None) -> Done:
    from caseload.docket.lifecycle import do_record_stay

    do_record_stay(case=case, until=until, reason=reason, officer=acting_officer(actor, case), minutes=minutes,
                   actor=actor)
    return Done(f"Stay of removal recorded through {until:%d %b %Y}: removal steps are blocked until then.", case.pk)


def do_claim(*, actor, case: Case, reason: str, minutes: int | None) -> Done:
    from caseload.docket.lifecycle import do_raise_citizenship_claim

    do_raise_citizenship_claim(case=case, reason=reason, officer=acting_officer(actor, case), minutes=minutes,
                               actor=actor)
    return Done("Citizenship claim recorded: removal steps stop until a supervisor decides.", case.pk)


def do_case_transition(*, actor, case: Case, to: str, reason: str, on: dt.date | None, minutes: int | None) -> Done:
    from caseload.docket.lifecycle import TRANSITIONS, case_state, do_transition

    key = (case_state(case), to)
    do_transition(case=case, to=to, reason=reason, on=on, officer=acting_officer(actor, case), minutes=minutes,
                  actor=actor)
    label = TRANSITIONS[key].label if key in TRANSITIONS else to
    return Done(f"Recorded: {label}.", case.pk)


def officer_cases_count(actor) -> int:
    return visible_cases(actor).filter(status=CaseStatus.OPEN).count()


def open_case(actor, *, office: str, **fields) -> dict:
    """Open a case in one of the offices the actor may see (the intake service does the rest:
    validation, person record, automatic assignment with its explanation, priority, first tasks)."""
    from caseload.core.access import access_office
    from caseload.docket.intake import do_open_case

    if role_of(actor) not in CHANGING_ROLES:
        raise Forbidden("read_only_role", "Your role does not open cases.")
    target = access_office(actor, office)
    opened = do_open_case(office=target.code, actor=actor, **fields).as_dict()
    opened["visible"] = visible_cases(actor).filter(pk=opened["case_id"]).exists()
    return opened
