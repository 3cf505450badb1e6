"""Commands for the worklist, the overdue summary, check-ins and case changes.

Mounted at the top level by ``caseload.cli``: ``caseload worklist``, ``caseload overdue`` and
the groups ``caseload checkin``, ``caseload case`` and ``caseload tasks``. See
docs/worklist.md and docs/case-lifecycle.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, command, emit, parse_date, stderr, stdout, table

app = typer.Typer(no_args_is_help=True)
checkin_app = typer.Typer(no_args_is_help=True, help="Record check-ins, records checks and the review of hits.")
case_app = typer.Typer(no_args_is_help=True, help="Change a case: stage and status, stays, claims, officer actions.")
tasks_app = typer.Typer(no_args_is_help=True, help="The due-task rules and the case columns derived from check-ins.")
app.add_typer(checkin_app, name="checkin")
app.add_typer(case_app, name="case")
app.add_typer(tasks_app, name="tasks")

TEXT_ROWS = 200  # text output lists this many tasks; --format json lists them all

AsOf = Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="the date tasks are judged against (default today)")]
OfficerOpt = Annotated[int | None, typer.Option("--officer", help="officer who did the work (default: the case's officer)")]
MinutesOpt = Annotated[int | None, typer.Option("--minutes", help="minutes spent (default: the activity's default)")]
OnOpt = Annotated[str | None, typer.Option("--on", metavar="DATE", help="date of the event (default today)")]
CaseArg = Annotated[int, typer.Argument(help="case id")]


def _ensure_derived(label: str, fmt: Format) -> None:
    """Derive check-in facts for bulk-loaded cases before reading tasks (seconds at scale 1.0)."""
    from caseload.docket.checkins import ensure_derived_current

    with stderr.status("deriving check-in facts of bulk-loaded cases …"):
        done = ensure_derived_current(actor_label=label)
    if done:
        stderr.print(f"derived check-in facts for {done['cases']:,} bulk-loaded cases in {done['seconds']:.1f} s")


def _officer(officer_id: int | None):
    if officer_id is None:
        return None
    from caseload.workload.services import access_officer

    return access_officer(officer_id)


def _case_result(fmt: Format, case, message: str) -> None:
    doc = {"case_id": case.pk, "version": case.version, "stage": case.stage, "status": case.status}
    emit(fmt, doc, lambda: stderr.print(f"{message} (case {case.pk}, version {case.version})"))


def _record_listed(command_name: str, rows: list[dict]) -> None:
    """A command that prints A-numbers is an audited read of the cases it shows."""
    from caseload.core.audit import record_read
    from caseload.docket import anumber

    shown = {r["case_id"]: anumber.normalize(r["a_number"]) for r in rows}
    record_read(action="case.list", via=command_name, case_ids=list(shown), a_numbers=list(shown.values()))


@app.command("worklist")
@command
def worklist(officer: Annotated[int, typer.Option("--officer", help="officer id")],
             as_of: AsOf = None, fmt: FormatOption = Format.text) -> None:
    """One officer's due tasks: overdue first, then priority, then due date."""
    from caseload.docket.worklist import officer_worklist

    day = parse_date(as_of, "--as-of")
    _ensure_derived("cli:worklist", fmt)
    doc = officer_worklist(officer=officer, as_of=day)
    _record_listed("worklist", doc["tasks"] if fmt == Format.json else doc["tasks"][:TEXT_ROWS])

    def render() -> None:
        counts = doc["counts"]
        table(f"Officer {officer}: {counts['cases']:,} open cases, {counts['tasks']:,} tasks due by the horizon, "
              f"{counts['overdue']:,} overdue (as of {doc['as_of']})", ["task", "due", "overdue"],
              [[k, v["tasks"], v["overdue"]] for k, v in counts["by_task"].items() if v["tasks"]])
        table("Tasks", ["A-number", "case", "task", "due", "overdue", "priority"],
              [[t["a_number"], str(t["case_id"]), t["task"], t["due"], "yes" if t["overdue"] else "", t["priority"] or ""]
               for t in doc["tasks"][:TEXT_ROWS]])
        if len(doc["tasks"]) > TEXT_ROWS:
            stdout.print(f"… and {len(doc['tasks']) - TEXT_ROWS:,} more tasks (--format json lists them all)")

    emit(fmt, doc, render)


@app.command("overdue")
@command
def overdue(office: Annotated[str | None, typer.Option("--office", help="field office code, e.g. WAS")] = None,
            as_of: AsOf = None, fmt: FormatOption = Format.text) -> None:
    """Overdue tasks by type per office and per officer; unassigned and stale national-security cases listed."""
    from caseload.docket.worklist import overdue_summary

    day = parse_date(as_of, "--as-of")
    _ensure_derived("cli:overdue", fmt)
    doc = overdue_summary(office=office, as_of=day)
    _record_listed("overdue", [r for key in ("unassigned_cases", "stale_national_security_cases")
                               for r in (doc[key] if fmt == Format.json else doc[key][:TEXT_ROWS])])

    def render() -> None:
        def largest(by_task: dict) -> str:
            top = sorted(((n, t) for t, n in by_task.items() if n), reverse=True)[:3]
            return ", ".join(f"{t} {n:,}" for n, t in top)

        table(f"Overdue tasks as of {doc['as_of']} ({doc['rule_set']}), {doc['office'] or 'all offices'}",
              ["task", "overdue"], [[t, n] for t, n in doc["totals"]["by_task"].items()] + [["total", doc["totals"]["overdue"]]])
        table("By office", ["office", "open cases", "overdue", "largest"],
              [[o["office"], o["open_cases"], o["overdue"], largest(o["by_task"])] for o in doc["offices"]])
        table("By officer", ["officer", "name", "office", "open cases", "overdue", "largest"],
              [[str(o["officer"]), o["name"], o["office"], o["open_cases"], o["overdue"], largest(o["by_task"])]
               for o in doc["officers"]])
        for key, title, cols in (
                ("unassigned_cases", "Unassigned cases", ["case_id", "a_number", "office", "opened_on", "stage"]),
                ("stale_national_security_cases", "Stale national-security cases",
                 ["case_id", "a_number", "office", "officer", "last_contact_on", "ns_reviewed_on", "reasons"])):
            rows = doc[key]
            table(f"{title}: {len(rows):,}", cols,
                  [[", ".join(r[c]) if c == "reasons" else "" if r[c] is None else str(r[c]) for c in cols]
                   for r in rows[:TEXT_ROWS]])
            if len(rows) > TEXT_ROWS:
                stdout.print(f"… and {len(rows) - TEXT_ROWS:,} more {title.lower()} (--format json lists them all)")
        if doc["officers_on_leave"]:
            table("Officers on leave: their cases are covered by the supervisor", ["officer", "name", "office", "until",
                                                                                  "open cases"],
                  [[str(o["officer"]), o["name"], o["office"], o["leave_until"] or "", o["open_cases"]]
                   for o in doc["officers_on_leave"]])

    emit(fmt, doc, render)


# --- check-ins --------------------------------------------------------------------------------

@checkin_app.command("record")
@command
def checkin_record(
    case_id: Annotated[int, typer.Option("--case", help="case id")],
    outcome: Annotated[str, typer.Option("--outcome", help="appeared, missed or rescheduled")],
    method: Annotated[str | None, typer.Option("--method", help="in_person or atd_technology (default by supervision type)")] = None,
    records_check: Annotated[str | None, typer.Option("--records-check", help="clear, hit or unavailable (required when appeared)")] = None,
    detail: Annotated[str, typer.Option("--detail", help="details of a hit, or why the system was unavailable")] = "",
    scheduled_for: Annotated[str | None, typer.Option("--scheduled-for", metavar="DATE", help="the appointment (default the case's next report date)")] = None,
    at: Annotated[str | None, typer.Option("--at", metavar="DATETIME", help="when the person appeared (ISO, default now)")] = None,
    reschedule_to: Annotated[str | None, typer.Option("--reschedule-to", metavar="DATE", help="new date of a rescheduled check-in")] = None,
    note: Annotated[str, typer.Option("--note", help="note; the reason of a rescheduling")] = "",
    officer: OfficerOpt = None,
    minutes: MinutesOpt = None,
    records_check_minutes: Annotated[int | None, typer.Option("--records-check-minutes", help="minutes of the records check (default from activities.toml)")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Record a check-in; an appearance needs the records-check result."""
    from caseload.docket.checkins import do_record_check_in
    from caseload.docket.lifecycle import access_case

    case = access_case(case_id)
    row = do_record_check_in(case=case, outcome=outcome, method=method, scheduled_for=parse_date(scheduled_for, "--scheduled-for"),
                             occurred_at=parse_datetime(at, "--at"), records_check=records_check, records_check_detail=detail,
                             reschedule_to=parse_date(reschedule_to, "--reschedule-to"), note=note, officer=_officer(officer),
                             minutes=minutes, records_check_minutes=records_check_minutes, actor_label="cli:checkin record")
    doc = {"check_in": row.pk, "case_id": case.pk, "outcome": row.outcome, "records_check": row.records_check,
           "next_report_due": case.next_report_due, "missed_in_a_row": case.missed_in_a_row,
           "failed_to_report_on": case.person.failed_to_report_on, "version": case.version}
    emit(fmt, doc, lambda: stderr.print(f"check-in {row.pk} recorded: {row.outcome}; next report due {case.next_report_due}"))


@checkin_app.command("records-check")
@command
def checkin_records_check(
    case_id: Annotated[int, typer.Option("--case", help="case id")],
    result: Annotated[str, typer.Option("--result", help="clear, hit or unavailable")],
    detail: Annotated[str, typer.Option("--detail", help="details of a hit, or why the system was unavailable")] = "",
    check_in: Annotated[int | None, typer.Option("--check-in", help="the check-in it belongs to (default: every one lacking a result)")] = None,
    officer: OfficerOpt = None,
    minutes: MinutesOpt = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Record a records check owed by earlier check-ins (skipped, or the system was unavailable)."""
    from caseload.docket.checkins import do_record_records_check
    from caseload.docket.lifecycle import access_case

    case = access_case(case_id)
    row = _check_in(check_in, case.pk) if check_in is not None else None
    ids = do_record_records_check(case=case, result=result, detail=detail, check_in=row, officer=_officer(officer),
                                  minutes=minutes, actor_label="cli:checkin records-check")
    emit(fmt, {"case_id": case.pk, "check_ins": ids, "records_check": result, "version": case.version},
         lambda: stderr.print(f"records check {result} recorded for check-ins {', '.join(map(str, ids))}"))


@checkin_app.command("review-hit")
@command
def checkin_review_hit(
    check_in: Annotated[int, typer.Option("--check-in", help="check-in whose records check was a hit")],
    decision: Annotated[str, typer.Option("--decision", help="what the supervisor decided, and why")],
    by: Annotated[str, typer.Option("--by", metavar="USERNAME", help="the supervisor deciding")],
    fmt: FormatOption = Format.text,
) -> None:
    """A supervisor's review of a records-check hit."""
    from caseload.docket.checkins import do_review_hit
    from caseload.docket.lifecycle import access_user

    row = do_review_hit(check_in=_check_in(check_in), decision=decision, supervisor=access_user(by))
    emit(fmt, {"check_in": row.pk, "case_id": row.case_id, "hit_reviewed_on": row.hit_reviewed_on, "decision": row.hit_review_decision},
         lambda: stderr.print(f"hit of check-in {row.pk} reviewed by {by}"))


def _check_in(check_in_id: int, case_id: int | None = None):
    from caseload.core.errors import NotFound
    from caseload.docket.models import CheckIn

    row = CheckIn.objects.select_related("case__person", "case__office").filter(pk=check_in_id).first()
    if row is None or (case_id is not None and row.case_id != case_id):
        raise NotFound("unknown_check_in", f"no check-in {check_in_id}" + (f" on case {case_id}" if case_id else ""))
    return row


def parse_datetime(value: str | None, flag: str) -> dt.datetime | None:
    from caseload.core.errors import UsageError

    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UsageError("invalid_datetime", f"{flag} must be a date and time as YYYY-MM-DDTHH:MM, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# --- case changes -------------------------------------------------------------------------------

@case_app.command("transition")
@command
def case_transition(
    case_id: CaseArg,
    to: Annotated[str, typer.Option("--to", help="appeal, final_order, pending, relief_granted, terminated, removed, closed or open")],
    reason: Annotated[str, typer.Option("--reason", help="why (the decision, its date and source)")],
    on: OnOpt = None,
    expected_version: Annotated[int | None, typer.Option("--expected-version", help="refuse if the case changed since this version")] = None,
    officer: OfficerOpt = None,
    minutes: MinutesOpt = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Move a case through the transition table (removal refused under a stay, appeal or open claim)."""
    from caseload.docket.lifecycle import do_transition

    case = _versioned_case(case_id, expected_version)
    case = do_transition(case=case, to=to, reason=reason, on=parse_date(on, "--on"), officer=_officer(officer),
                         minutes=minutes, actor_label="cli:case transition")
    _case_result(fmt, case, f"now {case.stage}, {case.status}")


def _versioned_case(case_id: int, expected_version: int | None):
    from caseload.docket.lifecycle import access_case

    case = access_case(case_id)
    if expected_version is not None:
        case.version = expected_version  # the write then succeeds only if nothing changed since
    return case


@case_app.command("stay")
@command
def case_stay(case_id: CaseArg,
              until: Annotated[str, typer.Option("--until", metavar="DATE", help="last day of the stay")],
              reason: Annotated[str, typer.Option("--reason", help="who granted it (I-246, BIA, court) and why")],
              officer: OfficerOpt = None, minutes: MinutesOpt = None, fmt: FormatOption = Format.text) -> None:
    """Record a stay of removal."""
    from caseload.docket.lifecycle import access_case, do_record_stay

    case = do_record_stay(case=access_case(case_id), until=parse_date(until, "--until"), reason=reason,
                          officer=_officer(officer), minutes=minutes, actor_label="cli:case stay")
    _case_result(fmt, case, f"stay of removal until {case.stay_of_removal_until}")


@case_app.command("lift-stay")
@command
def case_lift_stay(case_id: CaseArg, reason: Annotated[str, typer.Option("--reason", help="why the stay ended")],
                   officer: OfficerOpt = None, minutes: MinutesOpt = None, fmt: FormatOption = Format.text) -> None:
    """End a stay of removal before its date."""
    from caseload.docket.lifecycle import access_case, do_lift_stay

    case = do_lift_stay(case=access_case(case_id), reason=reason, officer=_officer(officer), minutes=minutes,
                        actor_label="cli:case lift-stay")
    _case_result(fmt, case, "stay lifted")


@case_app.command("schedule-removal")
@command
def case_schedule_removal(case_id: CaseArg, on: Annotated[str, typer.Option("--on", metavar="DATE", help="removal date")],
                          reason: Annotated[str, typer.Option("--reason", help="flight, escort, travel document")],
                          officer: OfficerOpt = None, minutes: MinutesOpt = None, fmt: FormatOption = Format.text) -> None:
    """Schedule a removal (refused under a stay, a pending appeal or an open citizenship claim)."""
    from caseload.docket.lifecycle import access_case, do_schedule_removal

    case = do_schedule_removal(case=access_case(case_id), on=parse_date(on, "--on"), reason=reason, officer=_officer(officer),
                               minutes=minutes, actor_label="cli:case schedule-removal")
    _case_result(fmt, case, f"removal scheduled for {case.removal_scheduled_for}")


@case_app.command("release")
@command
def case_release(case_id: CaseArg,
                 supervision: Annotated[str, typer.Option("--supervision", help="osup, atd, recognizance, bond or parole")],
                 reason: Annotated[str, typer.Option("--reason", help="the release decision and its basis")],
                 cadence_days: Annotated[int, typer.Option("--cadence-days", help="days between required check-ins")] = 90,
                 officer: OfficerOpt = None, minutes: MinutesOpt = None, fmt: FormatOption = Format.text) -> None:
    """Release a detained person onto the non-detained docket (needs a decided foreseeability review when one is due)."""
    from caseload.docket.lifecycle import access_case, do_release_from_detention

    case = do_release_from_detention(case=access_case(case_id), supervision_type=supervision, reason=reason,
                                     cadence_days=cadence_days, officer=_officer(officer), minutes=minutes,
                                     actor_label="cli:case release")
    _case_result(fmt, case, f"released onto {case.supervision_type} supervision")


@case_app.command("claim")
@command
def case_claim(case_id: CaseArg, reason: Annotated[str, typer.Option("--reason", help="the claim and its basis")],
               on: OnOpt = None, officer: OfficerOpt = None, minutes: MinutesOpt = None, fmt: FormatOption = Format.text) -> None:
    """Record a claim to U.S. citizenship (removal steps stop until a supervisor decides)."""
    from caseload.docket.lifecycle import access_case, do_raise_citizenship_claim

    case = do_raise_citizenship_claim(case=access_case(case_id), reason=reason, on=parse_date(on, "--on"),
                                      officer=_officer(officer), minutes=minutes, actor_label="cli:case claim")
    _case_result(fmt, case, "citizenship claim recorded; removal steps are blocked until a supervisor decides")


@case_app.command("decide-claim")
@command
def case_decide_claim(case_id: CaseArg,
                      decision: Annotated[str, typer.Option("--decision", help="rejected or upheld")],
                      reason: Annotated[str, typer.Option("--reason", help="the evidence and the reasoning")],
                      by: Annotated[str, typer.Option("--by", metavar="USERNAME", help="the deciding supervisor")],
                      fmt: FormatOption = Format.text) -> None:
    """A supervisor's decision on a claim to U.S. citizenship, with the reason."""
    from caseload.docket.lifecycle import access_case, access_user, do_decide_citizenship_claim

    case = access_case(case_id)
    record = do_decide_citizenship_claim(case=case, decision=decision, reason=reason, supervisor=access_user(by))
    emit(fmt, {"case_id": case.pk, "decision": record.decision, "decision_id": record.pk, "stage": case.stage,
               "status": case.status, "version": case.version},
         lambda: stderr.print(f"claim {record.decision} by {by}; case {case.pk} is {case.status}"))


@case_app.command("serve-warning")
@command
def case_serve_warning(case_id: CaseArg, on: OnOpt = None, officer: OfficerOpt = None, minutes: MinutesOpt = None,
                       fmt: FormatOption = Format.text) -> None:
    """Record service of Form I-229(a), the warning for failure to depart."""
    from caseload.docket.lifecycle import access_case, do_serve_warning

    case = do_serve_warning(case=access_case(case_id), on=parse_date(on, "--on"), officer=_officer(officer),
                            minutes=minutes, actor_label="cli:case serve-warning")
    _case_result(fmt, case, f"warning served on {case.warning_served_on}")


@case_app.command("review")
@command
def case_review(case_id: CaseArg,
                kind: Annotated[str, typer.Option("--kind", help="custody or national_security")],
                on: OnOpt = None, note: Annotated[str, typer.Option("--note", help="outcome of the review")] = "",
                officer: OfficerOpt = None, minutes: MinutesOpt = None, fmt: FormatOption = Format.text) -> None:
    """Record a post-order custody/supervision review or a national-security review."""
    from caseload.docket.lifecycle import access_case, do_record_review

    case = do_record_review(case=access_case(case_id), kind=kind, on=parse_date(on, "--on"), note=note,
                            officer=_officer(officer), minutes=minutes, actor_label="cli:case review")
    _case_result(fmt, case, f"{kind} review recorded")


@case_app.command("td-follow-up")
@command
def case_td_follow_up(case_id: CaseArg, on: OnOpt = None,
                      note: Annotated[str, typer.Option("--note", help="who was contacted and the answer")] = "",
                      officer: OfficerOpt = None, minutes: MinutesOpt = None, fmt: FormatOption = Format.text) -> None:
    """Record a follow-up of the pending travel-document request."""
    from caseload.docket.lifecycle import access_case, do_record_td_follow_up

    case = do_record_td_follow_up(case=access_case(case_id), on=parse_date(on, "--on"), note=note,
                                  officer=_officer(officer), minutes=minutes, actor_label="cli:case td-follow-up")
    _case_result(fmt, case, f"travel-document follow-up recorded on {case.td_followed_up_on}")


@case_app.command("contact")
@command
def case_contact(case_id: CaseArg,
                 activity: Annotated[str, typer.Option("--activity", help="case activity from activities.toml")] = "home_visit",
                 on: OnOpt = None, note: Annotated[str, typer.Option("--note", help="what happened")] = "",
                 officer: OfficerOpt = None, minutes: MinutesOpt = None, fmt: FormatOption = Format.text) -> None:
    """Record officer contact with the person outside a check-in (a home or employment visit)."""
    from caseload.docket.lifecycle import access_case, do_record_contact

    case = do_record_contact(case=access_case(case_id), activity=activity, on=parse_date(on, "--on"), note=note,
                             officer=_officer(officer), minutes=minutes, actor_label="cli:case contact")
    _case_result(fmt, case, f"contact recorded; last contact {case.last_contact_on}")


# --- rules and derived columns ------------------------------------------------------------------

@tasks_app.command("rules")
@command
def tasks_rules(fmt: FormatOption = Format.text) -> None:
    """The due-task rule set in force, with each rule's figures and source."""
    from caseload.docket.tasks import load_rules

    doc = load_rules().as_dict()
    emit(fmt, doc, lambda: table(f"{doc['id']} v{doc['version']} (from {doc['effective_from']}; horizon {doc['horizon_days']} days)",
                                 ["task", "assignee", "label", "source"],
                                 [[r["task"], r["assignee"], r["label"], r["source"]] for r in doc["tasks"]]))


@tasks_app.command("refresh")
@command
def tasks_refresh(all_cases: Annotated[bool, typer.Option("--all", help="recompute every case, not only bulk-loaded ones")] = False,
                  fmt: FormatOption = Format.text) -> None:
    """Derive the check-in columns of bulk-loaded cases (or all cases) set-based."""
    from caseload.docket.checkins import refresh_derived

    with stderr.status("deriving check-in facts …"):
        doc = refresh_derived(all_cases=all_cases, actor_label="cli:tasks refresh")
    emit(fmt, doc, lambda: stderr.print(f"derived check-in facts for {doc['cases']:,} cases in {doc['seconds']:.1f} s; "
                                        f"{doc['failed_to_report_marked']:,} people marked as failed to report"))
