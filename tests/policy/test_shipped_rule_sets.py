"""Each shipped rule set on hand-built cases: every rule, its boundaries, and the sets' periods.

Every case is classified twice, by the per-case reference (``explain``) and by the vectorised
pass (``reclassify``); ``classify`` asserts they agree.
"""

import datetime as dt

import pytest

from caseload.core.errors import NotFound
from caseload.policy import services
from tests.policy.conftest import BORDER_CROSSER, classify, convict, make_case

pytestmark = pytest.mark.django_db

PEP_DAY = dt.date(2016, 6, 1)
EO_DAY = dt.date(2019, 1, 1)
G2021_DAY = dt.date(2023, 1, 1)


# --- periods ---------------------------------------------------------------------------------

@pytest.mark.parametrize("day, expected", [
    (dt.date(2015, 1, 5), "pep-2014"),
    (dt.date(2017, 2, 19), "pep-2014"),
    (dt.date(2017, 2, 20), "eo-13768"),    # the boundary day belongs to the later set only
    (dt.date(2021, 1, 19), "eo-13768"),
    (dt.date(2021, 11, 29), "dhs-2021"),
    (dt.date(2030, 1, 1), "dhs-2021"),     # open-ended
])
def test_the_set_in_force_on_each_boundary(shipped, day, expected):
    assert services.rule_set_in_force(day).id == expected


@pytest.mark.parametrize("day", [dt.date(2015, 1, 4), dt.date(2021, 1, 20), dt.date(2021, 11, 28)])
def test_a_day_no_set_covers_is_a_clear_error(shipped, day):
    with pytest.raises(NotFound) as err:
        services.rule_set_in_force(day)
    assert err.value.code == "no_rule_set_in_force"
    assert str(day) in err.value.message and "eo-13768 [2017-02-20, 2021-01-20)" in err.value.message


def test_shipped_sets_cite_their_sources_and_levels_are_ranked(shipped):
    rows = {r["id"]: r for r in services.list_rule_sets()}
    assert "20 November 2014" in rows["pep-2014"]["source"]
    assert "Executive Order 13768" in rows["eo-13768"]["source"] and "82 Fed. Reg. 8799" in rows["eo-13768"]["source"]
    assert "30 September 2021" in rows["dhs-2021"]["source"]
    assert shipped["pep-2014"].level_codes() == ["P1", "P2", "P3", "none"]
    assert [shipped["pep-2014"].rank(c) for c in ("P1", "P2", "P3", "none")] == [1, 2, 3, 4]
    assert shipped["dhs-2021"].level_codes() == ["national_security", "public_safety", "border_security", "none"]


# --- PEP (20 Nov 2014) -----------------------------------------------------------------------

def test_pep_neutral_case_is_not_a_priority(shipped):
    assert classify(shipped["pep-2014"], make_case(), PEP_DAY) == ("none", None)


@pytest.mark.parametrize("person, rule", [
    ({"national_security_flag": True}, "p1a_national_security"),
    (BORDER_CROSSER, "p1b_border_apprehension"),
    ({**BORDER_CROSSER, "apprehension_place": "port_of_entry"}, "p1b_border_apprehension"),
    ({"gang_flag": True}, "p1c_gang"),
])
def test_pep_priority_1_person_facts(shipped, person, rule):
    assert classify(shipped["pep-2014"], make_case(**person), PEP_DAY) == ("P1", rule)


@pytest.mark.parametrize("person", [
    {"apprehension_place": "border"},                                         # visa entry, apprehended years later
    {**BORDER_CROSSER, "entry_manner": "visa"},                               # not an unlawful entry
    {**BORDER_CROSSER, "apprehension_place": "interior"},                     # not at the border
    {**BORDER_CROSSER, "last_apprehension_date": dt.date(2012, 5, 16)},       # 15 days after the entry
    {**BORDER_CROSSER, "last_apprehension_date": dt.date(2012, 4, 30)},       # before the entry
    {**BORDER_CROSSER, "last_apprehension_date": None},
])
def test_pep_a_past_border_apprehension_is_not_the_unlawful_entry_event(shipped, person):
    assert classify(shipped["pep-2014"], make_case(**person), PEP_DAY) == ("none", None)


def test_unlawful_entry_apprehension_window_is_fourteen_days(shipped):
    on_day_14 = make_case(**{**BORDER_CROSSER, "last_apprehension_date": dt.date(2012, 5, 15)})
    assert classify(shipped["pep-2014"], on_day_14, PEP_DAY) == ("P1", "p1b_border_apprehension")


def test_pep_border_apprehension_after_the_as_of_day_does_not_exist(shipped):
    later = make_case(entry_manner="ewi", entry_date=dt.date(2016, 7, 1), apprehension_place="border",
                      last_apprehension_date=dt.date(2016, 7, 2))
    assert classify(shipped["pep-2014"], later, PEP_DAY) == ("none", None)
    assert classify(shipped["pep-2014"], later, dt.date(2016, 7, 2)) == ("P1", "p1b_border_apprehension")
    facts = services.explain(later.person.a_number, as_of=PEP_DAY, actor_label="test")["facts"]
    assert (facts["entry_date"], facts["entry_manner"], facts["last_apprehension_date"], facts["apprehension_place"],
            facts["unlawful_entry_apprehension"]) == (None, None, None, None, False)


def test_pending_charges_filed_after_the_as_of_day_do_not_exist(shipped):
    later = make_case(pending_criminal_charges=2, pending_charges_filed_on=dt.date(2019, 1, 2))
    undated = make_case(pending_criminal_charges=1)
    assert classify(shipped["eo-13768"], later, EO_DAY) == ("none", None)
    assert classify(shipped["eo-13768"], later, dt.date(2019, 1, 2)) == ("5b-charged", "5b_charged")
    assert classify(shipped["eo-13768"], undated, EO_DAY) == ("5b-charged", "5b_charged")
    facts = services.explain(later.person.a_number, as_of=EO_DAY, actor_label="test")["facts"]
    assert facts["pending_criminal_charges"] == 0


def test_pep_felony_and_aggravated_felony(shipped):
    doc = shipped["pep-2014"]
    felony = make_case()
    convict(felony, category="assault", severity="felony")
    aggravated = make_case()
    convict(aggravated, category="robbery", severity="felony", aggravated=True)
    status_felony = make_case()
    convict(status_felony, category="immigration_status", severity="felony")  # essential element: status
    assert classify(doc, felony, PEP_DAY) == ("P1", "p1d_felony")
    assert classify(doc, aggravated, PEP_DAY) == ("P1", "p1e_aggravated_felony")
    assert classify(doc, status_felony, PEP_DAY) == ("none", None)


def test_pep_two_misdemeanours_are_not_enough_three_separate_incidents_are(shipped):
    doc = shipped["pep-2014"]
    two = make_case()
    convict(two, category="larceny")
    convict(two, category="public_order")
    three = make_case()
    for category in ("larceny", "public_order", "assault"):
        convict(three, category=category)
    assert classify(doc, two, PEP_DAY) == ("none", None)
    assert classify(doc, three, PEP_DAY) == ("P2", "p2a_three_misdemeanors")


def test_pep_three_misdemeanours_from_two_incidents_do_not_count(shipped):
    case = make_case()
    convict(case, category="larceny", incident="A")
    convict(case, category="public_order", incident="A")
    convict(case, category="assault", incident="B")
    assert classify(shipped["pep-2014"], case, PEP_DAY) == ("none", None)


@pytest.mark.parametrize("excluded", ["traffic_minor", "immigration_status"])
def test_pep_minor_traffic_and_status_misdemeanours_do_not_count(shipped, excluded):
    case = make_case()
    convict(case, category="larceny")
    convict(case, category="public_order")
    convict(case, category=excluded)
    assert classify(shipped["pep-2014"], case, PEP_DAY) == ("none", None)


def test_pep_significant_misdemeanour(shipped):
    case = make_case()
    convict(case, category="dui")
    assert classify(shipped["pep-2014"], case, PEP_DAY) == ("P2", "p2b_significant_misdemeanor")


@pytest.mark.parametrize("sentence, custody, expected", [
    (120, 30, ("none", None)),                                  # 90 days suspended: not custody
    (90, 89, ("none", None)),
    (90, 90, ("P2", "p2b_misdemeanor_custody_90_days")),
    (365, 91, ("P2", "p2b_misdemeanor_custody_90_days")),
])
def test_pep_misdemeanour_custody_counts_served_not_suspended(shipped, sentence, custody, expected):
    case = make_case()
    convict(case, category="larceny", sentence=sentence, custody=custody)
    assert classify(shipped["pep-2014"], case, PEP_DAY) == expected


APPREHENDED_2015 = {"apprehension_place": "interior", "last_apprehension_date": dt.date(2015, 6, 1)}


@pytest.mark.parametrize("person, expected", [
    ({"entry_manner": "ewi", "entry_date": dt.date(2014, 1, 1), **APPREHENDED_2015}, ("P2", "p2c_recent_unlawful_entry")),
    ({"entry_manner": "ewi", "entry_date": dt.date(2013, 12, 31), **APPREHENDED_2015}, ("none", None)),
    ({"entry_manner": "ewi", "entry_date": None, **APPREHENDED_2015}, ("none", None)),    # unknown date never matches
    ({"entry_manner": "visa", "entry_date": dt.date(2015, 3, 1), **APPREHENDED_2015}, ("none", None)),
    # Not apprehended since that entry (the last apprehension predates it).
    ({"entry_manner": "ewi", "entry_date": dt.date(2014, 1, 1)}, ("none", None)),
    # Entered after the as-of day: the entry does not exist yet.
    ({"entry_manner": "ewi", "entry_date": dt.date(2016, 6, 2), "last_apprehension_date": dt.date(2016, 6, 3)},
     ("none", None)),
    ({"visa_fraud_finding": True}, ("P2", "p2d_visa_abuse")),
])
def test_pep_priority_2_entry_and_visa_abuse(shipped, person, expected):
    assert classify(shipped["pep-2014"], make_case(**person), PEP_DAY) == expected


@pytest.mark.parametrize("order_date, expected", [
    (dt.date(2014, 1, 1), ("P3", "p3_final_order_since_2014")),
    (dt.date(2013, 12, 31), ("none", None)),
    (dt.date(2016, 6, 2), ("none", None)),    # dated after the as-of day: not yet a final order
])
def test_pep_priority_3_final_order_date(shipped, order_date, expected):
    case = make_case(case={"final_order_date": order_date, "proceedings_started_on": dt.date(2012, 1, 1)})
    assert classify(shipped["pep-2014"], case, PEP_DAY) == expected


def test_pep_conviction_after_the_as_of_day_is_ignored(shipped):
    case = make_case()
    convict(case, category="assault", severity="felony", on=dt.date(2016, 6, 2))
    assert classify(shipped["pep-2014"], case, PEP_DAY) == ("none", None)
    assert classify(shipped["pep-2014"], case, dt.date(2016, 6, 2)) == ("P1", "p1d_felony")


def test_pep_first_rule_in_order_decides(shipped):
    case = make_case(visa_fraud_finding=True, case={"final_order_date": dt.date(2015, 1, 1),
                                                    "proceedings_started_on": dt.date(2013, 1, 1)})
    convict(case, category="assault", severity="felony")
    assert classify(shipped["pep-2014"], case, PEP_DAY) == ("P1", "p1d_felony")


# --- Executive Order 13768 -------------------------------------------------------------------

@pytest.mark.parametrize("person, expected", [
    ({}, ("none", None)),
    ({"pending_criminal_charges": 1}, ("5b-charged", "5b_charged")),
    ({"visa_fraud_finding": True}, ("5d-fraud", "5d_fraud")),
    ({"public_benefits_abuse": True}, ("5e-benefits-abuse", "5e_benefits_abuse")),
    ({"national_security_flag": True}, ("5g-national-security", "5g_national_security")),
    ({"gang_flag": True}, ("5g-officer-judgment", "5g_gang")),
])
def test_eo_person_facts(shipped, person, expected):
    assert classify(shipped["eo-13768"], make_case(**person), EO_DAY) == expected


@pytest.mark.parametrize("rule_set_id, day", [("pep-2014", PEP_DAY), ("eo-13768", EO_DAY), ("dhs-2021", G2021_DAY)])
def test_a_national_security_flag_ranks_first_in_every_rule_set(shipped, rule_set_id, day):
    doc = shipped[rule_set_id]
    flagged = make_case(national_security_flag=True, case={"final_order_date": dt.date(2015, 1, 1),
                                                           "proceedings_started_on": dt.date(2012, 1, 1)})
    convict(flagged, category="robbery", severity="felony", aggravated=True)
    level, _ = classify(doc, flagged, day)
    assert doc.rank(level) == 1
    assert doc.rules[0].when[0].fact == "national_security_flag"


def test_eo_national_security_ranks_above_a_final_order_without_conviction(shipped):
    doc = shipped["eo-13768"]
    flagged = make_case(national_security_flag=True)
    ordered = make_case(case={"final_order_date": dt.date(2018, 1, 1), "proceedings_started_on": dt.date(2017, 1, 1)})
    flagged_level, _ = classify(doc, flagged, EO_DAY)
    ordered_level, _ = classify(doc, ordered, EO_DAY)
    assert (flagged_level, ordered_level) == ("5g-national-security", "5f-final-order")
    assert doc.rank(flagged_level) < doc.rank(ordered_level)


def test_eo_any_conviction_even_minor_traffic_is_5a(shipped):
    case = make_case(pending_criminal_charges=2)
    convict(case, category="traffic_minor")
    assert classify(shipped["eo-13768"], case, EO_DAY) == ("5a-convicted", "5a_convicted")


@pytest.mark.parametrize("order_date, expected", [
    (dt.date(2019, 1, 1), ("5f-final-order", "5f_final_order")),
    (dt.date(2019, 1, 2), ("none", None)),
])
def test_eo_final_order_on_or_before_the_day(shipped, order_date, expected):
    case = make_case(case={"final_order_date": order_date, "proceedings_started_on": dt.date(2017, 1, 1)})
    assert classify(shipped["eo-13768"], case, EO_DAY) == expected


# --- 2021 Guidelines -------------------------------------------------------------------------

@pytest.mark.parametrize("person, expected", [
    ({}, ("none", None)),
    ({"national_security_flag": True, "gang_flag": True}, ("national_security", "national_security")),
    ({"gang_flag": True}, ("public_safety", "ps_gang")),
    ({**BORDER_CROSSER, "apprehension_place": "port_of_entry"}, ("border_security", "bs_border_apprehension")),
    ({"apprehension_place": "port_of_entry"}, ("none", None)),    # a past apprehension, not the entry event
    ({"entry_manner": "ewi", "entry_date": dt.date(2020, 11, 2), "last_apprehension_date": dt.date(2021, 2, 1)},
     ("border_security", "bs_entered_after_2020_11_01")),
    ({"entry_manner": "ewi", "entry_date": dt.date(2020, 11, 1), "last_apprehension_date": dt.date(2021, 2, 1)},
     ("none", None)),    # "after" 1 Nov: strictly
    ({"entry_manner": "ewi", "entry_date": dt.date(2020, 11, 2)}, ("none", None)),    # not apprehended since
    ({"entry_manner": "ewi", "entry_date": dt.date(2020, 11, 2), "last_apprehension_date": dt.date(2023, 1, 2)},
     ("none", None)),    # apprehended after the as-of day
    ({"entry_manner": "parole", "entry_date": dt.date(2021, 5, 1), "last_apprehension_date": dt.date(2021, 6, 1)},
     ("none", None)),
])
def test_2021_person_facts(shipped, person, expected):
    assert classify(shipped["dhs-2021"], make_case(**person), G2021_DAY) == expected


@pytest.mark.parametrize("conviction, rule", [
    ({"category": "robbery", "severity": "felony", "aggravated": True}, "ps_aggravated_felony"),
    ({"category": "assault", "severity": "felony"}, "ps_felony"),
    ({"category": "domestic_violence"}, "ps_significant_misdemeanor"),
])
def test_2021_public_safety_is_an_assessment_never_a_verdict(shipped, conviction, rule):
    case = make_case()
    convict(case, **conviction)
    assert classify(shipped["dhs-2021"], case, G2021_DAY) == ("public_safety", rule)
    explained = services.explain(case.person.a_number, as_of=G2021_DAY, actor_label="test")
    assert explained["reasons"][0]["kind"] == "rule" and explained["reasons"][0]["assessment_required"] is True


def test_2021_two_plain_misdemeanours_without_custody_are_not_a_priority(shipped):
    case = make_case()
    for category in ("larceny", "public_order"):
        convict(case, category=category)
    assert classify(shipped["dhs-2021"], case, G2021_DAY) == ("none", None)


def test_2021_three_misdemeanours_require_an_assessment_with_the_factors_listed(shipped):
    case = make_case(birth_date=dt.date(1950, 1, 1))
    for category in ("larceny", "public_order", "assault"):
        convict(case, category=category)
    assert classify(shipped["dhs-2021"], case, G2021_DAY) == ("public_safety", "ps_three_misdemeanors")
    reasons = services.explain(case.person.a_number, as_of=G2021_DAY, actor_label="test")["reasons"]
    assert [(r["kind"], r["code"]) for r in reasons] == [
        ("rule", "ps_three_misdemeanors"), ("aggravating", "serious_prior_record"), ("mitigating", "advanced_age"),
        ("mitigating", "lengthy_presence")]
    assert reasons[0]["assessment_required"] is True


@pytest.mark.parametrize("custody, expected", [
    (0, ("none", None)),
    (1, ("public_safety", "ps_custody_served")),
])
def test_2021_any_custody_served_requires_an_assessment(shipped, custody, expected):
    case = make_case()
    convict(case, category="larceny", sentence=30, custody=custody)
    assert classify(shipped["dhs-2021"], case, G2021_DAY) == expected


def test_2021_explain_lists_aggravating_and_mitigating_factors_with_age_boundary(shipped):
    turning_65 = make_case(birth_date=dt.date(1958, 1, 1), entry_date=dt.date(2000, 1, 1))
    convict(turning_65, category="assault", severity="felony", custody=400)
    younger = make_case(birth_date=dt.date(1958, 1, 2))
    reasons = services.explain(turning_65.person.a_number, as_of=G2021_DAY, actor_label="test")["reasons"]
    assert [(r["kind"], r["code"]) for r in reasons] == [
        ("rule", "ps_felony"), ("also_matches", "ps_custody_served"), ("aggravating", "sentence_one_year_or_more"),
        ("mitigating", "advanced_age"), ("mitigating", "lengthy_presence")]
    younger_reasons = services.explain(younger.person.a_number, as_of=G2021_DAY, actor_label="test")["reasons"]
    assert "advanced_age" not in [r["code"] for r in younger_reasons]


# --- completeness: every shipped rule has a witness --------------------------------------------

def _felony(case):
    convict(case, category="assault", severity="felony")


def _aggravated(case):
    convict(case, category="robbery", severity="felony", aggravated=True)


def _three_misdemeanours(case):
    for category in ("larceny", "public_order", "assault"):
        convict(case, category=category)


WITNESSES = {  # rule set -> reason -> (person facts, case fields, convictions to add)
    "pep-2014": {
        "p1a_national_security": ({"national_security_flag": True}, {}, None),
        "p1b_border_apprehension": (BORDER_CROSSER, {}, None),
        "p1c_gang": ({"gang_flag": True}, {}, None),
        "p1e_aggravated_felony": ({}, {}, _aggravated),
        "p1d_felony": ({}, {}, _felony),
        "p2a_three_misdemeanors": ({}, {}, _three_misdemeanours),
        "p2b_significant_misdemeanor": ({}, {}, lambda c: convict(c, category="burglary")),
        "p2b_misdemeanor_custody_90_days": ({}, {}, lambda c: convict(c, custody=90)),
        "p2c_recent_unlawful_entry": ({"entry_manner": "ewi", "entry_date": dt.date(2014, 6, 1),
                                       "last_apprehension_date": dt.date(2015, 1, 1)}, {}, None),
        "p2d_visa_abuse": ({"visa_fraud_finding": True}, {}, None),
        "p3_final_order_since_2014": ({}, {"final_order_date": dt.date(2015, 1, 1)}, None),
    },
    "eo-13768": {
        "5a_convicted": ({}, {}, lambda c: convict(c)),
        "5b_charged": ({"pending_criminal_charges": 1}, {}, None),
        "5d_fraud": ({"visa_fraud_finding": True}, {}, None),
        "5e_benefits_abuse": ({"public_benefits_abuse": True}, {}, None),
        "5f_final_order": ({}, {"final_order_date": dt.date(2018, 1, 1)}, None),
        "5g_national_security": ({"national_security_flag": True}, {}, None),
        "5g_gang": ({"gang_flag": True}, {}, None),
    },
    "dhs-2021": {
        "national_security": ({"national_security_flag": True}, {}, None),
        "ps_aggravated_felony": ({}, {}, _aggravated),
        "ps_felony": ({}, {}, _felony),
        "ps_gang": ({"gang_flag": True}, {}, None),
        "ps_significant_misdemeanor": ({}, {}, lambda c: convict(c, category="weapons")),
        "ps_three_misdemeanors": ({}, {}, _three_misdemeanours),
        "ps_custody_served": ({}, {}, lambda c: convict(c, custody=5)),
        "bs_border_apprehension": (BORDER_CROSSER, {}, None),
        "bs_entered_after_2020_11_01": ({"entry_manner": "ewi", "entry_date": dt.date(2021, 3, 1),
                                         "last_apprehension_date": dt.date(2021, 3, 20)}, {}, None),
    },
}
DAYS = {"pep-2014": PEP_DAY, "eo-13768": EO_DAY, "dhs-2021": G2021_DAY}


@pytest.mark.parametrize("rule_set_id", sorted(WITNESSES))
def test_every_shipped_rule_has_a_witness_case(shipped, rule_set_id):
    doc = shipped[rule_set_id]
    assert set(WITNESSES[rule_set_id]) == {r.reason for r in doc.rules}, "add a witness for every rule"
    for rule in doc.rules:
        person, case_fields, add = WITNESSES[rule_set_id][rule.reason]
        if case_fields:
            case_fields = {**case_fields, "proceedings_started_on": dt.date(2012, 1, 1)}
        case = make_case(case=case_fields, **person)
        if add:
            add(case)
        assert classify(doc, case, DAYS[rule_set_id]) == (rule.level, rule.reason)
