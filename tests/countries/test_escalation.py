"""Escalation of refused or stalled requests, the daily sweep, and the package for diplomatic action."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from caseload.core import clock
from caseload.core.errors import Conflict, UsageError
from caseload.core.models import AuditEvent
from caseload.countries import escalation
from caseload.countries import travel_documents as td
from caseload.countries.models import TravelDocumentEscalation
from caseload.countries.services import access_country
from caseload.countries.sweep import do_sweep
from caseload.docket import anumber
from tests.countries.builders import ACTOR, TODAY, days_ago, final_order_case, history

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def today():
    with clock.frozen(TODAY):
        yield TODAY


def tasks():
    return list(TravelDocumentEscalation.objects.order_by("id").values_list("request_id", "step", "reason", "opened_on",
                                                                           "due_on", "status"))


def test_the_sweep_opens_the_first_step_for_refused_and_stalled_requests_only():
    refused = history(final_order_case("HT"), requested_on=days_ago(300), status="refused", decided_on=days_ago(250),
                      reason="no answer")
    stalled = history(final_order_case("HT"), requested_on=days_ago(91), status="interview")
    history(final_order_case("HT"), requested_on=days_ago(90))                                   # not yet stalled
    history(final_order_case("HT", status="closed", closed_on=days_ago(1), close_reason="relief granted"),
            requested_on=days_ago(200))                                                           # case closed
    done = final_order_case("HT")
    history(done, requested_on=days_ago(300), status="refused", decided_on=days_ago(280))
    history(done, requested_on=days_ago(200), status="issued", decided_on=days_ago(100), expires_on=TODAY)  # has a document

    result = do_sweep(as_of=TODAY, actor_label=ACTOR)
    due = TODAY + dt.timedelta(days=14)
    assert tasks() == [(refused.pk, "consulate_contact", "refused", TODAY, due, "open"),
                       (stalled.pk, "consulate_contact", "stalled", TODAY, due, "open")]
    assert result == {"as_of": "2026-06-01", "documents_expired": 0, "escalations_resolved": 0, "escalations_opened": 2,
                      "escalations_lapsed": 0, "next_steps_opened": 0, "reviews_flagged": result["reviews_flagged"]}
    event = AuditEvent.objects.get(action="countries.sweep")
    assert event.details == result and event.actor_label == ACTOR

    again = do_sweep(as_of=TODAY, actor_label=ACTOR)
    assert again["escalations_opened"] == 0 and len(tasks()) == 2


def test_steps_lapse_in_order_and_the_last_stays_open_and_visible():
    request = history(final_order_case("HT"), requested_on=days_ago(200))
    do_sweep(as_of=TODAY, actor_label=ACTOR)
    later = TODAY + dt.timedelta(days=15)
    assert do_sweep(as_of=later, actor_label=ACTOR)["escalations_lapsed"] == 1
    latest = TODAY + dt.timedelta(days=15 + 31)
    result = do_sweep(as_of=latest, actor_label=ACTOR)
    assert (result["escalations_lapsed"], result["next_steps_opened"]) == (1, 1)
    assert tasks() == [
        (request.pk, "consulate_contact", "stalled", TODAY, TODAY + dt.timedelta(days=14), "lapsed"),
        (request.pk, "headquarters_review", "stalled", later, later + dt.timedelta(days=30), "lapsed"),
        (request.pk, "diplomatic_escalation", "stalled", latest, latest + dt.timedelta(days=60), "open"),
    ]
    assert do_sweep(as_of=latest + dt.timedelta(days=365), actor_label=ACTOR)["escalations_lapsed"] == 0
    assert [(t["step"], t["overdue"]) for t in escalation.list_tasks(country="HT")] == [("diplomatic_escalation", False)]
    with clock.frozen(latest + dt.timedelta(days=61)):
        assert [(t["step"], t["overdue"]) for t in escalation.list_tasks(country="HT")] == [("diplomatic_escalation", True)]
    assert len(escalation.list_tasks(country="HT", status=None)) == 3


def test_closing_a_step_unresolved_opens_the_next_and_resolved_ends_the_escalation():
    request = td.do_refuse(request=td.do_request_travel_document(case=final_order_case("HT"), on=days_ago(40),
                                                                 actor_label=ACTOR), reason="no answer", actor_label=ACTOR)
    first = TravelDocumentEscalation.objects.get()
    with pytest.raises(UsageError):
        escalation.do_close_task(task=first, outcome="unresolved", note=" ", actor_label=ACTOR)
    with pytest.raises(UsageError):
        escalation.do_close_task(task=first, outcome="lapsed", note="x", actor_label=ACTOR)
    closed, nxt = escalation.do_close_task(task=first, outcome="unresolved", note="called consulate; no answer",
                                           actor_label=ACTOR)
    assert (closed.status, closed.closed_on, closed.note) == ("unresolved", TODAY, "called consulate; no answer")
    assert (nxt.step, nxt.due_on, nxt.request_id) == ("headquarters_review", TODAY + dt.timedelta(days=30), request.pk)
    with pytest.raises(Conflict):
        escalation.do_close_task(task=first, outcome="resolved", note="again", actor_label=ACTOR)
    _, none = escalation.do_close_task(task=nxt, outcome="resolved", note="consul agreed to re-interview", actor_label=ACTOR)
    assert none is None and TravelDocumentEscalation.objects.count() == 2
    assert AuditEvent.objects.filter(action="travel_document.escalation_closed").count() == 2


def test_the_sweep_resolves_tasks_of_closed_cases_and_expires_documents():
    case = final_order_case("HT")
    history(case, requested_on=days_ago(200))
    issued = history(final_order_case("MX"), requested_on=days_ago(300), status="issued", decided_on=days_ago(200),
                     expires_on=days_ago(20))
    do_sweep(as_of=TODAY, actor_label=ACTOR)
    case.status, case.closed_on, case.close_reason = "closed", TODAY, "relief granted"
    case.save()
    result = do_sweep(as_of=TODAY + dt.timedelta(days=1), actor_label=ACTOR)
    assert result["escalations_resolved"] == 1
    assert TravelDocumentEscalation.objects.get(case=case).status == "resolved"
    issued.refresh_from_db()
    assert issued.status == "expired"


@pytest.fixture
def haiti():
    """Three cases awaiting a Haitian document, one refused, one done, one closed."""
    refused_case = final_order_case("HT", office="MIA", person={"first_name": "Zelda", "last_name": "Quirke"})
    td.do_refuse(request=td.do_request_travel_document(case=refused_case, on=days_ago(100), actor_label=ACTOR),
                 reason="identity not established", on=days_ago(30), actor_label=ACTOR)
    waiting = final_order_case("HT", office="NEW", final_order_date=dt.date(2025, 3, 1))
    history(waiting, requested_on=days_ago(200), status="interview")
    recent = final_order_case("HT", office="NEW")
    history(recent, requested_on=days_ago(10))
    done = final_order_case("HT")
    history(done, requested_on=days_ago(300), status="issued", decided_on=dt.date(2025, 9, 15), expires_on=TODAY)
    closed = final_order_case("HT", status="closed", closed_on=days_ago(1), close_reason="removed")
    history(closed, requested_on=days_ago(50))
    do_sweep(as_of=TODAY, actor_label=ACTOR)
    return refused_case, waiting, recent


def test_the_package_holds_counts_ageing_refusal_history_and_cases_by_a_number(haiti):
    refused_case, waiting, recent = haiti
    package = escalation.escalation_package(country=access_country("HT"), as_of=TODAY)
    assert package["country"] == "HT" and package["tier"] == "delayed" and package["as_of"] == "2026-06-01"
    assert package["counts"] == {
        "open_final_orders": 4, "pending_requests": 3, "pending_over_90_days": 1, "median_days_to_issue": 41.0,
        "refusal_rate": 0.5, "quota_remaining": None, "cases_listed": 3,
        "open_escalations": {"consulate_contact": 2, "headquarters_review": 0, "diplomatic_escalation": 0},
        "overdue_escalations": {"consulate_contact": 0, "headquarters_review": 0, "diplomatic_escalation": 0}}
    assert package["ageing"] == [{"days": "0-30 days", "pending": 1}, {"days": "31-90 days", "pending": 0},
                                 {"days": "91-180 days", "pending": 0}, {"days": "181-365 days", "pending": 1},
                                 {"days": "over 365 days", "pending": 0}]
    assert package["refusal_history"] == [
        {"fiscal_year": 2025, "issued": 1, "refused": 0, "refusal_rate": 0.0, "reasons": []},
        {"fiscal_year": 2026, "issued": 0, "refused": 1, "refusal_rate": 1.0,
         "reasons": [{"reason": "identity not established", "refused": 1}]}]
    assert [(c["a_number"], c["office"], c["request_status"], c["days_waiting"], c["refusals"], c["escalation_step"])
            for c in package["cases"]] == [
        (anumber.display(refused_case.person.a_number), "MIA", "refused", None, 1, "consulate_contact"),
        (anumber.display(waiting.person.a_number), "NEW", "pending", 200, 0, "consulate_contact"),
        (anumber.display(recent.person.a_number), "NEW", "pending", 10, 0, None)]
    assert package["cases"][1]["final_order_date"] == "2025-03-01"


def test_the_package_names_nobody_in_json_csv_or_html(haiti):
    package = escalation.escalation_package(country=access_country("HT"), as_of=TODAY)
    rendered = {"csv": escalation.package_csv(package), "html": escalation.package_html(package), "json": str(package)}
    for text in rendered.values():
        assert "Zelda" not in text and "Quirke" not in text
        assert anumber.display(haiti[0].person.a_number) in text
    rows = list(csv.reader(io.StringIO(rendered["csv"])))
    assert rows[0] == list(escalation.PACKAGE_CASE_COLUMNS) and len(rows) == 4
    assert rows[1][:5] == [anumber.display(haiti[0].person.a_number), "MIA", "2026-01-10", rows[1][3], "refused"]
    assert rendered["html"].startswith("<!doctype html>") and "Travel documents: Haiti (HT)" in rendered["html"]


def test_a_country_without_cases_gives_an_empty_package():
    package = escalation.escalation_package(country=access_country("FR"), as_of=TODAY)
    assert package["cases"] == [] and package["refusal_history"] == [] and package["counts"]["pending_requests"] == 0
    assert "No case awaits a document" in escalation.package_html(package)


# --- repeated refusals on one case escalate in order ----------------------------------------------

def open_steps_of(case) -> list[str]:
    return list(TravelDocumentEscalation.objects.filter(case=case, status="open").order_by("id").values_list("step", flat=True))


def test_repeated_refusals_escalate_in_order_never_three_parallel_consulate_contacts():
    case = final_order_case("HT")
    requests = [history(case, requested_on=days_ago(100 - 10 * i)) for i in range(4)]
    for i, request in enumerate(requests[:3]):
        td.do_refuse(request=request, reason="charter flight refused", on=days_ago(30 - i), actor_label=ACTOR)
    assert open_steps_of(case) == ["consulate_contact", "headquarters_review", "diplomatic_escalation"]
    td.do_refuse(request=requests[3], reason="charter flight refused", on=days_ago(10), actor_label=ACTOR)
    assert open_steps_of(case) == ["consulate_contact", "headquarters_review", "diplomatic_escalation"]  # no 2nd of a level
    assert TravelDocumentEscalation.objects.filter(case=case).count() == 3


def test_the_sweep_escalates_a_case_with_several_refusals_one_level_each():
    case = final_order_case("HT")
    for i in range(3):
        history(case, requested_on=days_ago(300 - i), status="refused", decided_on=days_ago(250 - i), reason="refused")
    other = final_order_case("HT")
    history(other, requested_on=days_ago(200), status="interview")                   # stalled only
    result = do_sweep(as_of=TODAY, actor_label=ACTOR)
    assert open_steps_of(case) == ["consulate_contact", "headquarters_review", "diplomatic_escalation"]
    assert open_steps_of(other) == ["consulate_contact"]
    assert result["escalations_opened"] == 4
    assert do_sweep(as_of=TODAY, actor_label=ACTOR)["escalations_opened"] == 0


def test_a_lapse_or_an_unresolved_step_never_opens_a_level_already_open_on_the_case():
    case = final_order_case("HT")
    first, second = history(case, requested_on=days_ago(60)), history(case, requested_on=days_ago(50))
    td.do_refuse(request=first, reason="refused", on=days_ago(40), actor_label=ACTOR)
    td.do_refuse(request=second, reason="refused", on=days_ago(39), actor_label=ACTOR)
    assert open_steps_of(case) == ["consulate_contact", "headquarters_review"]
    consulate = TravelDocumentEscalation.objects.get(case=case, step="consulate_contact")
    escalation.do_close_task(task=consulate, outcome="unresolved", note="consulate did not answer", actor_label=ACTOR)
    assert open_steps_of(case) == ["headquarters_review"]             # HQ review was open already: not a second one
    with clock.frozen(TODAY + dt.timedelta(days=60)):
        do_sweep(as_of=clock.today(), actor_label=ACTOR)               # HQ review lapses: diplomatic escalation opens
    assert open_steps_of(case) == ["diplomatic_escalation"]


def test_the_database_refuses_a_second_open_task_of_one_level_on_a_case():
    from django.db import IntegrityError, transaction

    case = final_order_case("HT")
    first, second = history(case, requested_on=days_ago(60)), history(case, requested_on=days_ago(50))
    td.do_refuse(request=first, reason="refused", on=days_ago(40), actor_label=ACTOR)
    with pytest.raises(IntegrityError), transaction.atomic():
        TravelDocumentEscalation.objects.create(request=second, case=case, office_id=case.office_id, country_id="HT",
                                                step="consulate_contact", reason="refused", opened_on=TODAY, due_on=TODAY)
    assert open_steps_of(case) == ["consulate_contact"]


def test_after_a_release_the_case_stays_on_the_docket_with_its_escalation_tasks_open_and_listed():
    from caseload.countries import foreseeability as fs
    from caseload.docket.lifecycle import do_release_from_detention
    from caseload.docket.models import Case
    from tests import factories

    case = final_order_case("HT", unit="detained", final_order_date=days_ago(300))
    for i in range(3):
        request = history(case, requested_on=days_ago(200 - i))
        td.do_refuse(request=request, reason="charter flight refused", on=days_ago(100 - i), actor_label=ACTOR)
    fs.flag_reviews(as_of=TODAY)
    review = fs.access_review(fs.list_reviews()[0]["id"])
    fs.do_decide_review(review=review, decision="removal_not_foreseeable", actor=factories.user("hq_analyst", "hq.one"),
                        rationale=" ".join(["Haiti refused three charter flights; escalation to the State Department "
                                            "is open and the person reports monthly under supervision."] * 2),
                        checklist={"criminal_history_reviewed": True, "consulate_contacted_on": days_ago(20).isoformat(),
                                   "escalation_level": "diplomatic_escalation", "risk_assessment": "high"})
    released = do_release_from_detention(case=Case.objects.get(pk=case.pk), supervision_type="osup",
                                         reason="custody review: release on supervision", cadence_days=30, actor_label=ACTOR)
    assert (released.status, released.unit) == ("open", "non_detained")
    assert open_steps_of(case) == ["consulate_contact", "headquarters_review", "diplomatic_escalation"]
    listed = escalation.list_tasks(office="WAS")
    assert [(t["case"], t["step"]) for t in listed if t["case"] == case.pk] == [
        (case.pk, "consulate_contact"), (case.pk, "headquarters_review"), (case.pk, "diplomatic_escalation")]
    do_sweep(as_of=TODAY, actor_label=ACTOR)                           # the sweep leaves them open on the released case
    assert open_steps_of(case) == ["consulate_contact", "headquarters_review", "diplomatic_escalation"]
