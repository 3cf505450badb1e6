"""Check-ins, records checks, and the case columns derived from them.

A check-in is recorded as appeared, missed or rescheduled, in person or by ATD technology.
An appearance cannot be completed without a records-check result (clear, hit with details,
or system unavailable with the reason); a hit waits for a supervisor's review; an
unavailable check leaves a records check owed. Consecutive missed check-ins reaching the
threshold in ``data/task_rules.toml`` mark the person as having failed to report. Each of
these becomes a due task through the case's derived columns, so nothing is silently dropped.

The derived columns (``records_check_owed_since``, ``hit_review_owed_since``,
``missed_in_a_row``) come from one SQL aggregate over the check-ins (:func:`facts_sql`),
used for one case by the services and for every bulk-loaded case by :func:`refresh_derived`.
See docs/case-lifecycle.md.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import connection, transaction

from caseload.core import audit, clock
from caseload.core.errors import Conflict, UsageError
from caseload.docket import tasks as task_rules
from caseload.docket.lifecycle import (check_open, check_reason, check_supervisor, log_case_time, save_person,
                                       write_case)
from caseload.docket.models import (Case, CheckIn, CheckInMethod, CheckInOutcome, Person, RecordsCheck,
                                    SupervisionType)
from caseload.offices.models import Officer

CASE = Case._meta.db_table
CHECKIN = CheckIn._meta.db_table
PERSON = Person._meta.db_table
RESULTS = (RecordsCheck.CLEAR, RecordsCheck.HIT, RecordsCheck.UNAVAILABLE)
NEEDS_DETAIL = (RecordsCheck.HIT, RecordsCheck.UNAVAILABLE)



def facts_sql(scope: str) -> str:
    """Per case: the earliest attended check-in still lacking a records-check result, the
    earliest unreviewed hit, and the missed check-ins since the last appearance. A check-in's
    day is the day the person appeared, else its scheduled day. ``scope`` narrows the scan to
    some cases (an SQL condition on ``case_id``)."""
    def day(alias: str) -> str:
        occurred = f"CAST({alias}occurred_at AS date)" if connection.vendor == "postgresql" else f"date({alias}occurred_at)"
        return f"CASE WHEN {alias}outcome = 'appeared' THEN {occurred} ELSE {alias}scheduled_for END"

    ci_day = day("ci.")
    return f"""
SELECT ci.case_id,
       MIN(CASE WHEN ci.outcome = 'appeared' AND ci.records_check IN ('not_run', 'unavailable') THEN {ci_day} END) AS rc_owed,
       MIN(CASE WHEN ci.records_check = 'hit' AND ci.hit_reviewed_on IS NULL THEN {ci_day} END) AS hit_owed,
       SUM(CASE WHEN ci.outcome = 'missed' AND (la.last_appeared IS NULL OR ci.scheduled_for > la.last_appeared)
                THEN 1 ELSE 0 END) AS missed
FROM {CHECKIN} ci
LEFT JOIN (SELECT case_id, MAX({day('')}) AS last_appeared FROM {CHECKIN}
           WHERE outcome = 'appeared' AND {scope} GROUP BY case_id) la ON la.case_id = ci.case_id
WHERE {scope.replace("case_id", "ci.case_id")}
GROUP BY ci.case_id
"""


def check_in_facts(case_id: int) -> dict:
    """The derived columns of one case, from its check-ins."""
    sql = facts_sql("case_id = %s")
    with connection.cursor() as cur:
        cur.execute(sql, [case_id, case_id])
        row = cur.fetchone()
    if row is None:
        return {"records_check_owed_since": None, "hit_review_owed_since": None, "missed_in_a_row": 0}
    _, rc_owed, hit_owed, missed = row
    return {"records_check_owed_since": _as_date(rc_owed), "hit_review_owed_since": _as_date(hit_owed),
            "missed_in_a_row": int(missed or 0)}


def _as_date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)  # SQLite returns the stored text


def default_method(case: Case) -> str:
    return CheckInMethod.ATD_TECHNOLOGY if case.supervision_type == SupervisionType.ATD else CheckInMethod.IN_PERSON


def check_records_check(result: str | None, detail: str) -> str:
    """A usable records-check result: clear, hit with details, unavailable with the reason."""
    if result is None or result == RecordsCheck.NOT_RUN:
        raise Conflict("records_check_required",
                       "a check-in cannot be completed until a records-check result is recorded "
                       "(clear, hit with details, or unavailable with the reason)")
    if result not in RESULTS:
        raise UsageError("invalid_records_check", f"records-check result must be one of {', '.join(RESULTS)}, got {result!r}")
    if result in NEEDS_DETAIL and not detail.strip():
        what = "the details of the hit" if result == RecordsCheck.HIT else "the reason the system was unavailable"
        raise UsageError("records_check_detail_required", f"a {result} records check needs {what}")
    return result


def do_record_check_in(*, case: Case, outcome: str, method: str | None = None, scheduled_for: dt.date | None = None,
                       occurred_at: dt.datetime | None = None, records_check: str | None = None,
                       records_check_detail: str = "", reschedule_to: dt.date | None = None, note: str = "",
                       officer: Officer | None = None, minutes: int | None = None,
                       records_check_minutes: int | None = None, actor=None, actor_label: str | None = None) -> CheckIn:
    """Record a check-in and bring the case's schedule and derived columns up to date.

    - appeared: needs the records-check result; sets last contact and the next report date
      (appearance + cadence), resets the missed count and clears a failure to report; the
      officer's interview and records-check minutes go to the time log.
    - missed: counts towards failure to report; the report stays due (overdue) until the
      person appears or the check-in is rescheduled.
    - rescheduled: needs the new date and the reason; moves the next report date.
    """
    check_open(case)
    if outcome not in (CheckInOutcome.APPEARED, CheckInOutcome.MISSED, CheckInOutcome.RESCHEDULED):
        raise UsageError("invalid_outcome", f"outcome must be appeared, missed or rescheduled, got {outcome!r}")
    method = method or default_method(case)
    if method not in CheckInMethod.values:
        raise UsageError("invalid_method", f"method must be one of {', '.join(CheckInMethod.values)}, got {method!r}")
    now = clock.now()
    scheduled_for = scheduled_for or case.next_report_due or now.date()
    row = CheckIn(case=case, office_id=case.office_id, scheduled_for=scheduled_for, outcome=outcome, method=method,
                  note=note.strip())
    changes: dict = {}
    if outcome == CheckInOutcome.APPEARED:
        row.records_check = check_records_check(records_check, records_check_detail)
        row.records_check_detail = records_check_detail.strip()
        row.occurred_at = occurred_at or now
        row.records_check_at = row.occurred_at
        if row.occurred_at > now:
            raise UsageError("date_in_future", f"the check-in time {row.occurred_at} is in the future")
        seen = row.occurred_at.astimezone(dt.UTC).date()
        changes = {"last_contact_on": max(seen, case.last_contact_on or seen),
                   "next_report_due": seen + dt.timedelta(days=case.reporting_cadence_days)}
    else:
        if outcome == CheckInOutcome.MISSED and scheduled_for > now.date():
            raise UsageError("date_in_future", f"a check-in scheduled for {scheduled_for} cannot have been missed yet")
        if records_check is not None:
            raise UsageError("records_check_not_applicable", f"a {outcome} check-in has no records check (the person was not seen)")
        if outcome == CheckInOutcome.RESCHEDULED:
            check_reason(note)
            if reschedule_to is None or reschedule_to < now.date():
                raise UsageError("reschedule_date_required", "a rescheduled check-in needs a new date, today or later")
            row.rescheduled_to = reschedule_to
            changes = {"next_report_due": reschedule_to}
    with transaction.atomic():
        row.officer = _acting(case, officer)
        row.save()
        time_details = _check_in_time(case, row, officer, minutes, records_check_minutes)
        changes.update(check_in_facts(case.pk))
        person_event = _failure_to_report_change(case, row, changes["missed_in_a_row"], actor)
        write_case(case, changes=changes, action="checkin.recorded", actor=actor, actor_label=actor_label,
                   details={"check_in": row.pk, "outcome": outcome, "method": method,
                            "records_check": row.records_check, "scheduled_for": scheduled_for, **time_details})
        if person_event:
            audit.record(actor=actor, actor_label=actor_label, object_type="person", object_id=case.person_id,
                         office_id=case.office_id, **person_event)
    return row


def _acting(case: Case, officer: Officer | None) -> Officer | None:
    return officer or case.officer


def _check_in_time(case: Case, row: CheckIn, officer: Officer | None, minutes: int | None,
                   records_check_minutes: int | None) -> dict:
    """Minutes of an appearance: the interview (or ATD review) and the records check. A missed
    or rescheduled check-in records time only when minutes are given."""
    if row.outcome != CheckInOutcome.APPEARED:
        return log_case_time(case, officer, "check_in", minutes, required=False) if minutes is not None else {}
    interview = "atd_review" if row.method == CheckInMethod.ATD_TECHNOLOGY else "check_in"
    first = log_case_time(case, officer, interview, minutes)
    second = log_case_time(case, officer, "records_check", records_check_minutes)
    return {"time_entries": [first["time_entry"], second["time_entry"]],
            "minutes": {interview: first["minutes"], "records_check": second["minutes"]}}


def _failure_to_report_change(case: Case, row: CheckIn, missed: int, actor) -> dict | None:
    """Mark or clear the person's failure to report; return the audit event to write, if any."""
    person = case.person
    threshold = task_rules.load_rules().missed_in_a_row
    if row.outcome == CheckInOutcome.APPEARED and person.failed_to_report_on is not None:
        marked = person.failed_to_report_on
        person.failed_to_report_on = None
        save_person(person, fields=["failed_to_report_on"], actor=actor, reason="reported at a check-in")
        return {"action": "person.failure_to_report_cleared", "details": {"marked_on": marked, "check_in": row.pk}}
    if row.outcome == CheckInOutcome.MISSED and missed >= threshold and person.failed_to_report_on is None:
        person.failed_to_report_on = row.scheduled_for
        save_person(person, fields=["failed_to_report_on"], actor=actor,
                    reason=f"{missed} check-ins missed in a row")
        return {"action": "person.failed_to_report",
                "details": {"missed_in_a_row": missed, "threshold": threshold, "check_in": row.pk}}
    return None


def do_record_records_check(*, case: Case, result: str, detail: str = "", check_in: CheckIn | None = None,
                            officer: Officer | None = None, minutes: int | None = None, actor=None,
                            actor_label: str | None = None) -> list[int]:
    """Record a records check run after the check-in it belongs to (the system was unavailable,
    or the check was skipped). Without ``check_in`` the result covers every attended check-in
    of the case still lacking one: a check run today covers the history before it."""
    check_open(case)
    result = check_records_check(result, detail)
    owed = CheckIn.objects.filter(case=case, outcome=CheckInOutcome.APPEARED,
                                  records_check__in=[RecordsCheck.NOT_RUN, RecordsCheck.UNAVAILABLE])
    if check_in is not None:
        owed = owed.filter(pk=check_in.pk)
    ids = list(owed.order_by("scheduled_for", "id").values_list("id", flat=True))
    if not ids:
        which = f"check-in {check_in.pk}" if check_in is not None else f"case {case.pk}"
        raise Conflict("no_records_check_owed", f"{which} has no attended check-in lacking a records-check result")
    with transaction.atomic():
        CheckIn.objects.filter(pk__in=ids).update(records_check=result, records_check_detail=detail.strip(),
                                                  records_check_at=clock.now())
        time_details = log_case_time(case, officer, "records_check", minutes)
        write_case(case, changes=check_in_facts(case.pk), action="checkin.records_check_recorded", actor=actor,
                   actor_label=actor_label, details={"check_ins": ids, "records_check": result, **time_details})
    return ids


def do_review_hit(*, check_in: CheckIn, decision: str, supervisor) -> CheckIn:
    """A supervisor's review of a records-check hit, with the decision taken."""
    check_supervisor(supervisor)
    decision = check_reason(decision)
    if check_in.records_check != RecordsCheck.HIT or check_in.hit_reviewed_on is not None:
        raise Conflict("no_hit_to_review", f"check-in {check_in.pk} has no records-check hit awaiting review")
    case = check_in.case
    with transaction.atomic():
        today = clock.today()
        CheckIn.objects.filter(pk=check_in.pk).update(hit_reviewed_on=today, hit_reviewed_by=supervisor,
                                                      hit_review_decision=decision)
        check_in.hit_reviewed_on, check_in.hit_reviewed_by, check_in.hit_review_decision = today, supervisor, decision
        write_case(case, changes=check_in_facts(case.pk), action="checkin.hit_reviewed", actor=supervisor,
                   reason=decision, details={"check_in": check_in.pk})
    return check_in


# --- bulk: derived columns of bulk-loaded cases ------------------------------------------------

def stale_count() -> int:
    return Case.objects.filter(derived_current=False).count()


def refresh_derived(*, all_cases: bool = False, actor=None, actor_label: str | None = None) -> dict:
    """Compute the derived columns set-based, for the cases a bulk load wrote (derived_current
    false) or, with ``all_cases``, for every case (after check-ins were loaded for existing
    cases). Marks people whose missed check-ins reach the threshold as having failed to report.
    One audit event records the counts."""
    started = time.perf_counter()
    threshold = task_rules.load_rules().missed_in_a_row
    scope_cases = "1 = 1" if all_cases else f"case_id IN (SELECT id FROM {CASE} WHERE NOT derived_current)"
    stale_case = "" if all_cases else f" AND NOT {CASE}.derived_current"
    facts = facts_sql(scope_cases)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {CASE} WHERE {'1 = 1' if all_cases else 'NOT derived_current'}")
        cases = cur.fetchone()[0]
        if all_cases:
            cur.execute(f"UPDATE {CASE} SET records_check_owed_since = NULL, hit_review_owed_since = NULL, missed_in_a_row = 0")
        cur.execute(f"UPDATE {CASE} SET records_check_owed_since = f.rc_owed, hit_review_owed_since = f.hit_owed, "
                    f"missed_in_a_row = f.missed FROM ({facts}) f WHERE {CASE}.id = f.case_id{stale_case}")
        cur.execute(
            f"UPDATE {PERSON} SET failed_to_report_on = m.last_missed FROM ("
            f"SELECT c.person_id, MAX(ci.scheduled_for) AS last_missed FROM {CASE} c "
            f"JOIN {CHECKIN} ci ON ci.case_id = c.id AND ci.outcome = 'missed' "
            f"WHERE c.status = 'open' AND c.missed_in_a_row >= %s{stale_case.replace(CASE + '.', 'c.')} "
            f"GROUP BY c.person_id) m WHERE {PERSON}.id = m.person_id AND {PERSON}.failed_to_report_on IS NULL",
            [threshold])
        marked = cur.rowcount
        cur.execute(f"UPDATE {CASE} SET derived_current = TRUE WHERE NOT derived_current")
        summary = {"cases": cases, "all_cases": all_cases, "failed_to_report_marked": marked}
        audit.record(action="docket.derived_refreshed", actor=actor, actor_label=actor_label or "system",
                     object_type="docket", details=summary)
    if cases:
        _analyze()
    return {**summary, "seconds": round(time.perf_counter() - started, 3)}


def _analyze() -> None:
    """Fresh planner statistics: the load left every row stale, so the stale-row index looked
    huge to the planner; now it is empty (SQLite samples, as the bulk loader does)."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("PRAGMA analysis_limit = 1000")
        cur.execute(f"ANALYZE {CASE}")
        cur.execute(f"ANALYZE {PERSON}")


def ensure_derived_current(*, actor_label: str, progress=None) -> dict | None:
    """Refresh if a bulk load left cases without their derived columns; None if nothing to do."""
    if not Case.objects.filter(derived_current=False).exists():
        return None
    if progress:
        progress(stale_count())
    return refresh_derived(actor_label=actor_label)
