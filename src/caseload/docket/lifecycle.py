"""Case lifecycle: the transition table, versioned writes, and the officer actions on a case.

Every change to a case goes through :func:`write_case`: ``UPDATE … WHERE id = ? AND
version = ?`` with the version read, incremented; if another writer got there first no row
matches and :class:`~caseload.core.errors.Conflict` ``stale_case`` is raised, so a stale write
is refused and never overwrites. The same transaction writes the row's history and the audit
event (and the officer's minutes in the time log). See docs/case-lifecycle.md.

A removal step (scheduling a removal, the transition to removed) also re-checks its guards on
the case's row locked in its own transaction (:func:`~caseload.docket.guards.lock_for_removal_step`),
so a stay or citizenship claim that committed first always wins; a stay or claim recorded after
a removal was scheduled clears the scheduled date in the same write.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F

from caseload.core import audit, clock
from caseload.core.errors import Conflict, Forbidden, NotFound, UsageError
from caseload.core.permissions import is_administrator, is_supervisor
from caseload.countries.models import TravelDocumentRequest
from caseload.docket import tasks as task_rules
from caseload.docket.guards import check_removal_step_allowed, lock_for_removal_step
from caseload.docket.models import (Case, CaseStatus, CitizenshipClaim, CitizenshipClaimDecision, ClaimDecision,
                                    Stage)
from caseload.offices.models import Officer
from caseload.workload.services import log_minutes


PermissionDenied = Forbidden  # the name the docket services and their callers use


# --- reading ------------------------------------------------------------------------------

def access_case(case_id: int) -> Case:
    """The case with its person and office (what guards and services read), or NotFound."""
    try:
        return Case.objects.select_related("person", "office").get(pk=case_id)
    except Case.DoesNotExist:
        raise NotFound("unknown_case", f"no case with id {case_id}") from None


def access_user(username: str):
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise NotFound("unknown_user", f"no user named {username!r}") from None


def check_supervisor(user) -> None:
    if user is None or not (is_supervisor(user) or is_administrator(user)):
        name = getattr(user, "username", None) or "nobody"
        raise PermissionDenied("supervisor_required", f"this decision needs a supervisor; {name} is not one")


def check_open(case: Case) -> None:
    if case.status != CaseStatus.OPEN:
        raise Conflict("case_closed", f"case {case.pk} is closed ({case.close_reason})")


def check_event_date(on: dt.date | None, case: Case | None = None) -> dt.date:
    """The date of something that happened (default today): not after today, and not before
    the ``case`` was opened."""
    today = clock.today()
    on = on or today
    if on > today:
        raise UsageError("date_in_future", f"the date {on} is after today ({today})")
    if case is not None and case.opened_on and on < case.opened_on:
        raise UsageError("date_before_case_opened", f"the date {on} is before case {case.pk} was opened ({case.opened_on})")
    return on


def check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise UsageError("reason_required", "this change needs a reason")
    return reason


# --- writing ------------------------------------------------------------------------------

def write_case(case: Case, *, changes: dict, action: str, actor=None, actor_label: str | None = None,
               reason: str = "", details: dict | None = None) -> Case:
    """Apply ``changes`` if the case still has the version it was read with; history and audit
    in the same transaction. Raises Conflict ``stale_case`` when another writer came first."""
    with transaction.atomic():
        updated = Case.objects.filter(pk=case.pk, version=case.version).update(**changes, version=F("version") + 1)
        if not updated:
            current = Case.objects.filter(pk=case.pk).values_list("version", flat=True).first()
            raise Conflict("stale_case",
                           f"case {case.pk} was changed by someone else since it was read "
                           f"(version {case.version} read, now {current}); reload it and try again",
                           case_id=case.pk, read_version=case.version, current_version=current)
        for name, value in changes.items():
            setattr(case, name, value)
        case.version += 1
        Case.history.bulk_history_create([case], update=True, default_user=actor, default_date=clock.now(),
                                         default_change_reason=(reason or action)[:100])
        audit.record(action=action, actor=actor, actor_label=actor_label, object_type="case", object_id=case.pk,
                     office_id=case.office_id,
                     details={"version": case.version, "changes": changes, **({"reason": reason} if reason else {}),
                              **(details or {})})
    return case


def save_person(person, *, fields: list[str], actor=None, reason: str) -> None:
    """Save person fields with a history row dated by the clock (call inside the case's transaction)."""
    person._history_user = actor
    person._history_date = clock.now()
    person._change_reason = reason[:100]
    person.save(update_fields=fields)


def acting_officer(case: Case, officer: Officer | None) -> Officer:
    """The officer who did the work: the one named, else the case's officer."""
    found = officer or case.officer
    if found is None:
        raise UsageError("officer_required", f"case {case.pk} has no officer: name the officer who did the work")
    return found


def log_case_time(case: Case, officer: Officer | None, activity: str, minutes: int | None, *,
                  required: bool = True) -> dict:
    """Record the acting officer's minutes on the case. Officer work (``required``) needs an
    officer; a record-keeping change made by someone else (a supervisor entering a court
    decision on an unassigned case) has no officer time to record."""
    if not required and officer is None and case.officer is None:
        if minutes is not None:
            raise UsageError("officer_required", f"case {case.pk} has no officer: name the officer whose minutes these are")
        return {}
    entry = log_minutes(officer=acting_officer(case, officer), activity=activity, case=case, minutes=minutes)
    return {"time_entry": entry.pk, "activity": activity, "minutes": entry.minutes, "officer": entry.officer_id}


# --- the transition table -----------------------------------------------------------------

@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    closes: bool = False
    removal_step: bool = False


OPEN_STAGES = (Stage.PENDING, Stage.APPEAL, Stage.FINAL_ORDER)
# (state, new state) -> transition. A state is the proceedings stage of an open case, or
# "closed"; the new state is a stage, "closed" (closed with the stage kept) or "open" (reopened).
TRANSITIONS: dict[tuple[str, str], Transition] = {
    (Stage.PENDING, Stage.APPEAL): Transition("appeal_filed", "appeal filed with the Board of Immigration Appeals"),
    (Stage.PENDING, Stage.FINAL_ORDER): Transition("removal_ordered", "immigration judge's order of removal is final"),
    (Stage.APPEAL, Stage.FINAL_ORDER): Transition("appeal_dismissed", "the Board dismissed the appeal: the order is final"),
    (Stage.APPEAL, Stage.PENDING): Transition("remanded", "the Board remanded the case to the immigration judge"),
    (Stage.FINAL_ORDER, Stage.PENDING): Transition("proceedings_reopened", "a motion to reopen was granted: the order is vacated"),
    (Stage.PENDING, Stage.RELIEF_GRANTED): Transition("relief_granted", "relief from removal granted", closes=True),
    (Stage.APPEAL, Stage.RELIEF_GRANTED): Transition("relief_granted", "relief from removal granted on appeal", closes=True),
    (Stage.PENDING, Stage.TERMINATED): Transition("terminated", "proceedings terminated", closes=True),
    (Stage.APPEAL, Stage.TERMINATED): Transition("terminated", "proceedings terminated", closes=True),
    (Stage.FINAL_ORDER, Stage.TERMINATED): Transition("terminated", "proceedings terminated after the order", closes=True),
    (Stage.FINAL_ORDER, Stage.REMOVED): Transition("removed", "the person was removed", closes=True, removal_step=True),
    **{(stage, "closed"): Transition("closed", "case closed with its stage kept (transfer, death, departure, duplicate)",
                                     closes=True) for stage in OPEN_STAGES},
    ("closed", "open"): Transition("reopened", "a closed case reopened"),
}
TARGETS = sorted({new for _, new in TRANSITIONS})


def case_state(case: Case) -> str:
    return "closed" if case.status == CaseStatus.CLOSED else case.stage


def allowed_targets(case: Case) -> list[str]:
    state = case_state(case)
    allowed = [new for (old, new) in TRANSITIONS if old == state]
    if state == "closed" and case.stage not in OPEN_STAGES:
        allowed.remove("open")  # a removal, grant of relief or termination is final for this case
    return allowed


def _changes(case: Case, key: tuple[str, str], on: dt.date, reason: str) -> dict:
    """The column changes of one transition (the model's check constraints hold afterwards)."""
    match key:
        case (Stage.PENDING, Stage.APPEAL):
            return {"stage": Stage.APPEAL, "appeal_pending": True, "appeal_filed_on": on, "stage_changed_on": on}
        case (Stage.PENDING | Stage.APPEAL, Stage.FINAL_ORDER):
            if on < case.proceedings_started_on:
                raise UsageError("date_before_proceedings",
                                 f"a final order on {on} is before the proceedings began ({case.proceedings_started_on})")
            return {"stage": Stage.FINAL_ORDER, "appeal_pending": False, "final_order_date": on,
                    "custody_review_count": 0, "stage_changed_on": on}
        case (Stage.APPEAL, Stage.PENDING):
            return {"stage": Stage.PENDING, "appeal_pending": False, "stage_changed_on": on}
        case (Stage.FINAL_ORDER, Stage.PENDING):
            return {"stage": Stage.PENDING, "final_order_date": None, "custody_review_count": 0,
                    "removal_scheduled_for": None, "stage_changed_on": on}
        case (_, "closed"):
            return {"status": CaseStatus.CLOSED, "closed_on": on, "close_reason": reason[:200]}
        case ("closed", "open"):
            return {"status": CaseStatus.OPEN, "closed_on": None, "close_reason": ""}
        case (_, new_stage):  # relief granted, terminated, removed: the stage ends the case
            return {"stage": new_stage, "appeal_pending": False, "removal_scheduled_for": None, "stage_changed_on": on,
                    "status": CaseStatus.CLOSED, "closed_on": on, "close_reason": reason[:200]}


def check_transition(case: Case, to: str) -> tuple[tuple[str, str], Transition]:
    """The transition from the case's state to ``to``, or Conflict ``transition_not_allowed``;
    a removal step also passes the due-process guards (stay, appeal, citizenship claim)."""
    key = (case_state(case), to)
    if key not in TRANSITIONS or to not in allowed_targets(case):
        raise Conflict("transition_not_allowed",
                       f"case {case.pk} cannot go from {key[0]} to {to}; allowed: {', '.join(allowed_targets(case)) or 'none'}",
                       state=key[0], to=to, allowed=allowed_targets(case))
    transition = TRANSITIONS[key]
    if transition.removal_step:
        check_removal_step_allowed(case, step="removal")
    return key, transition


def do_transition(*, case: Case, to: str, reason: str, on: dt.date | None = None, officer: Officer | None = None,
                  minutes: int | None = None, actor=None, actor_label: str | None = None) -> Case:
    """Move the case to a new stage or status through the transition table (with its guards)."""
    reason = check_reason(reason)
    on = check_event_date(on)
    key, transition = check_transition(case, to)
    changes = _changes(case, key, on, reason)
    check_event_date(on, case)  # after the transition's own date checks, which say more
    with transaction.atomic():
        if transition.removal_step:
            case = lock_for_removal_step(case, step="removal")
        time = log_case_time(case, officer, "case_review", minutes, required=False)
        return write_case(case, changes=changes, action="case.transition", actor=actor, actor_label=actor_label,
                          reason=reason, details={"from": key[0], "to": to, "transition": transition.name,
                                                  "on": on, **time})


# --- stays and removal scheduling -----------------------------------------------------------

def do_record_stay(*, case: Case, until: dt.date, reason: str, officer: Officer | None = None, minutes: int | None = None,
                   actor=None, actor_label: str | None = None) -> Case:
    """Record a stay of removal in effect through ``until`` (I-246, BIA or court stay)."""
    check_open(case)
    reason = check_reason(reason)
    if until < clock.today():
        raise UsageError("date_in_past", f"a stay until {until} has already ended")
    with transaction.atomic():
        time = log_case_time(case, officer, "case_review", minutes, required=False)
        return write_case(case, changes={"stay_of_removal_until": until, **_unschedule(case)}, action="case.stay_recorded",
                          actor=actor, actor_label=actor_label, reason=reason,
                          details={**time, **_unscheduled_details(case)})


def _unschedule(case: Case) -> dict:
    """A stay or claim recorded after a removal was scheduled clears the scheduled date."""
    return {"removal_scheduled_for": None} if case.removal_scheduled_for else {}


def _unscheduled_details(case: Case) -> dict:
    return {"removal_unscheduled": case.removal_scheduled_for} if case.removal_scheduled_for else {}


def do_lift_stay(*, case: Case, reason: str, officer: Officer | None = None, minutes: int | None = None,
                 actor=None, actor_label: str | None = None) -> Case:
    check_open(case)
    reason = check_reason(reason)
    if case.stay_of_removal_until is None or case.stay_of_removal_until < clock.today():
        raise Conflict("no_stay", f"case {case.pk} has no stay in effect")
    with transaction.atomic():
        time = log_case_time(case, officer, "case_review", minutes, required=False)
        return write_case(case, changes={"stay_of_removal_until": None}, action="case.stay_lifted", actor=actor,
                          actor_label=actor_label, reason=reason, details=time)


def do_release_from_detention(*, case: Case, supervision_type: str, reason: str, cadence_days: int,
                              officer: Officer | None = None, minutes: int | None = None, actor=None,
                              actor_label: str | None = None) -> Case:
    """Release a detained person onto the non-detained docket (e.g. an order of supervision).

    A final-order case whose removal may not be reasonably foreseeable (uncooperative country,
    no travel document after 180 days) needs a decided foreseeability review on record first
    (countries.foreseeability), so a release is never decided without that review.
    """
    from caseload.countries.foreseeability import check_release_decision_allowed
    from caseload.docket.models import SupervisionType
    from caseload.offices.models import Unit

    check_open(case)
    reason = check_reason(reason)
    if case.unit != Unit.DETAINED:
        raise Conflict("not_detained", f"case {case.pk} is on the {case.unit} docket, not detained")
    if supervision_type not in SupervisionType.values:
        raise UsageError("invalid_supervision_type", f"supervision type must be one of {', '.join(SupervisionType.values)}")
    if cadence_days <= 0:
        raise UsageError("invalid_cadence", "the reporting cadence must be at least one day")
    check_release_decision_allowed(case)
    today = clock.today()
    with transaction.atomic():
        time = log_case_time(case, officer, "custody_review", minutes, required=False)
        return write_case(case, changes={"unit": Unit.NON_DETAINED, "supervision_type": supervision_type,
                                         "reporting_cadence_days": cadence_days,
                                         "next_report_due": today + dt.timedelta(days=cadence_days)},
                          action="case.released", actor=actor, actor_label=actor_label, reason=reason,
                          details={"supervision_type": supervision_type, "cadence_days": cadence_days, **time})


def check_final_order(case: Case) -> None:
    check_open(case)
    if case.stage != Stage.FINAL_ORDER:
        raise Conflict("no_final_order", f"case {case.pk} has no final order (stage {case.stage})")


def do_schedule_removal(*, case: Case, on: dt.date, reason: str, officer: Officer | None = None,
                        minutes: int | None = None, actor=None, actor_label: str | None = None) -> Case:
    """Schedule the removal: a removal step, refused while a due-process guard blocks it."""
    check_final_order(case)
    reason = check_reason(reason)
    if on < clock.today():
        raise UsageError("date_in_past", f"a removal cannot be scheduled for a past date ({on})")
    check_removal_step_allowed(case, step="removal_scheduling")
    with transaction.atomic():
        case = lock_for_removal_step(case, step="removal_scheduling")
        time = log_case_time(case, officer, "case_review", minutes)
        return write_case(case, changes={"removal_scheduled_for": on}, action="case.removal_scheduled", actor=actor,
                          actor_label=actor_label, reason=reason, details=time)


# --- claims to U.S. citizenship -------------------------------------------------------------

def do_raise_citizenship_claim(*, case: Case, reason: str, on: dt.date | None = None, officer: Officer | None = None,
                               minutes: int | None = None, actor=None, actor_label: str | None = None) -> Case:
    """Record that the person claims U.S. citizenship: removal steps stop until a supervisor decides."""
    check_open(case)
    reason = check_reason(reason)
    on = check_event_date(on, case)
    person = case.person
    if person.citizenship_claim == CitizenshipClaim.OPEN:
        raise Conflict("claim_already_open", f"{person.a_number_display} already has an unresolved citizenship claim")
    with transaction.atomic():
        time = log_case_time(case, officer, "case_review", minutes, required=False)
        case = write_case(case, changes=_unschedule(case), action="person.citizenship_claim_raised", actor=actor,
                          actor_label=actor_label, reason=reason,
                          details={"person": person.pk, "raised_on": on, **time, **_unscheduled_details(case)})
        person.citizenship_claim, person.citizenship_claim_raised_on = CitizenshipClaim.OPEN, on
        save_person(person, fields=["citizenship_claim", "citizenship_claim_raised_on"], actor=actor, reason=reason)
    return case


def do_decide_citizenship_claim(*, case: Case, decision: str, reason: str, supervisor) -> CitizenshipClaimDecision:
    """A supervisor decides an open claim, with the reason. An upheld claim ends the case
    (stage terminated, closed): a U.S. citizen is not subject to removal."""
    check_supervisor(supervisor)
    reason = check_reason(reason)
    if decision not in ClaimDecision.values:
        raise UsageError("invalid_decision", f"decision must be one of {', '.join(ClaimDecision.values)}, got {decision!r}")
    person = case.person
    if person.citizenship_claim != CitizenshipClaim.OPEN:
        raise Conflict("no_open_claim", f"{person.a_number_display} has no unresolved citizenship claim")
    with transaction.atomic():
        record = CitizenshipClaimDecision.objects.create(person=person, case=case, office_id=case.office_id,
                                                         decision=decision, reason=reason, decided_by=supervisor,
                                                         decided_at=clock.now())
        person.citizenship_claim = decision
        save_person(person, fields=["citizenship_claim"], actor=supervisor, reason=reason)
        changes = {}
        if decision == ClaimDecision.UPHELD and case.status == CaseStatus.OPEN:
            changes = _changes(case, (case.stage, Stage.TERMINATED), clock.today(),
                               f"claim to U.S. citizenship upheld: {reason}")
        write_case(case, changes=changes, action="person.citizenship_claim_decided", actor=supervisor, reason=reason,
                   details={"person": person.pk, "decision": decision, "decision_id": record.pk})
    return record


# --- officer actions that satisfy due tasks -------------------------------------------------

def do_serve_warning(*, case: Case, on: dt.date | None = None, officer: Officer | None = None, minutes: int | None = None,
                     actor=None, actor_label: str | None = None) -> Case:
    """Form I-229(a) warning for failure to depart served (satisfies failure_to_depart_warning)."""
    check_final_order(case)
    on = check_event_date(on, case)
    if on < case.final_order_date:
        raise UsageError("date_before_order", f"the warning date {on} is before the final order ({case.final_order_date})")
    with transaction.atomic():
        time = log_case_time(case, officer, "warning_service", minutes)
        return write_case(case, changes={"warning_served_on": on, "last_contact_on": max(on, case.last_contact_on or on)},
                          action="case.warning_served", actor=actor, actor_label=actor_label, details={"on": on, **time})


REVIEW_KINDS = ("custody", "national_security")


def do_record_review(*, case: Case, kind: str, on: dt.date | None = None, note: str = "", officer: Officer | None = None,
                     minutes: int | None = None, actor=None, actor_label: str | None = None) -> Case:
    """A post-order custody/supervision review, or the periodic national-security review."""
    check_open(case)
    on = check_event_date(on, case)
    if kind == "custody":
        check_final_order(case)
        milestones = task_rules.load_rules().param("custody_review", "milestones_days").get(case.unit, [])
        # One review meets the next milestone, and every milestone already past (a late review).
        passed = sum(1 for d in milestones if case.final_order_date + dt.timedelta(days=d) <= on)
        count = min(len(milestones), max(case.custody_review_count + 1, passed))
        changes, activity = {"custody_reviewed_on": on, "custody_review_count": count}, "custody_review"
    elif kind == "national_security":
        if not case.person.national_security_flag:
            raise Conflict("not_national_security", f"case {case.pk} is not a national-security case")
        changes, activity = {"ns_reviewed_on": on}, "case_review"
    else:
        raise UsageError("invalid_review_kind", f"kind must be one of {', '.join(REVIEW_KINDS)}, got {kind!r}")
    with transaction.atomic():
        time = log_case_time(case, officer, activity, minutes)
        return write_case(case, changes=changes, action=f"case.{kind}_review_recorded", actor=actor,
                          actor_label=actor_label, details={"on": on, "note": note, **time})


def do_record_td_follow_up(*, case: Case, on: dt.date | None = None, note: str = "", officer: Officer | None = None,
                           minutes: int | None = None, actor=None, actor_label: str | None = None) -> Case:
    """Follow-up with the consulate on a pending travel-document request."""
    check_open(case)
    on = check_event_date(on, case)
    pending = task_rules.load_rules().param("travel_document_follow_up", "pending_statuses")
    request_ids = list(TravelDocumentRequest.objects.filter(case=case, status__in=pending).values_list("id", flat=True))
    if not request_ids:
        raise Conflict("no_pending_travel_document", f"case {case.pk} has no pending travel-document request")
    with transaction.atomic():
        time = log_case_time(case, officer, "travel_document", minutes)
        return write_case(case, changes={"td_followed_up_on": on}, action="case.travel_document_followed_up",
                          actor=actor, actor_label=actor_label,
                          details={"on": on, "note": note, "requests": request_ids, **time})


def do_record_contact(*, case: Case, activity: str = "home_visit", on: dt.date | None = None, note: str = "",
                      officer: Officer | None = None, minutes: int | None = None, actor=None,
                      actor_label: str | None = None) -> Case:
    """Officer contact with the person outside a check-in (e.g. a home or employment visit)."""
    check_open(case)
    on = check_event_date(on, case)
    with transaction.atomic():
        time = log_case_time(case, officer, activity, minutes)
        return write_case(case, changes={"last_contact_on": max(on, case.last_contact_on or on)},
                          action="case.contact_recorded", actor=actor, actor_label=actor_label,
                          details={"on": on, "note": note, **time})
