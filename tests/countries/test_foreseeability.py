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
from caseload.offices.models import Officer
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
    cuba = final_order_case("CU")                                                   # uncooperative, no document
    cuba_with_document = final_order_case("CU")
    history(cuba_with_document, requested_on=days_ago(60), status="issued", decided_on=days_ago(30), expires_on=TODAY)
    haiti = final_order_case("HT", final_order_date=days_ago(20))                   # delayed, no document
    mexico_180 = final_order_case("MX", final_order_date=days_ago(180))
    history(mexico_180, requested_on=days_ago(170))                                 # requested, nothing issued
    mexico_179 = final_order_case("MX", final_order_date=days_ago(179))
    history(mexico_179, requested_on=days_ago(170))
    never_requested = final_order_case("MX", final_order_date=days_ago(400))        # 180 days without a document
    expired_once = final_order_case("MX", final_order_date=days_ago(400))
    history(expired_once, requested_on=days_ago(390), status="expired", decided_on=days_ago(380), expires_on=days_ago(200))
    holds_document = final_order_case("MX", final_order_date=days_ago(400))
    history(holds_document, requested_on=days_ago(60), status="issued", decided_on=days_ago(30), expires_on=days_ago(-30))
    refused_mexico = final_order_case("MX", final_order_date=days_ago(30))          # one refusal is enough
    history(refused_mexico, requested_on=days_ago(25), status="refused", decided_on=days_ago(10))
    refused_cuba = final_order_case("CU", final_order_date=days_ago(365))
    history(refused_cuba, requested_on=days_ago(300), status="refused", decided_on=days_ago(200))
    factories.case(factories.person(citizenship_id="CU"))                           # no final order
    final_order_case("CU", status="closed", closed_on=TODAY, close_reason="removed")

    assert fs.flag_reviews(as_of=TODAY) == 7
    assert flagged() == {cuba.pk: ["country_tier"], haiti.pk: ["country_tier"], mexico_180.pk: ["no_document"],
                         never_requested.pk: ["no_document"], expired_once.pk: ["no_document"],
                         refused_mexico.pk: ["document_refused"],
                         refused_cuba.pk: ["document_refused", "country_tier", "no_document"]}
    assert not {mexico_179.pk, cuba_with_document.pk, holds_document.pk} & set(flagged())
    assert fs.flag_reviews(as_of=TODAY) == 0                     # an open review covers the case
    # The next day mexico_179 reaches 180 days and cuba_with_document's document has expired.
    assert fs.flag_reviews(as_of=TODAY + dt.timedelta(days=1)) == 2
    assert set(flagged()) - {cuba.pk, haiti.pk, mexico_180.pk, never_requested.pk, expired_once.pk, refused_mexico.pk,
                             refused_cuba.pk} == {mexico_179.pk, cuba_with_document.pk}


def test_the_criteria_are_data(monkeypatch):
    """With the refusal criterion switched off and only uncooperative countries listed, a delayed
    country's refused case needs no review."""
    import dataclasses

    from caseload.countries import config as cfgmod

    haiti = final_order_case("HT", final_order_date=days_ago(30))
    history(haiti, requested_on=days_ago(25), status="refused", decided_on=days_ago(10))
    assert fs.review_reasons(haiti, as_of=TODAY) == ["document_refused", "country_tier"]
    narrow = dataclasses.replace(cfgmod.config(), review_on_refusal=False, review_tiers=("uncooperative",))
    monkeypatch.setattr(cfgmod, "config", lambda: narrow)
    assert fs.review_reasons(haiti, as_of=TODAY) == []


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
    assert review.reasons == ["document_refused", "country_tier", "no_document"]
    detail = fs.review_detail(fs.access_review(review.pk))
    assert detail["criminal_history"]["aggravated_felonies"] == 1 and detail["decision"] is None


RATIONALE = ("Cuba has accepted no returns on charter flights this year; the consulate confirmed on the date "
             "recorded that no document will be issued, headquarters review found no other route, and the person "
             "reports monthly with no new arrests.")


def checklist(**changes) -> dict:
    return {"criminal_history_reviewed": True, "consulate_contacted_on": "2026-05-20", "escalation_level": "none",
            "risk_assessment": "moderate", **changes}


@pytest.fixture
def supervisor():
    return factories.user("supervisor", "sup.was", office_code="WAS")


@pytest.fixture
def headquarters():
    return factories.user("hq_analyst", "hq.analyst")


def decide(review, actor, **fields):
    return fs.do_decide_review(review=fs.access_review(review.pk), decision=fields.pop("decision", "removal_not_foreseeable"),
                               rationale=fields.pop("rationale", RATIONALE), checklist=fields.pop("checklist", checklist()),
                               actor=actor)


def test_a_release_decision_needs_a_decided_review_on_record(supervisor):
    case = final_order_case("CU")
    with pytest.raises(Conflict) as err:
        fs.check_release_decision_allowed(case)        # flagged or not, the criteria are checked live
    assert err.value.code == "foreseeability_review_required"
    assert err.value.details["reasons"] == ["country_tier"]
    fs.flag_reviews(as_of=TODAY)
    review = ForeseeabilityReview.objects.get()
    with pytest.raises(Conflict):
        fs.check_release_decision_allowed(case)
    decide(review, supervisor)
    fs.check_release_decision_allowed(case)
    with clock.frozen(TODAY + dt.timedelta(days=366)):
        with pytest.raises(Conflict):                  # the decision is a year old: review again
            fs.check_release_decision_allowed(case)
        assert fs.flag_reviews(as_of=clock.today()) == 1
    fs.check_release_decision_allowed(final_order_case("MX"))   # meets no criterion


def test_the_haitian_case_with_one_refusal_and_a_139_day_old_order_needs_a_review():
    case = final_order_case("HT", final_order_date=days_ago(139))
    history(case, requested_on=days_ago(120), status="refused", decided_on=days_ago(60))
    with pytest.raises(Conflict) as err:
        fs.check_release_decision_allowed(case)
    assert err.value.details["reasons"] == ["document_refused", "country_tier"]


def test_deciding_a_review_needs_a_valid_decision_and_rationale_and_happens_once(supervisor):
    final_order_case("CU")
    fs.flag_reviews(as_of=TODAY)
    review = ForeseeabilityReview.objects.get()
    with pytest.raises(UsageError):
        decide(review, supervisor, decision="release")
    with pytest.raises(UsageError):
        decide(review, supervisor, rationale=" ")
    assert ForeseeabilityReview.objects.get().status == "open" and not AuditEvent.objects.filter(
        action="countries.foreseeability_review_decided").exists()
    decided = decide(review, supervisor, decision="removal_foreseeable")
    assert (decided.status, decided.decision, decided.decided_on, decided.decided_by, decided.checklist) == (
        "decided", "removal_foreseeable", TODAY, "sup.was", checklist())
    event = AuditEvent.objects.get(action="countries.foreseeability_review_decided")
    assert event.details["reasons"] == ["country_tier"] and event.details["rationale"] == RATIONALE
    assert event.details["checklist"] == checklist()
    with pytest.raises(Conflict):
        decide(review, supervisor)


@pytest.mark.parametrize("changes, problem", [
    ({"criminal_history_reviewed": False}, "criminal_history_reviewed must be true"),
    ({"criminal_history_reviewed": None}, "missing criminal_history_reviewed"),
    ({"consulate_contacted_on": None}, "missing consulate_contacted_on"),
    ({"consulate_contacted_on": "2026-06-02"}, "is in the future"),
    ({"consulate_contacted_on": "last week"}, "must be a date"),
    ({"escalation_level": "diplomatic_escalation"}, "the level reached on the case is 'none'"),
    ({"risk_assessment": "unknown"}, "risk_assessment must be one of low, moderate, high"),
])
def test_the_checklist_is_required_item_by_item(supervisor, changes, problem):
    final_order_case("CU")
    fs.flag_reviews(as_of=TODAY)
    review = ForeseeabilityReview.objects.get()
    with pytest.raises(UsageError) as err:
        decide(review, supervisor, checklist=checklist(**changes))
    assert err.value.code == "review_incomplete" and problem in err.value.message
    assert ForeseeabilityReview.objects.get().status == "open"


def test_a_one_word_rationale_is_refused_thirty_words_are_enough(supervisor):
    final_order_case("CU")
    fs.flag_reviews(as_of=TODAY)
    review = ForeseeabilityReview.objects.get()
    with pytest.raises(UsageError) as err:
        decide(review, supervisor, rationale="released")
    assert "the rationale has 1 words, 30 needed" in err.value.message
    with pytest.raises(UsageError):
        decide(review, supervisor, rationale=" ".join(["word"] * 29))
    assert decide(review, supervisor, rationale=" ".join(["word"] * 30)).status == "decided"


def test_the_escalation_level_must_be_the_one_reached_on_the_case(supervisor):
    from caseload.countries import travel_documents as td

    case = final_order_case("CU")
    for _ in range(2):
        request = history(case, requested_on=days_ago(40))
        td.do_refuse(request=request, reason="not recognised", on=days_ago(5), actor_label=ACTOR)
    fs.flag_reviews(as_of=TODAY)
    review = ForeseeabilityReview.objects.get()
    assert fs.escalation_level_reached(case.pk) == "headquarters_review"
    with pytest.raises(UsageError):
        decide(review, supervisor, checklist=checklist(escalation_level="consulate_contact"))
    decided = decide(review, supervisor, checklist=checklist(escalation_level="headquarters_review"))
    assert decided.checklist["escalation_level"] == "headquarters_review"


def test_the_decider_is_a_supervisor_or_headquarters_user_and_not_the_cases_officer(supervisor, headquarters):
    from django.contrib.auth.models import User

    from caseload.core.errors import Forbidden

    officer_user = factories.user("officer", "do.was", office_code="WAS")
    own_officer = Officer.objects.get(user=officer_user)
    case = final_order_case("CU", officer=own_officer)
    other_office = final_order_case("CU", office="ATL")
    fs.flag_reviews(as_of=TODAY)
    review = ForeseeabilityReview.objects.get(case=case)
    with pytest.raises(UsageError) as err:
        decide(review, None)
    assert err.value.code == "decider_required"
    with pytest.raises(Forbidden) as err:
        decide(review, officer_user)
    assert err.value.code == "decider_not_allowed"
    analyst_officer = factories.user("hq_analyst", "hq.own")
    own_officer.user = analyst_officer   # a headquarters user who is the case's own officer
    own_officer.save(update_fields=["user"])
    with pytest.raises(Forbidden) as err:
        decide(review, User.objects.get(pk=analyst_officer.pk))
    assert err.value.code == "decider_is_case_officer"
    with pytest.raises(Forbidden):         # a supervisor of another office
        decide(ForeseeabilityReview.objects.get(case=other_office), supervisor)
    assert ForeseeabilityReview.objects.filter(status="open").count() == 2
    assert decide(review, headquarters).decided_by == "hq.analyst"
    assert decide(ForeseeabilityReview.objects.get(case=other_office),
                  factories.user("supervisor", "sup.atl", office_code="ATL")).decided_by == "sup.atl"


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
