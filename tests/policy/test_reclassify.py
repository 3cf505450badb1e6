"""Reclassification (vectorised, stored) against explain (per case), compare, and the CLI documents."""

import datetime as dt
import json

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core.errors import Conflict, NotFound, UsageError
from caseload.core.models import AuditEvent
from caseload.docket import taxonomy
from caseload.docket.models import Case
from caseload.policy import services
from caseload.policy.facts import EPOCH, FACTS, NULL_DAY, NULL_INT, case_facts, fact_columns
from caseload.policy.models import PriorityException
from tests import factories
from tests.policy.conftest import BORDER_CROSSER, convict, make_case

pytestmark = pytest.mark.django_db
DAY = dt.date(2023, 1, 1)


def stored(case: Case) -> tuple:
    return Case.objects.filter(pk=case.pk).values_list("priority", "priority_rank", "priority_rule_set", "version").get()


def test_reclassify_stores_level_rank_and_rule_set_and_writes_only_changes(shipped):
    felon, border, neutral = make_case(), make_case(**BORDER_CROSSER), make_case()
    convict(felon, category="assault", severity="felony")
    closed = make_case(national_security_flag=True, case={"status": "closed", "closed_on": dt.date(2022, 1, 1),
                                                          "close_reason": "removed"})
    result = services.do_reclassify(as_of=DAY, actor_label="test")
    assert result.as_dict() == {"rule_set": "dhs-2021", "as_of": "2023-01-01", "cases": 3, "changed": 3,
                                "counts": {"national_security": 0, "public_safety": 1, "border_security": 1, "none": 1},
                                "seconds": result.seconds}
    assert stored(felon) == ("public_safety", 2, "dhs-2021", 2)
    assert stored(border) == ("border_security", 3, "dhs-2021", 2)
    assert stored(neutral) == ("none", 4, "dhs-2021", 2)
    assert stored(closed) == ("", None, "", 1)  # closed cases are left alone

    convict(neutral, category="dui", on=dt.date(2022, 5, 1))
    again = services.do_reclassify(as_of=DAY, actor_label="test")
    assert again.changed == 1
    assert stored(neutral) == ("public_safety", 2, "dhs-2021", 3)
    assert stored(felon) == ("public_safety", 2, "dhs-2021", 2)  # unchanged rows are not rewritten
    assert services.do_reclassify(as_of=DAY, actor_label="test").changed == 0
    event = AuditEvent.objects.filter(action="policy.reclassified").order_by("-id").first()
    assert event.details["changed"] == 0 and event.details["rule_set"] == "dhs-2021"


def test_switching_rule_set_rewrites_every_case(shipped):
    cases = [make_case(), make_case(gang_flag=True)]
    services.do_reclassify(as_of=DAY, actor_label="test")
    result = services.do_reclassify(as_of=dt.date(2016, 1, 1), actor_label="test")
    assert (result.rule_set, result.changed) == ("pep-2014", 2)
    assert [stored(c)[:3] for c in cases] == [("none", 4, "pep-2014"), ("P1", 1, "pep-2014")]


def test_reclassify_without_a_set_in_force_changes_nothing(shipped):
    case = make_case()
    with pytest.raises(NotFound) as err:
        services.do_reclassify(as_of=dt.date(2021, 6, 1), actor_label="test")
    assert err.value.code == "no_rule_set_in_force"
    assert stored(case) == ("", None, "", 1)


# --- property: the vectorised pass equals the per-case reference ------------------------------

CATEGORIES = sorted(taxonomy.categories())
near = lambda day, spread=3: st.integers(-spread, spread).map(lambda d: day + dt.timedelta(days=d))  # noqa: E731
dates = st.one_of(near(dt.date(2014, 1, 1)), near(dt.date(2020, 11, 1)),
                  st.dates(dt.date(1995, 1, 1), dt.date(2022, 12, 31)))
rarely = st.integers(0, 9).map(lambda x: x == 0)  # True one time in ten: most cases reach the later rules
conviction = st.fixed_dictionaries({
    "category": st.sampled_from(CATEGORIES),
    "felony": st.integers(0, 3).map(lambda x: x == 0),
    "aggravated": st.booleans(),
    "custody": st.sampled_from([0, 30, 89, 90, 91, 364, 365, 400]),
    "suspended": st.sampled_from([0, 60]),
    "incident": st.integers(0, 2),
    "on": st.dates(dt.date(2000, 1, 1), dt.date(2023, 6, 1)),
})
person_spec = st.fixed_dictionaries({
    "national_security_flag": rarely, "gang_flag": rarely, "visa_fraud_finding": rarely,
    "public_benefits_abuse": rarely, "pending_criminal_charges": st.sampled_from([0, 0, 0, 1, 2]),
    "entry_manner": st.sampled_from(["ewi", "visa", "parole", "unknown"]),
    "entry_date": st.one_of(st.none(), dates),
    "apprehension_place": st.sampled_from(["", "interior", "interior", "interior", "border", "port_of_entry"]),
    # The last apprehension: some days after the entry (around the 14-day entry-event window), or any date.
    "apprehended_days_after_entry": st.one_of(st.none(), st.integers(-2, 20)),
    "last_apprehension_date": st.one_of(st.none(), dates),
    "pending_charges_filed_on": st.one_of(st.none(), dates),
    "birth_date": st.one_of(st.none(), near(dt.date(1957, 1, 1)), st.dates(dt.date(1950, 1, 1), dt.date(1990, 1, 1))),
    "final_order_date": st.one_of(st.none(), dates),
    "appeal": rarely,
    "convictions": st.lists(conviction, max_size=5),
    "exception": st.one_of(st.none(), st.none(), st.none(), st.none(), st.integers(0, 7)),
})


def _build(spec: dict, i: int) -> Case:
    entry = spec["entry_date"]
    birth = spec["birth_date"] if entry is None or spec["birth_date"] is None or spec["birth_date"] <= entry else None
    person = factories.person("WAS" if i % 2 else "ATL", **{k: spec[k] for k in (
        "national_security_flag", "gang_flag", "visa_fraud_finding", "public_benefits_abuse", "pending_criminal_charges",
        "entry_manner", "apprehension_place", "pending_charges_filed_on")}, entry_date=entry, birth_date=birth,
        last_apprehension_date=(entry + dt.timedelta(days=spec["apprehended_days_after_entry"])
                                if entry is not None and spec["apprehended_days_after_entry"] is not None
                                else spec["last_apprehension_date"]))
    order = spec["final_order_date"]
    fields = {"proceedings_started_on": dt.date(1990, 1, 1)}
    if order is not None:
        fields.update(stage="final_order", final_order_date=order)
    elif spec["appeal"]:
        fields.update(stage="appeal", appeal_pending=True, appeal_filed_on=dt.date(2020, 1, 1))
    case = factories.case(person, **fields)
    for c in spec["convictions"]:
        felony = c["felony"]
        convict(case, category=c["category"], severity="felony" if felony else "misdemeanor", on=c["on"],
                custody=c["custody"], sentence=c["custody"] + c["suspended"], aggravated=felony and c["aggravated"],
                incident=f"{case.pk}-{c['incident']}")
    return case


def _plain(fact, value):
    """A vectorised fact value as the per-case reference writes it."""
    if fact.kind == "bool":
        return bool(value)
    if fact.kind == "date":
        return None if value == NULL_DAY else EPOCH + dt.timedelta(days=int(value))
    if fact.kind == "enum":
        return None if value < 0 else fact.choices[value]
    return None if value == NULL_INT else int(value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(specs=st.lists(person_spec, min_size=1, max_size=8),
       choice=st.sampled_from([("pep-2014", dt.date(2016, 6, 1)), ("eo-13768", dt.date(2019, 3, 1)),
                               ("dhs-2021", dt.date(2023, 1, 1)), ("pep-2014", dt.date(2014, 1, 1))]))
def test_reclassification_equals_explain_on_random_cases(shipped, specs, choice):
    """Every fact read in bulk equals the per-case reference, and every stored level equals explain's."""
    rule_set_id, day = choice
    doc = shipped[rule_set_id]
    with transaction.atomic():
        cases = [_build(spec, i) for i, spec in enumerate(specs)]
        for case, spec in zip(cases, specs, strict=True):
            if spec["exception"] is not None:
                level = doc.level_codes()[spec["exception"] % len(doc.levels)]
                PriorityException.objects.create(case=case, office_id=case.office_id, rule_set_id=rule_set_id, level=level,
                                                 reason="test", approved_by="Director", decided_on=day,
                                                 recorded_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), recorded_by="test")
        columns = fact_columns(FACTS, as_of=day)
        for row, case in enumerate(cases):
            reference = case_facts(Case.objects.select_related("person").get(pk=case.pk), as_of=day)
            vectorised = {name: _plain(FACTS[name], columns.values[name][row]) for name in FACTS}
            assert vectorised == reference
        services.do_reclassify(as_of=day, rule_set_id=rule_set_id, actor_label="test")
        for case in cases:
            explained = services.explain(case.person.a_number, as_of=day, rule_set_id=rule_set_id, actor_label="test")
            level = explained["priority"]
            assert stored(case)[:3] == (level, doc.rank(level), rule_set_id)
        transaction.set_rollback(True)


def test_reclassification_of_a_generated_docket_equals_explain(shipped):
    from caseload.ingest.generate import generate_docket

    generate_docket(scale=0.0003, seed=5, as_of=DAY, weights_path=None)
    result = services.do_reclassify(as_of=DAY, actor_label="test")
    assert result.cases == Case.objects.filter(status="open").count() and result.changed == result.cases
    assert sum(result.counts.values()) == result.cases
    doc = shipped["dhs-2021"]
    for case in Case.objects.filter(status="open").select_related("person").order_by("id")[:150]:
        level, *_ = services.decide(doc, case, as_of=DAY)
        assert (case.priority, case.priority_rank, case.priority_rule_set) == (level, doc.rank(level), "dhs-2021")


# --- explain --------------------------------------------------------------------------------

def test_explain_document_and_audit(shipped):
    case = make_case(gang_flag=True)
    doc = services.explain(f"A{case.person.a_number[:3]}-{case.person.a_number[3:6]}-{case.person.a_number[6:]}",
                           as_of=DAY, actor_label="test")
    assert set(doc) == {"a_number", "rule_set", "as_of", "priority", "rule", "reasons", "facts"}
    assert (doc["rule_set"], doc["as_of"], doc["priority"], doc["rule"]) == ("dhs-2021", "2023-01-01", "public_safety", "ps_gang")
    assert doc["facts"]["gang_flag"] is True and doc["facts"]["entry_date"] == "2005-06-01"
    assert set(doc["facts"]) == set(services.case_facts(case, as_of=DAY))
    assert doc["reasons"][0]["conditions"] == [{"fact": "gang_flag", "op": "==", "value": True, "actual": True}]
    event = AuditEvent.objects.get(action="person.priority_explained")
    assert (event.object_id, event.office_id, event.details["case_id"]) == (case.person.a_number, case.office_id, case.pk)


def test_explain_with_an_explicit_rule_set_on_any_day(shipped):
    case = make_case(gang_flag=True)
    doc = services.explain(case.person.a_number, as_of=dt.date(2021, 6, 1), rule_set_id="pep-2014", actor_label="test")
    assert (doc["rule_set"], doc["priority"], doc["rule"]) == ("pep-2014", "P1", "p1c_gang")


def test_explain_errors(shipped):
    with pytest.raises(UsageError) as err:
        services.explain("A12-34", actor_label="test")
    assert err.value.code == "invalid_a_number"
    with pytest.raises(NotFound) as err:
        services.explain("A999-999-999", as_of=DAY, actor_label="test")
    assert err.value.code == "unknown_a_number"
    case = make_case()
    factories.case(case.person)
    with pytest.raises(Conflict) as err:
        services.explain(case.person.a_number, as_of=DAY, actor_label="test")
    assert err.value.code == "several_open_cases" and len(err.value.details["case_ids"]) == 2
    assert services.explain(case.person.a_number, as_of=DAY, case_id=case.pk, actor_label="test")["priority"] == "none"
    Case.objects.filter(person=case.person).update(status="closed", closed_on=DAY, close_reason="test")
    with pytest.raises(NotFound) as err:
        services.explain(case.person.a_number, as_of=DAY, actor_label="test")
    assert err.value.code == "no_open_case"


# --- compare --------------------------------------------------------------------------------

def test_compare_counts_changes_by_office(shipped):
    was_felon = make_case(office="WAS")
    convict(was_felon, category="assault", severity="felony")   # P1 -> public_safety
    make_case(office="WAS", visa_fraud_finding=True)             # P2 -> none
    make_case(office="ATL")                                      # none -> none
    make_case(office="ATL", entry_manner="ewi", entry_date=dt.date(2021, 1, 5),
              last_apprehension_date=dt.date(2021, 2, 1))                 # P2 -> border_security
    doc = services.compare(["pep-2014", "dhs-2021"], as_of=DAY)
    assert (doc["cases"], doc["changed"], doc["became_priority"], doc["ceased_priority"]) == (4, 3, 0, 1)
    assert doc["by_office"] == [
        {"office": "ATL", "cases": 2, "changed": 1, "became_priority": 0, "ceased_priority": 0},
        {"office": "WAS", "cases": 2, "changed": 2, "became_priority": 0, "ceased_priority": 1},
    ]
    assert doc["transitions"] == [{"from": "P1", "to": "public_safety", "cases": 1}, {"from": "P2", "to": "border_security", "cases": 1},
                                  {"from": "P2", "to": "none", "cases": 1}, {"from": "none", "to": "none", "cases": 1}]
    assert Case.objects.exclude(priority="").count() == 0  # nothing stored


def test_compare_needs_two_different_sets(shipped):
    for ids in (["pep-2014"], ["pep-2014", "pep-2014"], ["pep-2014", "eo-13768", "dhs-2021"]):
        with pytest.raises(UsageError):
            services.compare(ids, as_of=DAY)


# --- the command line -----------------------------------------------------------------------

def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_cli_documents_have_the_documented_keys(shipped):
    case = make_case(national_security_flag=True)
    reclassified = json.loads(run("policy", "reclassify", "--as-of", "2023-01-01", "--format", "json").stdout)
    assert set(reclassified) == {"rule_set", "as_of", "cases", "counts", "changed", "seconds"}
    assert reclassified["counts"]["national_security"] == 1
    explained = json.loads(run("policy", "explain", case.person.a_number, "--as-of", "2023-01-01", "--format", "json").stdout)
    assert set(explained) == {"a_number", "rule_set", "as_of", "priority", "rule", "reasons", "facts"}
    compared = json.loads(run("policy", "compare", "--rule-set", "pep-2014", "--rule-set", "eo-13768", "--format", "json").stdout)
    assert compared["rule_sets"] == ["pep-2014", "eo-13768"] and compared["changed"] == 1


def test_cli_explain_on_a_day_without_a_set_is_a_clear_error(shipped):
    case = make_case()
    result = run("policy", "explain", case.person.a_number, "--as-of", "2021-06-01")
    assert result.exit_code == 2 and "no rule set is in force on 2021-06-01" in result.stderr
    bad = run("policy", "reclassify", "--as-of", "2021-13-01")
    assert bad.exit_code == 2 and "--as-of must be a date" in bad.stderr
