"""Fixtures for the policy tests: the shipped rule sets installed, hand-built cases, both evaluators."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from caseload.docket.models import Case, Conviction
from caseload.policy import services
from tests import factories

_incidents = itertools.count(1)

# A person matching no rule of any shipped set: admitted on a visa long ago, apprehended in the
# interior, no flags, no convictions, proceedings pending.
NEUTRAL_PERSON = {
    "entry_manner": "visa",
    "entry_date": dt.date(2005, 6, 1),
    "apprehension_place": "interior",
    "last_apprehension_date": dt.date(2010, 6, 1),
    "birth_date": dt.date(1980, 1, 1),
}
# A person apprehended at the border while attempting to enter unlawfully: an entry without
# inspection and, two days later, an apprehension at the border (the unlawful-entry event).
BORDER_CROSSER = {
    "entry_manner": "ewi",
    "entry_date": dt.date(2012, 5, 1),
    "apprehension_place": "border",
    "last_apprehension_date": dt.date(2012, 5, 3),
}


@pytest.fixture
def shipped(db):
    """The shipped rule sets and cadence tables, installed as `caseload policy load --shipped` does."""
    services.do_load_shipped(actor_label="test")
    return {rid: services.access_rule_set(rid) for rid in ("pep-2014", "eo-13768", "dhs-2021")}


def make_case(*, office: str = "WAS", case: dict | None = None, **person) -> Case:
    """An open case whose person has NEUTRAL_PERSON's facts overridden by ``person``."""
    p = factories.person(office, **{**NEUTRAL_PERSON, **person})
    fields = dict(case or {})
    if fields.get("final_order_date") and "stage" not in fields:
        fields["stage"] = "final_order"
    return factories.case(p, **fields)


def convict(case: Case, *, category: str = "larceny", severity: str = "misdemeanor", on: dt.date = dt.date(2012, 3, 1),
            custody: int = 0, sentence: int | None = None, aggravated: bool = False, incident: str | None = None) -> Conviction:
    """One conviction of the case's person; each call is a separate incident unless ``incident`` is given."""
    return Conviction.objects.create(
        person=case.person, office=case.office, convicted_on=on, offense_category=category, severity=severity,
        aggravated_felony=aggravated, sentence_days=custody if sentence is None else sentence, custody_days=custody,
        incident_id=incident or f"inc-{next(_incidents)}")


def classify(doc, case: Case, as_of: dt.date) -> tuple[str, str | None]:
    """(level, deciding rule) from the per-case reference; asserts the vectorised pass agrees."""
    level, rule, _, _ = services.decide(doc, Case.objects.get(pk=case.pk), as_of=as_of)
    found = services.classify_open_cases(doc, as_of=as_of, case_ids=[case.pk])
    assert list(found.case_id) == [case.pk]
    assert found.codes()[0] == level, f"vectorised {found.codes()[0]} != reference {level}"
    expected_rule = (services.EXCEPTION_MARK if rule == services.EXCEPTION_RULE
                     else -1 if rule is None else [r.reason for r in doc.rules].index(rule))
    assert found.rule[0] == expected_rule
    return level, rule
