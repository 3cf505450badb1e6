"""The travel-document lifecycle: transition table, due-process guards, quota, audit."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.auth.models import Group, User

from caseload.core import clock
from caseload.core.errors import Conflict, UsageError
from caseload.core.models import AuditEvent
from caseload.countries import travel_documents as td
from caseload.countries.models import TravelDocumentEscalation, TravelDocumentRequest
from caseload.countries.rules import Forbidden
from caseload.countries.services import access_country, do_set_tier
from tests import factories
from tests.countries.builders import ACTOR, TODAY, days_ago, final_order_case, history

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def today():
    with clock.frozen(TODAY):
        yield TODAY


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


ALLOWED = {
    (None, "requested"),
    ("requested", "interview"),
    ("requested", "issued"), ("requested", "refused"), ("requested", "withdrawn"),
    ("interview", "issued"), ("interview", "refused"), ("interview", "withdrawn"),
    ("issued", "expired"), ("issued", "withdrawn"),
}
STATUSES = [None, "requested", "interview", "issued", "refused", "expired", "withdrawn"]


@pytest.mark.parametrize("old, new", [(o, n) for o, n in itertools.product(STATUSES, STATUSES[1:])])
def test_the_transition_table_allows_exactly_the_lifecycle(old, new):
    if (old, new) in ALLOWED:
        td.check_transition(old, new)
    else:
        with pytest.raises(Conflict) as err:
            td.check_transition(old, new)
        assert err.value.code == "invalid_transition"


def test_request_interview_issue_each_step_recorded_and_audited():
    case = final_order_case("HT")
    request = td.do_request_travel_document(case=case, actor_label=ACTOR)
    assert (request.status, request.country_id, request.office_id, request.requested_on) == ("requested", "HT",
                                                                                               case.office_id, TODAY)
    request = td.do_schedule_interview(request=request, on=TODAY + dt.timedelta(days=10), actor_label=ACTOR)
    assert (request.status, request.interview_on) == ("interview", dt.date(2026, 6, 11))
    request = td.do_issue(request=request, expires_on=dt.date(2026, 12, 1), actor_label=ACTOR)
    assert (request.status, request.decided_on, request.expires_on) == ("issued", TODAY, dt.date(2026, 12, 1))
    assert actions() == ["travel_document.requested", "travel_document.interview", "travel_document.issued"]
    assert AuditEvent.objects.filter(object_id=str(request.pk)).values_list("details__from", flat=True)[1] == "requested"
    assert not TravelDocumentEscalation.objects.exists()


def test_a_document_for_another_country_may_be_requested():
    request = td.do_request_travel_document(case=final_order_case("HT"), country="DOMINICAN REPUBLIC", actor_label=ACTOR)
    assert request.country_id == "DO"


@pytest.mark.parametrize("fields, person, code", [
    ({"stay_of_removal_until": TODAY}, {}, "stay_in_effect"),
    ({"appeal_pending": True, "appeal_filed_on": dt.date(2026, 2, 1)}, {}, "appeal_pending"),
    ({}, {"citizenship_claim": "open"}, "citizenship_claim_open"),
])
def test_a_request_is_refused_under_a_stay_an_appeal_or_an_open_citizenship_claim(fields, person, code):
    case = final_order_case("HT", person=person, **fields)
    with pytest.raises(Conflict) as err:
        td.do_request_travel_document(case=case, actor_label=ACTOR)
    assert err.value.code == code and err.value.details["step"] == "travel_document_request"
    assert not TravelDocumentRequest.objects.exists() and actions() == []


def test_scheduling_the_interview_is_refused_once_a_stay_is_granted_and_nothing_changes():
    case = final_order_case("HT")
    request = td.do_request_travel_document(case=case, actor_label=ACTOR)
    case.stay_of_removal_until = TODAY + dt.timedelta(days=30)
    case.save()
    with pytest.raises(Conflict) as err:
        td.do_schedule_interview(request=td.access_request(request.pk), on=TODAY, actor_label=ACTOR)
    assert err.value.code == "stay_in_effect" and err.value.details["step"] == "consular_interview_scheduling"
    request.refresh_from_db()
    assert (request.status, request.interview_on) == ("requested", None)
    assert actions() == ["travel_document.requested"]


def test_only_open_final_order_cases_get_requests_and_one_open_request_at_a_time():
    pending = factories.case(factories.person(citizenship_id="HT"))
    with pytest.raises(Conflict) as err:
        td.do_request_travel_document(case=pending, actor_label=ACTOR)
    assert err.value.code == "no_final_order"
    case = final_order_case("HT")
    first = td.do_request_travel_document(case=case, actor_label=ACTOR)
    with pytest.raises(Conflict) as err:
        td.do_request_travel_document(case=case, actor_label=ACTOR)
    assert err.value.code == "request_open"
    td.do_refuse(request=first, reason="nationality not confirmed", actor_label=ACTOR)
    second = td.do_request_travel_document(case=case, actor_label=ACTOR)
    assert TravelDocumentRequest.objects.filter(case=case).count() == 2 and second.status == "requested"


def test_a_refusal_needs_a_reason_and_opens_the_consulate_contact_task():
    request = td.do_request_travel_document(case=final_order_case("HT"), on=days_ago(20), actor_label=ACTOR)
    with pytest.raises(UsageError):
        td.do_refuse(request=request, reason="  ", actor_label=ACTOR)
    request = td.do_refuse(request=request, reason="identity not established", on=days_ago(2), actor_label=ACTOR)
    assert (request.status, request.decided_on, request.refusal_reason) == ("refused", days_ago(2), "identity not established")
    task = TravelDocumentEscalation.objects.get()
    assert (task.request_id, task.step, task.reason, task.opened_on, task.due_on, task.status) == (
        request.pk, "consulate_contact", "refused", TODAY, TODAY + dt.timedelta(days=14), "open")
    assert actions() == ["travel_document.requested", "travel_document.refused", "travel_document.escalation_opened"]


def test_an_issued_document_resolves_the_cases_open_escalations_and_withdrawal_cancels_them():
    case = final_order_case("HT")
    refused = td.do_refuse(request=td.do_request_travel_document(case=case, on=days_ago(40), actor_label=ACTOR),
                           reason="no answer", on=days_ago(10), actor_label=ACTOR)
    retry = td.do_request_travel_document(case=case, actor_label=ACTOR)
    td.do_issue(request=retry, expires_on=TODAY + dt.timedelta(days=90), actor_label=ACTOR)
    task = TravelDocumentEscalation.objects.get(request=refused)
    assert (task.status, task.closed_on, task.closed_by) == ("resolved", TODAY, ACTOR)

    other = final_order_case("HT")
    r = td.do_refuse(request=td.do_request_travel_document(case=other, on=days_ago(5), actor_label=ACTOR),
                     reason="no answer", actor_label=ACTOR)
    with pytest.raises(Conflict):  # a refused request cannot be withdrawn: it is already closed
        td.do_withdraw(request=r, reason="relief granted", actor_label=ACTOR)
    pending = td.do_request_travel_document(case=final_order_case("HT"), on=days_ago(100), actor_label=ACTOR)
    from caseload.countries.escalation import open_due_escalations
    assert open_due_escalations(as_of=TODAY) == 1
    td.do_withdraw(request=pending, reason="relief granted", actor_label=ACTOR)
    assert TravelDocumentEscalation.objects.get(request=pending).status == "cancelled"
    assert TravelDocumentEscalation.objects.get(request=r).status == "open"


def test_a_stale_request_object_cannot_overwrite_a_newer_status():
    request = td.do_request_travel_document(case=final_order_case("HT"), actor_label=ACTOR)
    stale = td.access_request(request.pk)
    td.do_refuse(request=request, reason="no answer", actor_label=ACTOR)
    with pytest.raises(Conflict) as err:
        td.do_issue(request=stale, expires_on=TODAY + dt.timedelta(days=30), actor_label=ACTOR)
    assert err.value.code == "stale_request"
    assert TravelDocumentRequest.objects.get().status == "refused"


@pytest.mark.parametrize("call, code", [
    (lambda r: td.do_issue(request=r, on=days_ago(30), expires_on=TODAY, actor_label=ACTOR), "date_before_request"),
    (lambda r: td.do_issue(request=r, expires_on=TODAY, actor_label=ACTOR), "invalid_expiry"),
    (lambda r: td.do_refuse(request=r, reason="x", on=TODAY + dt.timedelta(days=1), actor_label=ACTOR), "date_in_future"),
])
def test_impossible_dates_are_refused(call, code):
    request = td.do_request_travel_document(case=final_order_case("HT"), on=days_ago(10), actor_label=ACTOR)
    with pytest.raises(UsageError) as err:
        call(request)
    assert err.value.code == code
    assert TravelDocumentRequest.objects.get().status == "requested"


def test_issuance_stops_at_the_annual_quota_and_the_queue_shows_who_is_covered():
    do_set_tier(country=access_country("CN"), tier="restricted", quota=2, effective_on=dt.date(2025, 10, 1),
                source="test quota", actor_label=ACTOR)
    requests = [td.do_request_travel_document(case=final_order_case("CN"), on=days_ago(50 - i), actor_label=ACTOR)
                for i in range(4)]
    queue = td.quota_queue(country=access_country("CN"))
    assert (queue["quota"], queue["issued"], queue["quota_remaining"], queue["quota_year"]) == (
        2, 0, 2, ["2025-10-01", "2026-09-30"])
    assert [(q["position"], q["request"], q["within_quota"]) for q in queue["queue"]] == [
        (1, requests[0].pk, True), (2, requests[1].pk, True), (3, requests[2].pk, False), (4, requests[3].pk, False)]
    assert td.queue_position(requests[2]) == (3, 4)

    td.do_issue(request=requests[1], expires_on=TODAY + dt.timedelta(days=60), actor_label=ACTOR)
    td.do_issue(request=requests[0], expires_on=TODAY + dt.timedelta(days=60), actor_label=ACTOR)
    with pytest.raises(Conflict) as err:
        td.do_issue(request=requests[2], expires_on=TODAY + dt.timedelta(days=60), actor_label=ACTOR)
    assert err.value.code == "quota_exhausted"
    assert td.access_request(requests[2].pk).status == "requested"
    assert td.queue_position(td.access_request(requests[2].pk)) == (1, 2)
    detail = td.request_detail(td.access_request(requests[3].pk))
    assert (detail["queue_position"], detail["queue_length"], detail["quota_remaining"]) == (2, 2, 0)
    with clock.frozen(dt.date(2026, 10, 1)):  # a new quota year
        issued = td.do_issue(request=td.access_request(requests[2].pk), expires_on=dt.date(2027, 1, 1), actor_label=ACTOR)
    assert issued.status == "issued"


def test_expired_documents_expire_in_one_update():
    case = final_order_case("HT")
    old = history(case, requested_on=days_ago(300), status="issued", decided_on=days_ago(250), expires_on=days_ago(1))
    fresh = history(final_order_case("HT"), requested_on=days_ago(30), status="issued", decided_on=days_ago(20),
                    expires_on=TODAY)
    assert td.expire_documents(as_of=TODAY) == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, old.closed_on, fresh.status) == ("expired", days_ago(1), "issued")


def test_users_act_only_on_cases_of_their_own_office():
    officers = Group.objects.get(name="officer")
    was_user, nyc_user = User.objects.create(username="was"), User.objects.create(username="nyc")
    for user, office in ((was_user, "WAS"), (nyc_user, "NYC")):
        user.groups.add(officers)
        factories.officer(office, user=user)
    case = final_order_case("HT", office="WAS")
    with pytest.raises(Forbidden):
        td.do_request_travel_document(case=case, actor=nyc_user)
    assert not TravelDocumentRequest.objects.exists()
    request = td.do_request_travel_document(case=case, actor=was_user)
    assert AuditEvent.objects.get(action="travel_document.requested").actor_label == "was"
    assert request.status == "requested"
