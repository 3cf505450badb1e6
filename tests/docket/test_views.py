"""The officer's pages: worklist, search, case page, case actions, opening a case, the time log.

Each test acts as a signed-in user through the test client on hand-built cases and checks what
the database then holds (the change, the time-log minutes, the audit event with the user as
actor) and what the page says."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from caseload.core.models import AuditEvent
from caseload.docket.models import Case, CheckIn
from caseload.workload.models import TimeLogEntry
from tests import factories
from tests.docket.conftest import TODAY

pytestmark = pytest.mark.django_db


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def _case(officer, *, due: int = -3, **fields):
    defaults = {"officer": officer, "office": officer.office, "next_report_due": days(due), "last_contact_on": days(-20),
                "opened_on": days(-400), "proceedings_started_on": days(-400), "stage_changed_on": days(-400)}
    return factories.case(factories.person(officer.office.code), **{**defaults, **fields})


@pytest.fixture
def me(db, today):
    officer = factories.officer("WAS", first_name="Maria", last_name="Lopez")
    return {"officer": officer, "user": factories.user("officer", "mlopez", officer_obj=officer)}


@pytest.fixture
def signed_in(client, me):
    client.force_login(me["user"])
    return client


def test_worklist_shows_counts_and_the_officers_tasks_in_order(signed_in, me, django_assert_max_num_queries):
    late = _case(me["officer"], due=-3)
    soon = _case(me["officer"], due=5)
    ns = _case(me["officer"], due=9, person=factories.person("WAS", national_security_flag=True),
               ns_reviewed_on=days(-1))
    other = _case(factories.officer("WAS", last_name="Else"), due=-10)
    with django_assert_max_num_queries(20):
        response = signed_in.get("/worklist/")
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'data-figure="cases">3<', html) and re.search(r'data-figure="overdue">1<', html)
    linked = re.findall(r'href="/cases/(\d+)/"', html[html.index('id="tasks"'):])
    assert [int(x) for x in linked] == [ns.pk, late.pk, soon.pk]
    assert str(other.pk) not in linked
    event = AuditEvent.objects.filter(action="case.list", actor=me["user"]).latest("id")
    assert event.details["cases"] == sorted([ns.pk, late.pk, soon.pk]) and event.details["via"] == "/worklist/"
    only_late = signed_in.get("/worklist/?overdue=1").content.decode()
    assert re.findall(r'href="/cases/(\d+)/"', only_late[only_late.index('id="tasks"'):]) == [str(late.pk)]


def test_worklist_pages_of_fifty(signed_in, me):
    for _ in range(55):
        _case(me["officer"], due=-1)
    first = signed_in.get("/worklist/").content.decode()
    rows = re.findall(r'<tr class="overdue">', first)
    assert len(rows) == 50
    after = re.search(r'after=([\d]+-[a-z_]+)', first).group(1)
    second = signed_in.get(f"/worklist/?after={after}").content.decode()
    assert len(re.findall(r'<tr class="overdue">', second)) == 5 and "after=" not in second.split('id="tasks"')[1]


def test_the_worklist_is_for_officers(client, today):
    client.force_login(factories.user("hq_analyst", "analyst"))
    assert client.get("/worklist/").status_code == 403


def test_search_finds_within_scope_and_an_exact_a_number_opens_the_case(signed_in, me):
    mine = _case(me["officer"], person=factories.person("WAS", last_name="Quintero"))
    theirs = _case(factories.officer("WAS", last_name="Else"), person=factories.person("WAS", last_name="Quintana"))
    found = signed_in.get("/cases/search/?q=Quint").content.decode()
    assert f"/cases/{mine.pk}/" in found and f"/cases/{theirs.pk}/" not in found
    exact = signed_in.get(f"/cases/search/?q={mine.person.a_number_display}")
    assert exact.status_code == 302 and exact["Location"] == f"/cases/{mine.pk}/"
    assert signed_in.get(f"/cases/search/?q={theirs.person.a_number}").status_code == 200  # found nothing


def test_case_page_shows_the_record_and_is_an_audited_read(signed_in, me):
    case = _case(me["officer"], stage="final_order", final_order_date=days(-100), stay_of_removal_until=days(30))
    response = signed_in.get(f"/cases/{case.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert case.person.a_number_display in html and "Mexico" in html
    assert "Blocked: a stay of removal is in effect until" in html
    removed = html[html.index("The person was removed"):][:600]
    assert "Not available:" in removed and "stay of removal" in removed and "disabled" in removed
    event = AuditEvent.objects.filter(action="case.read").latest("id")
    assert event.actor_id == me["user"].pk and event.details["a_numbers"] == [case.person.a_number]


def test_another_officers_case_is_not_found(signed_in, me):
    other = _case(factories.officer("WAS", last_name="Else"))
    assert signed_in.get(f"/cases/{other.pk}/").status_code == 404
    response = signed_in.post(f"/cases/{other.pk}/contact/", {"contact-version": other.version, "contact-activity": "home_visit"})
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(object_type="case", object_id=str(other.pk)).exists()


def _check_in(client, case, **fields):
    data = {"check-in-version": case.version, "check-in-outcome": "appeared", "check-in-method": "in_person",
            "check-in-minutes": "17", "check-in-records_check_minutes": "6"}
    data.update({f"check-in-{k}": v for k, v in fields.items()})
    return client.post(f"/cases/{case.pk}/check-in/", data)


def test_an_appearance_needs_the_records_check_and_keeps_the_input(signed_in, me):
    case = _case(me["officer"])
    refused = _check_in(signed_in, case, note="came with a lawyer")
    html = refused.content.decode()
    assert refused.status_code == 409 and 'data-code="records_check_required"' in html
    assert 'value="came with a lawyer"' in html and 'value="17"' in html
    assert not CheckIn.objects.filter(case=case).exists() and not TimeLogEntry.objects.filter(case=case).exists()


def test_a_check_in_with_its_records_check_writes_everything_with_the_user_as_actor(signed_in, me):
    case = _case(me["officer"])
    response = _check_in(signed_in, case, records_check="clear")
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/#top"
    row = CheckIn.objects.get(case=case)
    assert (row.outcome, row.records_check, row.officer_id) == ("appeared", "clear", me["officer"].pk)
    minutes = dict(TimeLogEntry.objects.filter(case=case).values_list("activity", "minutes"))
    assert minutes == {"check_in": 17, "records_check": 6}
    event = AuditEvent.objects.get(action="checkin.recorded", object_id=str(case.pk))
    assert event.actor_id == me["user"].pk and event.actor_label == "mlopez"
    updated = Case.objects.get(pk=case.pk)
    assert updated.version == case.version + 1 and updated.last_contact_on == TODAY
    page = signed_in.get(response["Location"]).content.decode()
    assert "Check-in recorded: appeared" in page


def test_a_stale_form_is_refused_with_who_changed_it_and_the_input_kept(signed_in, me, client):
    case = _case(me["officer"])
    supervisor = factories.user("supervisor", "sup", office_code="WAS")
    from django.test import Client

    other = Client()
    other.force_login(supervisor)
    assert other.post(f"/cases/{case.pk}/contact/", {"contact-version": case.version, "contact-activity": "home_visit",
                                                      "contact-note": "visited"}).status_code == 302
    stale = _check_in(signed_in, case, records_check="hit", records_check_detail="open warrant in VA")
    html = stale.content.decode()
    assert stale.status_code == 409 and "changed by sup at" in html
    assert "open warrant in VA" in html and 'value="hit" selected' in html
    assert not CheckIn.objects.filter(case=case).exists()


def test_read_only_roles_see_no_actions_and_cannot_post(client, me):
    case = _case(me["officer"])
    client.force_login(factories.user("hq_analyst", "analyst"))
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Record a check-in" not in html
    assert _check_in(client, case, records_check="clear").status_code == 403


def test_a_transition_under_a_stay_is_refused(signed_in, me):
    case = _case(me["officer"], stage="final_order", final_order_date=days(-100), stay_of_removal_until=days(30))
    response = signed_in.post(f"/cases/{case.pk}/transition/", {
        "transition_to": "removed", "to-removed-version": case.version, "to-removed-to": "removed",
        "to-removed-reason": "removed on flight 123"})
    assert response.status_code == 409 and b'data-code="stay_in_effect"' in response.content
    assert Case.objects.get(pk=case.pk).status == "open"


def test_a_stay_then_a_claim(signed_in, me):
    case = _case(me["officer"], stage="final_order", final_order_date=days(-100))
    assert signed_in.post(f"/cases/{case.pk}/stay/", {"stay-version": case.version, "stay-until": days(60).isoformat(),
                                                      "stay-reason": "BIA stay order"}).status_code == 302
    case.refresh_from_db()
    assert case.stay_of_removal_until == days(60)
    assert signed_in.post(f"/cases/{case.pk}/claim/", {"claim-version": case.version,
                                                       "claim-reason": "says father was a citizen"}).status_code == 302
    case.refresh_from_db()
    assert case.person.citizenship_claim == "open"
    actions = list(AuditEvent.objects.filter(object_type="case", object_id=str(case.pk), actor=me["user"])
                   .values_list("action", flat=True))
    assert actions == ["case.stay_recorded", "person.citizenship_claim_raised"]


def test_open_a_case_from_the_form(signed_in, me):
    from caseload.policy.services import do_load_shipped

    do_load_shipped(actor_label="test")
    response = signed_in.post("/cases/new/", {
        "a_number": "A245-678-901", "family_name": "Reyes", "given_name": "Ana", "birth_date": "1990-02-03",
        "citizenship": "Honduras", "office": "WAS", "unit": "non_detained", "supervision_type": "recognizance",
        "stage": "pending"})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="opened"' in html, html[-3000:]
    case = Case.objects.get(person__a_number="245678901")
    assert case.officer_id == me["officer"].pk and case.person.citizenship_id == "HN"
    assert f"/cases/{case.pk}/" in html
    again = signed_in.post("/cases/new/", {
        "a_number": "245678901", "family_name": "Reyes", "given_name": "Ana", "birth_date": "1990-02-03",
        "citizenship": "HN", "office": "WAS",
        "unit": "non_detained", "supervision_type": "recognizance", "stage": "pending"})
    assert again.status_code == 409 and b"open_case_exists" in again.content
    assert Case.objects.filter(person__a_number="245678901").count() == 1


def test_an_officer_cannot_open_a_case_in_another_office(signed_in):
    response = signed_in.post("/cases/new/", {
        "a_number": "245678902", "family_name": "Reyes", "given_name": "Ana", "citizenship": "HN", "office": "BOS",
        "unit": "non_detained", "supervision_type": "recognizance", "stage": "pending"})
    assert response.status_code == 400  # BOS is not a choice for a WAS officer
    assert not Case.objects.filter(person__a_number="245678902").exists()


def test_time_log_records_and_corrects_collateral_duties(signed_in, me):
    response = signed_in.post("/timelog/", {"form": "add", "add-activity": "walk_in", "add-minutes": "12"})
    assert response.status_code == 302
    entry = TimeLogEntry.objects.get(officer=me["officer"], activity="walk_in")
    assert entry.minutes == 12 and entry.case_id is None
    page = signed_in.get("/timelog/").content.decode()
    assert "Walk-in" in page and re.search(r"<strong>12</strong>", page)
    fixed = signed_in.post("/timelog/", {"form": "correct", "fix-entry": entry.pk, "fix-minutes": "20", "fix-reason": "typo"})
    assert fixed.status_code == 302 and TimeLogEntry.objects.get(pk=entry.pk).minutes == 20
    theirs = TimeLogEntry.objects.create(officer=factories.officer("WAS"), office_id=me["officer"].office_id,
                                         activity="phone_call", started_at=entry.started_at, minutes=5)
    assert signed_in.post("/timelog/", {"form": "correct", "fix-entry": theirs.pk, "fix-minutes": "1",
                                        "fix-reason": "x"}).status_code == 404
    assert TimeLogEntry.objects.get(pk=theirs.pk).minutes == 5
    assert AuditEvent.objects.filter(action="timelog.corrected", actor=me["user"]).count() == 1


def test_the_worklist_page_runs_a_fixed_number_of_queries(signed_in, me):
    """The first page costs the same queries for 3 cases as for 80 (no query per row)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert signed_in.get("/worklist/").status_code == 200
        return len(captured)

    for _ in range(3):
        _case(me["officer"], due=-2)
    few = queries()
    for _ in range(77):
        _case(me["officer"], due=-2, person=factories.person("WAS", national_security_flag=True), ns_reviewed_on=days(-1))
    assert queries() == few
