"""Foreseeability reviews: who is flagged, with which facts, and the guard on release decisions."""

from __future__ import annotations

import datetime as dt

import pytest

from caseload.core import clock
from caseload.core.errors import Conflict, UsageError
from caseload.core.models import AuditEvent
from caseload.countries import foreseeability as fs
from caseload.countries.models import ForeseeabilityReview
from caseload.docket.models import Conviction
from tests import factories
from tests.countries.builders import ACTOR, TODAY, days_ago, final_order_case, history

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def today():
    with clock.frozen(TODAY):
        yield TODAY


def flagged() -> dict[int, list[str]]:
    return dict(ForeseeabilityReview.objects.values_list("case_id", "reasons"))


def test_who_is_flagged_and_why():
    cuba = final_order_case("CU")                                                   # uncooperative country
    cuba_with_document = final_order_case("CU")
    history(cuba_with_document, requested_on=days_ago(60), status="issued", decided_on=days_ago(30), expires_on=TODAY)
    mexico_180 = final_order_case("MX", final_order_date=days_ago(180))
    history(mexico_180, requested_on=days_ago(170))                                 # requested, nothing issued
    mexico_179 = final_order_case("MX", final_order_date=days_ago(179))
    history(mexico_179, requested_on=days_ago(170))
    never_requested = final_order_case("MX", final_order_date=days_ago(400))        # not pursued: no finding on foreseeability
    expired_once = final_order_case("MX", final_order_date=days_ago(400))
    history(expired_once, requested_on=days_ago(390), status="expired", decided_on=days_ago(380), expires_on=days_ago(200))
    refused_cuba = final_order_case("CU", final_order_date=days_ago(365))
    history(refused_cuba, requested_on=days_ago(300), status="refused", decided_on=days_ago(200))
    factories.case(factories.person(citizenship_id="CU"))                           # no final order
    final_order_case("CU", status="closed", closed_on=TODAY, close_reason="removed")

    assert fs.flag_reviews(as_of=TODAY) == 3
    assert flagged() == {cuba.pk: ["uncooperative_country"], mexico_180.pk: ["no_document"],
                         refused_cuba.pk: ["uncooperative_country", "no_document"]}
    assert not {never_requested.pk, expired_once.pk, mexico_179.pk, cuba_with_document.pk} & set(flagged())
    assert fs.flag_reviews(as_of=TODAY) == 0                     # an open review covers the case
    assert fs.flag_reviews(as_of=TODAY + dt.timedelta(days=1)) == 1  # mexico_179 reaches 180 days


def test_the_review_carries_the_criminal_history_a_reviewer_needs():
    case = final_order_case("CU", final_order_date=dt.date(2025, 12, 1),
                            person={"national_security_flag": True, "pending_criminal_charges": 2})
    for on, category, severity, aggravated, sentence, custody in [
            (dt.date(2010, 5, 1), "drug_trafficking", "felony", True, 1800, 1500),
            (dt.date(2018, 2, 3), "dui", "misdemeanor", False, 30, 5)]:
        Conviction.objects.create(person=case.person, office_id=case.office_id, convicted_on=on, offense_category=category,
                                  severity=severity, aggravated_felony=aggravated, sentence_days=sentence,
                                  custody_days=custody, incident_id=f"i{on.year}")
    history(case, requested_on=dt.date(2025, 12, 10), status="refused", decided_on=dt.date(2026, 2, 1),
            reason="not recognised as a national")
    fs.flag_reviews(as_of=TODAY)
    review = ForeseeabilityReview.objects.get()
    assert (review.convictions, review.felonies, review.aggravated_felonies, review.last_conviction_on,
            review.longest_custody_days, review.pending_criminal_charges, review.national_security_flag, review.gang_flag,
            review.final_order_date, review.country_id, review.office_id, review.flagged_on, review.status) == (
        2, 1, 1, dt.date(2018, 2, 3), 1500, 2, True, False, dt.date(2025, 12, 1), "CU", case.office_id, TODAY, "open")
    assert review.facts["convictions"][0] == {"convicted_on": "2010-05-01", "offense_category": "drug_trafficking",
                                              "severity": "felony", "aggravated_felony": True, "sentence_days": 1800,
                                              "custody_days": 1500}
    assert review.facts["travel_documents"] == [{"request": review.facts["travel_documents"][0]["request"], "country": "CU",
                                                 "requested_on": "2025-12-10", "status": "refused",
                                                 "decided_on": "2026-02-01", "refusal_reason": "not recognised as a national"}]
    assert (review.facts["days_since_final_order"], review.facts["country_tier"]) == (182, "uncooperative")
    detail = fs.review_detail(fs.access_review(review.pk))
    assert detail["criminal_history"]["aggravated_felonies"] == 1 and detail["decision"] is None


def test_a_release_decision_needs_a_decided_review_on_record():
    case = final_order_case("CU")
    with pytest.raises(Conflict) as err:
        fs.check_release_decision_allowed(case)        # flagged or not, the criteria are checked live
    assert err.value.code == "foreseeability_review_required"
    assert err.value.details["reasons"] == ["uncooperative_country"]
    fs.flag_reviews(as_of=TODAY)
    review = fs.access_review(ForeseeabilityReview.objects.get().pk)
    with pytest.raises(Conflict):
        fs.check_release_decision_allowed(case)
    fs.do_decide_review(review=review, decision="removal_not_foreseeable", rationale="Cuba accepts no returns (test)",
                        actor_label=ACTOR)
    fs.check_release_decision_allowed(case)
    with clock.frozen(TODAY + dt.timedelta(days=366)):
        with pytest.raises(Conflict):                  # the decision is a year old: review again
            fs.check_release_decision_allowed(case)
        assert fs.flag_reviews(as_of=clock.today()) == 1
    fs.check_release_decision_allowed(final_order_case("MX"))   # meets no criterion


def test_deciding_a_review_needs_a_valid_decision_and_rationale_and_happens_once():
    final_order_case("CU")
    fs.flag_reviews(as_of=TODAY)
    review = fs.access_review(ForeseeabilityReview.objects.get().pk)
    with pytest.raises(UsageError):
        fs.do_decide_review(review=review, decision="release", rationale="x", actor_label=ACTOR)
    with pytest.raises(UsageError):
        fs.do_decide_review(review=review, decision="removal_foreseeable", rationale=" ", actor_label=ACTOR)
    assert ForeseeabilityReview.objects.get().status == "open" and not AuditEvent.objects.exists()
    decided = fs.do_decide_review(review=review, decision="removal_foreseeable", rationale="charter flight scheduled",
                                  actor_label=ACTOR)
    assert (decided.status, decided.decision, decided.decided_on, decided.decided_by) == (
        "decided", "removal_foreseeable", TODAY, ACTOR)
    event = AuditEvent.objects.get(action="countries.foreseeability_review_decided")
    assert event.details["reasons"] == ["uncooperative_country"] and event.details["rationale"] == "charter flight scheduled"
    with pytest.raises(Conflict):
        fs.do_decide_review(review=review, decision="removal_foreseeable", rationale="again", actor_label=ACTOR)


def test_reviews_are_listed_most_serious_first():
    plain = final_order_case("CU")
    serious = final_order_case("CU", person={"national_security_flag": True})
    fs.flag_reviews(as_of=TODAY)
    rows = fs.list_reviews()
    assert [r["case"] for r in rows] == [serious.pk, plain.pk]
    assert set(rows[0]) == {"id", "case", "a_number", "office", "country", "flagged_on", "reasons", "final_order_date",
                            "convictions", "felonies", "aggravated_felonies", "national_security_flag", "status",
                            "decision", "decided_on"}
    assert fs.list_reviews(status="decided") == []
