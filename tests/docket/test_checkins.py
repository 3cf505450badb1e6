"""Check-ins: the records check a completion needs, hits, missed check-ins, rescheduling,
the minutes they record, and the derived columns after a bulk load."""

import datetime as dt

import pytest

from caseload.core.errors import Conflict, UsageError
from caseload.core.models import AuditEvent
from caseload.docket.checkins import (check_in_facts, do_record_check_in, do_record_records_check, do_review_hit,
                                      refresh_derived)
from caseload.docket.lifecycle import PermissionDenied, access_case
from caseload.docket.models import Case, CheckIn, Person
from caseload.workload.models import TimeLogEntry
from tests import factories
from tests.docket.conftest import TODAY, make_case

pytestmark = pytest.mark.django_db


def snapshot(case):
    """Everything a refused check-in must leave alone."""
    return (CheckIn.objects.count(), TimeLogEntry.objects.count(), AuditEvent.objects.count(),
            Case.objects.filter(pk=case.pk).values_list("version", "next_report_due", "last_contact_on",
                                                        "records_check_owed_since", "missed_in_a_row").get())


@pytest.mark.parametrize("result, detail, code", [
    (None, "", "records_check_required"),
    ("not_run", "", "records_check_required"),
    ("hit", "", "records_check_detail_required"),
    ("unavailable", "  ", "records_check_detail_required"),
    ("maybe", "", "invalid_records_check"),
])
def test_an_appearance_cannot_be_completed_without_a_records_check_result(today, officer, result, detail, code):
    case = make_case(officer)
    before = snapshot(case)
    with pytest.raises((Conflict, UsageError)) as err:
        do_record_check_in(case=case, outcome="appeared", records_check=result, records_check_detail=detail,
                           actor_label="test")
    assert err.value.code == code
    assert snapshot(case) == before


def test_a_clear_appearance_updates_the_schedule_and_records_the_minutes(today, officer):
    case = make_case(officer, reporting_cadence_days=90, last_contact_on=TODAY - dt.timedelta(days=40))
    row = do_record_check_in(case=case, outcome="appeared", records_check="clear", actor_label="test", minutes=22)
    row.refresh_from_db()
    assert (row.outcome, row.method, row.records_check, row.scheduled_for, row.officer_id) == (
        "appeared", "in_person", "clear", TODAY + dt.timedelta(days=30), officer.pk)
    assert row.records_check_at == row.occurred_at
    stored = Case.objects.get(pk=case.pk)
    assert (stored.last_contact_on, stored.next_report_due, stored.version, stored.missed_in_a_row) == (
        TODAY, TODAY + dt.timedelta(days=90), 2, 0)
    entries = sorted(TimeLogEntry.objects.filter(case=case).values_list("activity", "minutes", "default_minutes_used", "officer_id"))
    assert entries == [("check_in", 22, False, officer.pk), ("records_check", 8, True, officer.pk)]
    event = AuditEvent.objects.get(action="checkin.recorded")
    assert (event.object_id, event.office_id, event.details["check_in"], event.details["records_check"]) == (
        str(case.pk), case.office_id, row.pk, "clear")
    assert case.history.count() == 2  # created, then this check-in


def test_an_atd_technology_check_in_records_an_atd_review(today, officer):
    case = make_case(officer, supervision_type="atd")
    do_record_check_in(case=case, outcome="appeared", records_check="clear", actor_label="test")
    assert sorted(TimeLogEntry.objects.values_list("activity", "minutes")) == [("atd_review", 4), ("records_check", 8)]
    assert CheckIn.objects.get().method == "atd_technology"


def test_a_hit_creates_a_supervisor_task_until_a_supervisor_reviews_it(today, officer, supervisor, plain_user):
    case = make_case(officer)
    row = do_record_check_in(case=case, outcome="appeared", records_check="hit",
                             records_check_detail="open warrant, county of Fairfax", actor_label="test")
    assert Case.objects.get(pk=case.pk).hit_review_owed_since == TODAY
    with pytest.raises(PermissionDenied) as err:
        do_review_hit(check_in=row, decision="refer to detention", supervisor=plain_user)
    assert err.value.code == "supervisor_required"
    assert CheckIn.objects.get(pk=row.pk).hit_reviewed_on is None

    do_review_hit(check_in=CheckIn.objects.get(pk=row.pk), decision="warrant confirmed; referred to detention", supervisor=supervisor)
    stored = CheckIn.objects.get(pk=row.pk)
    assert (stored.hit_reviewed_on, stored.hit_reviewed_by, stored.hit_review_decision) == (
        TODAY, supervisor, "warrant confirmed; referred to detention")
    assert Case.objects.get(pk=case.pk).hit_review_owed_since is None
    assert AuditEvent.objects.get(action="checkin.hit_reviewed").actor == supervisor
    with pytest.raises(Conflict) as again:
        do_review_hit(check_in=stored, decision="again", supervisor=supervisor)
    assert again.value.code == "no_hit_to_review"


def test_an_unavailable_system_leaves_a_records_check_owed_until_it_is_run(today, officer):
    case = make_case(officer)
    row = do_record_check_in(case=case, outcome="appeared", records_check="unavailable",
                             records_check_detail="state system down for maintenance", actor_label="test")
    assert Case.objects.get(pk=case.pk).records_check_owed_since == TODAY
    case = access_case(case.pk)
    assert do_record_records_check(case=case, result="clear", actor_label="test") == [row.pk]
    stored = CheckIn.objects.get(pk=row.pk)
    assert (stored.records_check, stored.records_check_detail) == ("clear", "")
    assert Case.objects.get(pk=case.pk).records_check_owed_since is None
    assert TimeLogEntry.objects.filter(case=case, activity="records_check").count() == 2
    with pytest.raises(Conflict) as err:
        do_record_records_check(case=access_case(case.pk), result="clear", actor_label="test")
    assert err.value.code == "no_records_check_owed"


def test_a_late_records_check_covers_every_check_in_lacking_one(today, officer):
    case = make_case(officer)
    def attended(days_ago, **fields):
        day = TODAY - dt.timedelta(days=days_ago)
        return CheckIn.objects.create(case=case, office=case.office, officer=officer, scheduled_for=day, outcome="appeared",
                                      occurred_at=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC), **fields)

    skipped = [attended(200), attended(100)]
    done = attended(50, records_check="clear")
    assert check_in_facts(case.pk)["records_check_owed_since"] == TODAY - dt.timedelta(days=200)
    ids = do_record_records_check(case=case, result="hit", detail="conviction 2025", actor_label="test")
    assert ids == [r.pk for r in skipped]
    assert CheckIn.objects.get(pk=done.pk).records_check == "clear"
    stored = Case.objects.get(pk=case.pk)
    assert (stored.records_check_owed_since, stored.hit_review_owed_since) == (None, TODAY - dt.timedelta(days=200))


def test_consecutive_missed_check_ins_mark_the_person_as_failed_to_report(today, officer):
    due = TODAY - dt.timedelta(days=14)
    case = make_case(officer, next_report_due=due)
    do_record_check_in(case=case, outcome="missed", actor_label="test")
    case = access_case(case.pk)
    assert (case.missed_in_a_row, case.next_report_due, case.person.failed_to_report_on) == (1, due, None)
    assert not AuditEvent.objects.filter(action="person.failed_to_report").exists()

    do_record_check_in(case=case, outcome="missed", scheduled_for=due + dt.timedelta(days=7), actor_label="test")
    case = access_case(case.pk)
    assert (case.missed_in_a_row, case.person.failed_to_report_on) == (2, due + dt.timedelta(days=7))
    event = AuditEvent.objects.get(action="person.failed_to_report")
    assert (event.object_type, event.object_id, event.details["missed_in_a_row"]) == ("person", str(case.person_id), 2)
    assert TimeLogEntry.objects.count() == 0  # a no-show records no minutes unless they are given

    do_record_check_in(case=case, outcome="appeared", records_check="clear", actor_label="test")
    case = access_case(case.pk)
    assert (case.missed_in_a_row, case.person.failed_to_report_on) == (0, None)
    assert AuditEvent.objects.filter(action="person.failure_to_report_cleared").count() == 1


def test_rescheduling_moves_the_next_report_and_needs_a_reason(today, officer):
    case = make_case(officer)
    with pytest.raises(UsageError) as err:
        do_record_check_in(case=case, outcome="rescheduled", reschedule_to=TODAY + dt.timedelta(days=3), actor_label="test")
    assert err.value.code == "reason_required"
    with pytest.raises(UsageError) as err:
        do_record_check_in(case=case, outcome="rescheduled", note="hospital", actor_label="test")
    assert err.value.code == "reschedule_date_required"
    do_record_check_in(case=case, outcome="rescheduled", note="hospital appointment",
                       reschedule_to=TODAY + dt.timedelta(days=3), actor_label="test")
    stored = Case.objects.get(pk=case.pk)
    assert (stored.next_report_due, stored.missed_in_a_row, stored.version) == (TODAY + dt.timedelta(days=3), 0, 2)
    assert CheckIn.objects.get().rescheduled_to == TODAY + dt.timedelta(days=3)


def test_a_missed_check_in_has_no_records_check_and_cannot_lie_ahead(today, officer):
    case = make_case(officer, next_report_due=TODAY)
    with pytest.raises(UsageError) as err:
        do_record_check_in(case=case, outcome="missed", records_check="clear", actor_label="test")
    assert err.value.code == "records_check_not_applicable"
    with pytest.raises(UsageError) as err:
        do_record_check_in(case=case, outcome="missed", scheduled_for=TODAY + dt.timedelta(days=1), actor_label="test")
    assert err.value.code == "date_in_future"
    assert CheckIn.objects.count() == 0


def test_an_appearance_on_an_unassigned_case_needs_the_acting_officer(today, officer):
    case = make_case(None)
    before = snapshot(case)
    with pytest.raises(UsageError) as err:
        do_record_check_in(case=case, outcome="appeared", records_check="clear", actor_label="test")
    assert err.value.code == "officer_required"
    assert snapshot(case) == before
    do_record_check_in(case=case, outcome="appeared", records_check="clear", officer=officer, actor_label="test")
    assert set(TimeLogEntry.objects.values_list("officer_id", flat=True)) == {officer.pk}


def test_a_closed_case_takes_no_check_in(today, officer):
    case = make_case(officer, status="closed", closed_on=TODAY, close_reason="transferred")
    with pytest.raises(Conflict) as err:
        do_record_check_in(case=case, outcome="missed", actor_label="test")
    assert err.value.code == "case_closed"


# --- derived columns after a bulk load --------------------------------------------------------

def bulk_case(officer, check_ins, **fields):
    """A case written the way a bulk loader writes it (derived columns not computed)."""
    case = factories.case(officer=officer, derived_current=False, **fields)
    for day, outcome, result in check_ins:
        CheckIn.objects.create(case=case, office=case.office, scheduled_for=day, outcome=outcome,
                               occurred_at=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC) if outcome == "appeared" else None,
                               records_check=result, records_check_detail="record found" if result == "hit" else "")
    return case


def test_refresh_derives_the_columns_of_bulk_loaded_cases(today, officer):
    d = dt.date
    a = bulk_case(officer, [(d(2026, 1, 5), "appeared", "not_run"), (d(2026, 2, 5), "appeared", "hit"),
                            (d(2026, 3, 5), "missed", "not_run"), (d(2026, 4, 5), "missed", "not_run")])
    b = bulk_case(officer, [(d(2026, 1, 5), "missed", "not_run"), (d(2026, 2, 5), "appeared", "clear"),
                            (d(2026, 3, 5), "missed", "not_run")])
    c = bulk_case(officer, [])
    current = factories.case(officer=officer)  # written by the services: not touched
    result = refresh_derived(actor_label="test")
    assert (result["cases"], result["failed_to_report_marked"]) == (3, 1)
    got = {x.pk: (x.records_check_owed_since, x.hit_review_owed_since, x.missed_in_a_row, x.derived_current)
           for x in Case.objects.filter(pk__in=[a.pk, b.pk, c.pk, current.pk])}
    assert got == {a.pk: (d(2026, 1, 5), d(2026, 2, 5), 2, True), b.pk: (None, None, 1, True),
                   c.pk: (None, None, 0, True), current.pk: (None, None, 0, True)}
    assert Person.objects.get(pk=a.person_id).failed_to_report_on == d(2026, 4, 5)
    assert Person.objects.get(pk=b.person_id).failed_to_report_on is None
    for case in (a, b, c):
        facts = check_in_facts(case.pk)
        assert (facts["records_check_owed_since"], facts["hit_review_owed_since"], facts["missed_in_a_row"]) == got[case.pk][:3]
    assert AuditEvent.objects.get(action="docket.derived_refreshed").details["cases"] == 3
    assert refresh_derived(actor_label="test")["cases"] == 0


def test_refresh_all_recomputes_cases_whose_check_ins_were_loaded_later(today, officer):
    case = factories.case(officer=officer)
    CheckIn.objects.create(case=case, office=case.office, scheduled_for=dt.date(2026, 2, 1), outcome="appeared",
                           occurred_at=dt.datetime(2026, 2, 1, 9, tzinfo=dt.UTC))
    assert refresh_derived(actor_label="test")["cases"] == 0
    assert Case.objects.get(pk=case.pk).records_check_owed_since is None
    assert refresh_derived(all_cases=True, actor_label="test")["cases"] == Case.objects.count()
    assert Case.objects.get(pk=case.pk).records_check_owed_since == dt.date(2026, 2, 1)


def test_check_in_commands(officer, supervisor):
    import json

    from typer.testing import CliRunner

    from caseload.cli import app

    case = make_case(officer, next_report_due=dt.date(2026, 1, 10), reporting_cadence_days=60)
    runner = CliRunner()
    refused = runner.invoke(app, ["checkin", "record", "--case", str(case.pk), "--outcome", "appeared", "--format", "json"])
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["error"]["code"] == "records_check_required"
    assert CheckIn.objects.count() == 0

    ok = runner.invoke(app, ["checkin", "record", "--case", str(case.pk), "--outcome", "appeared", "--records-check", "hit",
                             "--detail", "new arrest 2026-01-02", "--at", "2026-01-10T09:30", "--format", "json"])
    assert ok.exit_code == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert (doc["outcome"], doc["records_check"], doc["next_report_due"], doc["version"]) == ("appeared", "hit", "2026-03-11", 2)

    review = runner.invoke(app, ["checkin", "review-hit", "--check-in", str(doc["check_in"]), "--decision",
                                 "arrest confirmed; case referred for custody review", "--by", supervisor.username,
                                 "--format", "json"])
    assert review.exit_code == 0, review.stderr
    assert Case.objects.get(pk=case.pk).hit_review_owed_since is None
    nobody = runner.invoke(app, ["checkin", "review-hit", "--check-in", str(doc["check_in"]), "--decision", "x",
                                 "--by", "no.such.user", "--format", "json"])
    assert nobody.exit_code == 2 and json.loads(nobody.stdout)["error"]["code"] == "unknown_user"
