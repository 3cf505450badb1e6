"""Removal steps under concurrency: a stay or claim that commits first always wins.

Sequential tests (both databases) hand a removal step a case read before a stay committed; the
PostgreSQL tests run real concurrent transactions, each thread on its own connection, on rows
committed for them (the test's own transaction is invisible to other connections).
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections, transaction

from caseload.core.errors import Conflict, UsageError
from caseload.core.models import AuditEvent
from caseload.countries import travel_documents as td
from caseload.countries.models import TravelDocumentRequest
from caseload.docket.lifecycle import (access_case, do_raise_citizenship_claim, do_record_stay, do_schedule_removal,
                                       do_transition)
from caseload.docket.models import Case
from tests.countries.builders import final_order_case

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 1)
STAY = TODAY + dt.timedelta(days=60)


def stay(case, label="test"):
    return do_record_stay(case=case, until=STAY, reason="I-246 granted", actor_label=label)


def snapshot(case_id):
    stored = Case.objects.get(pk=case_id)
    return (stored.version, stored.stage, stored.status, stored.removal_scheduled_for,
            TravelDocumentRequest.objects.filter(case_id=case_id).count(),
            AuditEvent.objects.filter(object_id=str(case_id)).count())


# --- a step given a case read before the stay committed (both databases) -------------------------

STEPS = {
    "travel_document_request": lambda case: td.do_request_travel_document(case=case, actor_label="test"),
    "removal_scheduling": lambda case: do_schedule_removal(case=case, on=TODAY + dt.timedelta(days=10), reason="flight",
                                                           officer=case.officer, minutes=5, actor_label="test"),
    "removal": lambda case: do_transition(case=case, to="removed", reason="removed", actor_label="test"),
}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_a_step_on_a_case_read_before_a_stay_committed_is_refused_and_writes_nothing(today, officer, step):
    read = access_case(final_order_case("HT", officer=officer).pk)  # the step's view: no stay
    stay(access_case(read.pk))                                     # committed meanwhile by someone else
    before = snapshot(read.pk)

    with pytest.raises(Conflict) as refused:
        STEPS[step](read)

    assert refused.value.code == "stale_case"
    assert (refused.value.details["read_version"], refused.value.details["current_version"]) == (1, 2)
    assert snapshot(read.pk) == before


@pytest.mark.parametrize("step", sorted(STEPS))
def test_a_step_on_a_fresh_read_under_a_stay_is_refused_by_the_guard(today, officer, step):
    case = access_case(final_order_case("HT", officer=officer).pk)
    stay(case)
    before = snapshot(case.pk)
    with pytest.raises(Conflict) as refused:
        STEPS[step](access_case(case.pk))
    assert refused.value.code == "stay_in_effect"
    assert snapshot(case.pk) == before


def test_the_consular_interview_is_refused_when_a_stay_committed_after_the_request_was_read(today, officer):
    case = access_case(final_order_case("HT", officer=officer).pk)
    request = td.access_request(td.do_request_travel_document(case=case, actor_label="test").pk)
    stay(access_case(case.pk))
    with pytest.raises(Conflict) as refused:
        td.do_schedule_interview(request=request, on=TODAY + dt.timedelta(days=3), actor_label="test")
    assert refused.value.code == "stale_case"
    assert TravelDocumentRequest.objects.get(pk=request.pk).status == "requested"


@pytest.mark.parametrize("blocker", ["stay", "claim"])
def test_a_stay_or_claim_after_a_removal_was_scheduled_clears_it(today, officer, blocker):
    case = access_case(final_order_case("HT", officer=officer).pk)
    scheduled = do_schedule_removal(case=case, on=TODAY + dt.timedelta(days=10), reason="flight booked", minutes=5,
                                    actor_label="test")
    assert scheduled.removal_scheduled_for == TODAY + dt.timedelta(days=10)

    if blocker == "stay":
        stay(access_case(case.pk))
        action = "case.stay_recorded"
    else:
        do_raise_citizenship_claim(case=access_case(case.pk), reason="says born in Texas", actor_label="test")
        action = "person.citizenship_claim_raised"

    stored = Case.objects.get(pk=case.pk)
    assert (stored.removal_scheduled_for, stored.version) == (None, 3)
    event = AuditEvent.objects.filter(action=action, object_id=str(case.pk)).get()
    assert event.details["removal_unscheduled"] == (TODAY + dt.timedelta(days=10)).isoformat()
    assert event.details["changes"]["removal_scheduled_for"] is None
    with pytest.raises(Conflict):  # and no removal happens while the blocker stands
        do_transition(case=access_case(case.pk), to="removed", reason="removed", actor_label="test")


def test_a_stay_without_a_scheduled_removal_changes_only_the_stay(today, officer):
    case = access_case(final_order_case("HT", officer=officer).pk)
    stay(case)
    event = AuditEvent.objects.filter(action="case.stay_recorded", object_id=str(case.pk)).get()
    assert event.details["changes"] == {"stay_of_removal_until": STAY.isoformat()}
    assert "removal_unscheduled" not in event.details


@pytest.mark.parametrize("change", [
    lambda case, on: do_transition(case=case, to="closed", reason="duplicate", on=on, actor_label="test"),
    lambda case, on: do_transition(case=case, to="terminated", reason="IJ terminated", on=on, actor_label="test"),
    lambda case, on: do_raise_citizenship_claim(case=case, reason="claim", on=on, actor_label="test"),
])
def test_a_change_dated_before_the_case_opened_is_refused(today, officer, change):
    case = access_case(final_order_case("HT", officer=officer, opened_on=dt.date(2026, 3, 1)).pk)
    before = snapshot(case.pk)
    with pytest.raises(UsageError) as refused:
        change(case, dt.date(2026, 2, 28))
    assert refused.value.code == "date_before_case_opened" and refused.value.exit_code == 2
    assert "before case" in refused.value.message and "2026-03-01" in refused.value.message
    assert snapshot(case.pk) == before
    change(access_case(case.pk), dt.date(2026, 3, 1))  # the day it opened is fine
    assert Case.objects.get(pk=case.pk).version == 2


# --- real concurrent transactions (PostgreSQL) -----------------------------------------------------

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


def _committed(make):
    """Run ``make`` on a connection of its own (committed, visible to the writers) and return its result."""
    results: dict = {}
    _in_thread(make, results, "value").join()
    if isinstance(results["value"], Exception):
        raise results["value"]
    return results["value"]


def _wait_for_lock_waiter(timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT COUNT(*) FROM pg_locks WHERE NOT granted")
            if cur.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


@pytest.fixture
def committed_cases(today):
    """Make committed final-order cases; removed again afterwards with the audit events the test
    appended (the chain's tail, deleted with the append-only triggers off for that one session, so
    later tests find the log as it was). PostgreSQL only: SQLite has one writer at a time, so two
    writers never overlap there (the sequential tests above show the same refusals)."""
    made: list[int] = []
    last_event = _committed(lambda: AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0)

    def make(n):
        ids = _committed(lambda: [final_order_case("HT").pk for _ in range(n)])
        made.extend(ids)
        return ids

    yield make

    def cleanup():
        from caseload.docket.models import Person
        from caseload.workload.models import TimeLogEntry

        people = list(Case.objects.filter(pk__in=made).values_list("person_id", flat=True))
        TravelDocumentRequest.objects.filter(case_id__in=made).delete()
        TimeLogEntry.objects.filter(case_id__in=made).delete()
        Case.history.filter(id__in=made).delete()
        Person.history.filter(id__in=people).delete()
        Case.objects.filter(pk__in=made).delete()
        Person.objects.filter(pk__in=people).delete()
        with connection.cursor() as cur:
            cur.execute("SET session_replication_role = replica")  # no triggers: the audit log's tail goes
            cur.execute("DELETE FROM core_auditevent WHERE id > %s", [last_event])
            cur.execute("SET session_replication_role = origin")
    _committed(cleanup)


@pytest.mark.postgres_only
def test_a_stay_waits_for_a_travel_document_request_holding_the_case_lock(committed_cases):
    (case_id,) = committed_cases(1)
    results: dict = {}
    requested, stay_waited = threading.Event(), threading.Event()

    def request():
        with transaction.atomic():
            made = td.do_request_travel_document(case=access_case(case_id), actor_label="writer-td").pk
            requested.set()
            if _wait_for_lock_waiter():  # the stay's UPDATE waits on our row lock until we commit
                stay_waited.set()
        return made

    def record_stay():
        requested.wait(10)
        return stay(access_case(case_id), "writer-stay").version

    threads = [_in_thread(request, results, "td"), _in_thread(record_stay, results, "stay")]
    for t in threads:
        t.join(30)
    assert stay_waited.is_set(), "the stay did not wait for the request's lock on the case"
    assert isinstance(results["td"], int) and results["stay"] == 2
    requested_at = _committed(lambda: AuditEvent.objects.get(action="travel_document.requested", details__case=case_id).pk)
    stayed_at = _committed(lambda: AuditEvent.objects.get(action="case.stay_recorded", object_id=str(case_id)).pk)
    assert requested_at < stayed_at  # the audit chain's order is the commit order: the request came first


@pytest.mark.postgres_only
def test_a_request_waits_for_an_uncommitted_stay_and_is_then_refused(committed_cases):
    (case_id,) = committed_cases(1)
    results: dict = {}
    read, stay_written, request_waited = threading.Event(), threading.Event(), threading.Event()

    def record_stay():
        read.wait(10)
        with transaction.atomic():
            stay(access_case(case_id), "writer-stay")
            stay_written.set()
            if _wait_for_lock_waiter():
                request_waited.set()
        return "stayed"

    def request():
        case = access_case(case_id)  # read before the stay commits
        read.set()
        stay_written.wait(10)
        return td.do_request_travel_document(case=case, actor_label="writer-td")

    threads = [_in_thread(record_stay, results, "stay"), _in_thread(request, results, "td")]
    for t in threads:
        t.join(30)
    assert request_waited.is_set(), "the request did not wait for the stay's lock on the case"
    assert results["stay"] == "stayed"
    assert isinstance(results["td"], Conflict) and results["td"].code == "stale_case"
    assert _committed(lambda: TravelDocumentRequest.objects.filter(case_id=case_id).count()) == 0


@pytest.mark.postgres_only
def test_twenty_concurrent_pairs_of_request_and_stay_never_commit_a_request_after_the_stay(committed_cases):
    case_ids = committed_cases(20)
    results: dict = {}
    for wave in (case_ids[:10], case_ids[10:]):  # 20 writers at a time: well inside the server's connections
        start = threading.Barrier(2 * len(wave), timeout=30)

        def request(case_id):
            case = access_case(case_id)
            start.wait()
            return td.do_request_travel_document(case=case, actor_label="writer-td").pk

        def record_stay(case_id):
            case = access_case(case_id)
            start.wait()
            return stay(case, "writer-stay").version

        threads = []
        for case_id in wave:
            threads.append(_in_thread(lambda c=case_id: request(c), results, ("td", case_id)))
            threads.append(_in_thread(lambda c=case_id: record_stay(c), results, ("stay", case_id)))
        for t in threads:
            t.join(60)

    def commit_order():
        events = {}
        for event_id, action, object_id, details in AuditEvent.objects.filter(
                action__in=["travel_document.requested", "case.stay_recorded"]).values_list("id", "action", "object_id",
                                                                                            "details"):
            case_id = details.get("case") if action == "travel_document.requested" else int(object_id)
            if case_id in case_ids:
                events[(action, case_id)] = event_id
        return events, dict(TravelDocumentRequest.objects.filter(case_id__in=case_ids).values_list("case_id", "id"))
    events, requests = _committed(commit_order)

    for case_id in case_ids:
        assert results[("stay", case_id)] == 2  # a stay is never refused by a request (which leaves the version)
        outcome = results[("td", case_id)]
        if isinstance(outcome, Exception):
            assert isinstance(outcome, Conflict) and outcome.code in {"stale_case", "stay_in_effect"}, outcome
            assert case_id not in requests
        else:
            assert requests[case_id] == outcome
            assert events[("travel_document.requested", case_id)] < events[("case.stay_recorded", case_id)]
