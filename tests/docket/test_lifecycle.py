"""The transition table, the due-process guards on it, the officer actions, audit in the same
transaction, and optimistic locking (sequential on every backend, two real concurrent
transactions on PostgreSQL)."""

import datetime as dt
import json
import threading
import time
from unittest import mock

import pytest
from django.db import connection, connections, transaction
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core.errors import Conflict, UsageError
from caseload.core.models import AuditEvent
from caseload.countries.models import TravelDocumentRequest
from caseload.docket import lifecycle
from caseload.docket.lifecycle import (PermissionDenied, access_case, do_decide_citizenship_claim, do_lift_stay,
                                       do_raise_citizenship_claim, do_record_contact, do_record_review,
                                       do_record_stay, do_record_td_follow_up, do_schedule_removal, do_serve_warning,
                                       do_transition)
from caseload.docket.models import Case, CitizenshipClaimDecision, Person
from caseload.workload.models import TimeLogEntry
from tests import factories
from tests.docket.conftest import TODAY, final_order_case, make_case

pytestmark = pytest.mark.django_db
YESTERDAY = TODAY - dt.timedelta(days=1)


def state(case_id):
    return Case.objects.filter(pk=case_id).values_list("stage", "status", "version", "final_order_date", "appeal_pending",
                                                       "closed_on", "close_reason").get()


def case_in(stage, officer, **fields):
    if stage == "appeal":
        return make_case(officer, stage="appeal", appeal_pending=True, appeal_filed_on=dt.date(2026, 1, 2), **fields)
    if stage == "final_order":
        return final_order_case(officer, **fields)
    if stage == "closed":
        return make_case(officer, status="closed", closed_on=dt.date(2026, 3, 1), close_reason="transferred to ATL", **fields)
    return make_case(officer, **fields)


@pytest.mark.parametrize("start, to, expected", [
    ("pending", "appeal", ("appeal", "open", 2, None, True, None, "")),
    ("pending", "final_order", ("final_order", "open", 2, YESTERDAY, False, None, "")),
    ("appeal", "final_order", ("final_order", "open", 2, YESTERDAY, False, None, "")),
    ("appeal", "pending", ("pending", "open", 2, None, False, None, "")),
    ("final_order", "pending", ("pending", "open", 2, None, False, None, "")),
    ("pending", "relief_granted", ("relief_granted", "closed", 2, None, False, YESTERDAY, "IJ granted cancellation")),
    ("appeal", "terminated", ("terminated", "closed", 2, None, False, YESTERDAY, "IJ granted cancellation")),
    ("final_order", "removed", ("removed", "closed", 2, dt.date(2026, 1, 5), False, YESTERDAY, "IJ granted cancellation")),
    ("final_order", "closed", ("final_order", "closed", 2, dt.date(2026, 1, 5), False, YESTERDAY, "IJ granted cancellation")),
    ("closed", "open", ("pending", "open", 2, None, False, None, "")),
])
def test_allowed_transitions_set_stage_status_and_dates(today, officer, start, to, expected):
    case = case_in(start, officer)
    do_transition(case=case, to=to, on=YESTERDAY, reason="IJ granted cancellation", actor_label="test")
    assert state(case.pk) == expected
    event = AuditEvent.objects.get(action="case.transition", object_id=str(case.pk))
    assert (event.details["from"], event.details["to"], event.details["version"]) == (start, to, 2)
    assert TimeLogEntry.objects.get(case=case).activity == "case_review"


@pytest.mark.parametrize("start, to", [
    ("pending", "removed"), ("pending", "pending"), ("appeal", "removed"), ("appeal", "appeal"),
    ("final_order", "appeal"), ("final_order", "relief_granted"), ("final_order", "open"), ("closed", "closed"),
    ("closed", "final_order"), ("pending", "bogus"),
])
def test_other_transitions_are_refused_and_nothing_changes(today, officer, start, to):
    case = case_in(start, officer)
    before = (state(case.pk), AuditEvent.objects.count(), TimeLogEntry.objects.count())
    with pytest.raises(Conflict) as err:
        do_transition(case=case, to=to, reason="because", actor_label="test")
    assert err.value.code == "transition_not_allowed"
    assert err.value.details["allowed"] == lifecycle.allowed_targets(case)
    assert (state(case.pk), AuditEvent.objects.count(), TimeLogEntry.objects.count()) == before


def test_a_removed_case_cannot_be_reopened(today, officer):
    case = case_in("final_order", officer)
    do_transition(case=case, to="removed", reason="removed by charter flight", actor_label="test")
    with pytest.raises(Conflict) as err:
        do_transition(case=access_case(case.pk), to="open", reason="re-entered", actor_label="test")
    assert err.value.code == "transition_not_allowed"


@pytest.mark.parametrize("kwargs, code", [
    ({"reason": "  "}, "reason_required"),
    ({"reason": "x", "on": TODAY + dt.timedelta(days=1)}, "date_in_future"),
])
def test_a_transition_needs_a_reason_and_a_past_date(today, officer, kwargs, code):
    with pytest.raises(UsageError) as err:
        do_transition(case=case_in("pending", officer), to="appeal", actor_label="test", **kwargs)
    assert err.value.code == code


def test_a_final_order_cannot_predate_the_proceedings(today, officer):
    case = case_in("pending", officer)
    with pytest.raises(UsageError) as err:
        do_transition(case=case, to="final_order", on=dt.date(2019, 1, 1), reason="order", actor_label="test")
    assert err.value.code == "date_before_proceedings"


# --- guards --------------------------------------------------------------------------------------

BLOCKERS = {
    "stay_in_effect": {"stay_of_removal_until": TODAY},
    "appeal_pending": {"appeal_pending": True},
    "citizenship_claim_open": {"person": {"citizenship_claim": "open"}},
}


@pytest.mark.parametrize("blocker", BLOCKERS)
@pytest.mark.parametrize("to", ["removed", "pending", "terminated", "closed"])
def test_guards_refuse_exactly_the_removal_and_allow_the_other_transitions(today, officer, blocker, to):
    case = final_order_case(officer, **BLOCKERS[blocker])
    if to == "removed":
        before = (state(case.pk), AuditEvent.objects.count())
        with pytest.raises(Conflict) as err:
            do_transition(case=case, to=to, reason="charter flight", actor_label="test")
        assert err.value.code == blocker
        assert (state(case.pk), AuditEvent.objects.count()) == before
    else:
        do_transition(case=case, to=to, reason="court decision", actor_label="test")
        assert state(case.pk)[2] == 2


@pytest.mark.parametrize("blocker", BLOCKERS)
def test_scheduling_a_removal_is_refused_under_each_guard(today, officer, blocker):
    case = final_order_case(officer, **BLOCKERS[blocker])
    with pytest.raises(Conflict) as err:
        do_schedule_removal(case=case, on=TODAY + dt.timedelta(days=10), reason="charter", actor_label="test")
    assert err.value.code == blocker and err.value.details["step"] == "removal_scheduling"
    assert Case.objects.get(pk=case.pk).removal_scheduled_for is None


def test_without_a_guard_a_removal_is_scheduled_then_recorded(today, officer):
    case = final_order_case(officer, stay_of_removal_until=YESTERDAY)  # a stay that has ended
    case = do_schedule_removal(case=case, on=TODAY + dt.timedelta(days=10), reason="charter 14", actor_label="test")
    assert Case.objects.get(pk=case.pk).removal_scheduled_for == TODAY + dt.timedelta(days=10)
    do_transition(case=case, to="removed", reason="removed on charter 14", actor_label="test")
    assert state(case.pk)[:2] == ("removed", "closed")
    assert Case.objects.get(pk=case.pk).removal_scheduled_for is None


def test_stays_are_recorded_and_lifted(today, officer):
    case = final_order_case(officer)
    case = do_record_stay(case=case, until=TODAY + dt.timedelta(days=60), reason="I-246 granted", actor_label="test")
    with pytest.raises(Conflict):
        do_schedule_removal(case=case, on=TODAY + dt.timedelta(days=5), reason="x", actor_label="test")
    case = do_lift_stay(case=case, reason="I-246 revoked", actor_label="test")
    assert Case.objects.get(pk=case.pk).stay_of_removal_until is None
    with pytest.raises(Conflict) as err:
        do_lift_stay(case=case, reason="again", actor_label="test")
    assert err.value.code == "no_stay"
    with pytest.raises(UsageError):
        do_record_stay(case=case, until=YESTERDAY, reason="late", actor_label="test")


def test_a_citizenship_claim_blocks_removal_until_a_supervisor_rejects_it(today, officer, supervisor, plain_user):
    case = final_order_case(officer)
    case = do_raise_citizenship_claim(case=case, reason="claims birth in El Paso, TX", actor_label="test")
    assert Person.objects.get(pk=case.person_id).citizenship_claim == "open"
    with pytest.raises(Conflict) as err:
        do_schedule_removal(case=access_case(case.pk), on=TODAY + dt.timedelta(days=3), reason="x", actor_label="test")
    assert err.value.code == "citizenship_claim_open"
    with pytest.raises(Conflict):
        do_raise_citizenship_claim(case=access_case(case.pk), reason="again", actor_label="test")

    with pytest.raises(PermissionDenied) as denied:
        do_decide_citizenship_claim(case=access_case(case.pk), decision="rejected", reason="no record", supervisor=plain_user)
    assert denied.value.code == "supervisor_required"
    assert not CitizenshipClaimDecision.objects.exists()
    with pytest.raises(UsageError):
        do_decide_citizenship_claim(case=access_case(case.pk), decision="rejected", reason=" ", supervisor=supervisor)

    record = do_decide_citizenship_claim(case=access_case(case.pk), decision="rejected",
                                         reason="Texas birth registry has no record; Mexican birth certificate on file",
                                         supervisor=supervisor)
    assert (record.decision, record.decided_by, record.office_id) == ("rejected", supervisor, case.office_id)
    assert Person.objects.get(pk=case.person_id).citizenship_claim == "rejected"
    assert state(case.pk)[:3] == ("final_order", "open", 3)
    do_schedule_removal(case=access_case(case.pk), on=TODAY + dt.timedelta(days=3), reason="charter", actor_label="test")
    event = AuditEvent.objects.get(action="person.citizenship_claim_decided", object_id=str(case.pk))
    assert event.actor == supervisor and event.details["decision"] == "rejected"


def test_an_upheld_claim_ends_the_case(today, officer, supervisor):
    case = do_raise_citizenship_claim(case=final_order_case(officer), reason="U.S. passport presented", actor_label="test")
    do_decide_citizenship_claim(case=access_case(case.pk), decision="upheld", reason="passport verified with State",
                                supervisor=supervisor)
    stage, status, _, _, _, closed_on, reason = state(case.pk)
    assert (stage, status, closed_on) == ("terminated", "closed", TODAY)
    assert reason == "claim to U.S. citizenship upheld: passport verified with State"


# --- officer actions ------------------------------------------------------------------------------

def test_officer_actions_record_their_facts_and_default_minutes(today, officer):
    case = final_order_case(officer, person={"national_security_flag": True}, unit="non_detained")
    TravelDocumentRequest.objects.create(case=case, office=case.office, country_id="MX", requested_on=dt.date(2026, 2, 1))
    case = do_serve_warning(case=case, on=dt.date(2026, 1, 20), actor_label="test")
    case = do_record_review(case=case, kind="custody", actor_label="test", minutes=75)
    case = do_record_review(case=case, kind="national_security", actor_label="test")
    case = do_record_td_follow_up(case=case, note="consulate: interview booked", actor_label="test")
    case = do_record_contact(case=case, on=YESTERDAY, actor_label="test")
    stored = Case.objects.get(pk=case.pk)
    assert (stored.warning_served_on, stored.custody_reviewed_on, stored.custody_review_count, stored.ns_reviewed_on,
            stored.td_followed_up_on, stored.last_contact_on, stored.version) == (
        dt.date(2026, 1, 20), TODAY, 1, TODAY, TODAY, YESTERDAY, 6)
    assert list(TimeLogEntry.objects.filter(case=case).order_by("id").values_list("activity", "minutes", "default_minutes_used")) == [
        ("warning_service", 30, True), ("custody_review", 75, False), ("case_review", 20, True),
        ("travel_document", 45, True), ("home_visit", 90, True)]


@pytest.mark.parametrize("done, on, expected", [
    (0, dt.date(2026, 3, 1), 1),   # day 55: the 90-day review, early
    (0, dt.date(2026, 4, 10), 1),  # day 95: the 90-day review, late
    (0, dt.date(2026, 7, 5), 2),   # day 181: late for both: one review meets both milestones
    (1, dt.date(2026, 5, 1), 2),
])
def test_a_custody_review_meets_the_next_milestone_and_any_already_past(officer, done, on, expected):
    from caseload.core import clock

    with clock.frozen(dt.date(2026, 8, 1)):
        case = final_order_case(officer, custody_review_count=done)  # final order 2026-01-05
        do_record_review(case=case, kind="custody", on=on, actor_label="test")
    assert Case.objects.get(pk=case.pk).custody_review_count == expected


def test_officer_actions_refuse_what_does_not_apply(today, officer):
    pending = make_case(officer)
    with pytest.raises(Conflict) as err:
        do_serve_warning(case=pending, actor_label="test")
    assert err.value.code == "no_final_order"
    with pytest.raises(Conflict) as err:
        do_record_review(case=pending, kind="national_security", actor_label="test")
    assert err.value.code == "not_national_security"
    with pytest.raises(Conflict) as err:
        do_record_td_follow_up(case=final_order_case(officer), actor_label="test")
    assert err.value.code == "no_pending_travel_document"
    with pytest.raises(UsageError) as err:
        do_record_contact(case=make_case(None), actor_label="test")
    assert err.value.code == "officer_required"
    with pytest.raises(UsageError) as err:
        do_record_contact(case=pending, activity="walk_in", actor_label="test")
    assert err.value.code == "collateral_has_no_case"
    assert TimeLogEntry.objects.count() == 0


def test_the_audit_event_is_written_in_the_same_transaction(today, officer):
    case = make_case(officer)
    with mock.patch("caseload.docket.lifecycle.audit.record", side_effect=RuntimeError("audit store down")):
        with pytest.raises(RuntimeError):
            do_transition(case=case, to="appeal", reason="appeal filed", actor_label="test")
    assert state(case.pk)[:3] == ("pending", "open", 1)
    assert TimeLogEntry.objects.count() == 0 and case.history.count() == 1


# --- optimistic locking ---------------------------------------------------------------------------

def test_a_stale_write_is_refused_and_the_first_write_kept(today, officer):
    first, second = make_case(officer), None
    second = access_case(first.pk)  # two users read version 1
    do_record_stay(case=first, until=TODAY + dt.timedelta(days=30), reason="I-246", actor_label="user-a")
    with pytest.raises(Conflict) as err:
        do_transition(case=second, to="appeal", reason="appeal filed", actor_label="user-b")
    assert err.value.code == "stale_case"
    assert (err.value.details["read_version"], err.value.details["current_version"]) == (1, 2)
    stored = Case.objects.get(pk=first.pk)
    assert (stored.version, stored.stage, stored.stay_of_removal_until) == (2, "pending", TODAY + dt.timedelta(days=30))
    assert AuditEvent.objects.filter(object_type="case", object_id=str(first.pk)).count() == 1
    assert TimeLogEntry.objects.filter(case=first).count() == 1  # the refused write's minutes were rolled back
    # The second user reloads and retries: both changes are kept.
    do_transition(case=access_case(first.pk), to="appeal", reason="appeal filed", actor_label="user-b")
    stored = Case.objects.get(pk=first.pk)
    assert (stored.version, stored.stage, stored.stay_of_removal_until) == (3, "appeal", TODAY + dt.timedelta(days=30))


def test_the_command_line_refuses_an_outdated_expected_version(officer):
    case = make_case(officer)
    runner = CliRunner()
    result = runner.invoke(app, ["case", "transition", str(case.pk), "--to", "appeal", "--reason", "filed",
                                 "--expected-version", "7", "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "stale_case"
    ok = runner.invoke(app, ["case", "transition", str(case.pk), "--to", "appeal", "--reason", "filed",
                             "--expected-version", "1", "--format", "json"])
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout) == {"case_id": case.pk, "version": 2, "stage": "appeal", "status": "open"}


def _in_thread(target, results, key):
    def run():
        try:
            results[key] = target()
        except Exception as exc:  # noqa: BLE001 - handed to the main thread
            results[key] = exc
        finally:
            connections.close_all()
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_for_lock_waiter(timeout=10.0):
    """Until another backend waits on a row lock (the second writer is blocked)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT COUNT(*) FROM pg_locks WHERE NOT granted")
            if cur.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


@pytest.mark.postgres_only  # SQLite has one writer at a time (IMMEDIATE transactions), so two writers
# cannot overlap there; test_a_stale_write_is_refused_and_the_first_write_kept shows the refusal sequentially
def test_two_concurrent_transactions_on_postgresql_one_conflicts_nothing_lost(vendor, today):
    results: dict = {}
    # Committed rows, visible to the writers' own connections (the test's transaction is not).
    _in_thread(lambda: factories.case(factories.person(), officer=factories.officer("WAS"),
                                      next_report_due=TODAY).pk, results, "case").join()
    case_id = results["case"]
    both_read = threading.Barrier(2, timeout=10)
    a_wrote, a_saw_waiter = threading.Event(), threading.Event()

    def writer_a():
        case = access_case(case_id)
        both_read.wait()
        with transaction.atomic():
            do_record_stay(case=case, until=TODAY + dt.timedelta(days=90), reason="I-246 granted", actor_label="writer-a")
            a_wrote.set()
            if _wait_for_lock_waiter():  # B's UPDATE is now blocked on our row lock
                a_saw_waiter.set()
        return Case.objects.get(pk=case_id).version

    def writer_b():
        case = access_case(case_id)
        both_read.wait()
        a_wrote.wait(10)
        do_transition(case=case, to="appeal", reason="appeal filed with the BIA", actor_label="writer-b")
        return "wrote"

    threads = [_in_thread(writer_a, results, "a"), _in_thread(writer_b, results, "b")]
    for t in threads:
        t.join(30)
    try:
        assert a_saw_waiter.is_set(), "the second writer never waited on the first one's lock"
        assert results["a"] == 2
        assert isinstance(results["b"], Conflict) and results["b"].code == "stale_case"
        assert (results["b"].details["read_version"], results["b"].details["current_version"]) == (1, 2)

        def check():
            stored = Case.objects.get(pk=case_id)
            events = list(AuditEvent.objects.filter(object_type="case", object_id=str(case_id)).values_list("action", flat=True))
            return (stored.version, stored.stage, stored.stay_of_removal_until, events,
                    TimeLogEntry.objects.filter(case_id=case_id).count(), stored.history.count())
        _in_thread(check, results, "final").join()
        assert results["final"] == (2, "pending", TODAY + dt.timedelta(days=90), ["case.stay_recorded"], 1, 2)
    finally:
        def cleanup():
            case = Case.objects.get(pk=case_id)
            TimeLogEntry.objects.filter(case_id=case_id).delete()
            Case.history.filter(id=case_id).delete()
            Person.history.filter(id=case.person_id).delete()
            officer_id, person_id = case.officer_id, case.person_id
            case.delete()
            Person.objects.filter(pk=person_id).delete()
            from caseload.offices.models import Officer
            Officer.objects.filter(pk=officer_id).delete()
        _in_thread(cleanup, results, "cleanup").join()
        assert results["cleanup"] is None
