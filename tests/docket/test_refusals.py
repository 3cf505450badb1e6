"""Refusals of the release from detention, the citizenship-claim decision and the transition
table: each asserts the error code and that nothing changed."""

import pytest

from caseload.core.errors import Conflict, UsageError
from caseload.core.models import AuditEvent
from caseload.docket.lifecycle import (access_case, do_decide_citizenship_claim, do_raise_citizenship_claim,
                                       do_release_from_detention, do_transition)
from caseload.docket.models import Case, CitizenshipClaimDecision, Person
from caseload.workload.models import TimeLogEntry
from tests.docket.conftest import final_order_case, make_case
from tests.docket.test_lifecycle import case_in

pytestmark = pytest.mark.django_db


def snapshot(case_id):
    case = Case.objects.filter(pk=case_id).values_list(
        "unit", "supervision_type", "reporting_cadence_days", "next_report_due", "stage", "status", "version").get()
    person = Person.objects.filter(cases__pk=case_id).values_list("citizenship_claim", "citizenship_claim_raised_on").get()
    return (case, person, AuditEvent.objects.count(), TimeLogEntry.objects.count(), CitizenshipClaimDecision.objects.count())


@pytest.mark.parametrize("supervision_type, cadence_days, code", [
    ("house_arrest", 30, "invalid_supervision_type"),
    ("", 30, "invalid_supervision_type"),
    ("osup", 0, "invalid_cadence"),
    ("osup", -7, "invalid_cadence"),
])
def test_release_refuses_a_bad_supervision_type_or_cadence(today, officer, supervision_type, cadence_days, code):
    case = make_case(officer, unit="detained")
    before = snapshot(case.pk)
    with pytest.raises(UsageError) as err:
        do_release_from_detention(case=case, supervision_type=supervision_type, reason="custody review: release",
                                  cadence_days=cadence_days, actor_label="test")
    assert err.value.code == code and err.value.exit_code == 2
    assert snapshot(case.pk) == before and before[0][0] == "detained"


def test_deciding_without_an_open_claim_is_refused(today, officer, supervisor):
    case = final_order_case(officer)
    before = snapshot(case.pk)
    with pytest.raises(Conflict) as err:
        do_decide_citizenship_claim(case=case, decision="rejected", reason="no record in the birth registry",
                                    supervisor=supervisor)
    assert err.value.code == "no_open_claim"
    assert snapshot(case.pk) == before


def test_an_unknown_decision_is_refused(today, officer, supervisor):
    case = do_raise_citizenship_claim(case=final_order_case(officer), reason="claims birth in Laredo, TX", actor_label="test")
    case = access_case(case.pk)
    before = snapshot(case.pk)
    with pytest.raises(UsageError) as err:
        do_decide_citizenship_claim(case=case, decision="maybe", reason="unclear", supervisor=supervisor)
    assert err.value.code == "invalid_decision"
    assert snapshot(case.pk) == before and before[1][0] == "open"


# The transition table as the case-lifecycle documentation states it, written out by hand.
ALLOWED = {
    "pending": ["appeal", "closed", "final_order", "relief_granted", "terminated"],
    "appeal": ["closed", "final_order", "pending", "relief_granted", "terminated"],
    "final_order": ["closed", "pending", "removed", "terminated"],
    "closed": ["open"],
}


@pytest.mark.parametrize("start, to", [("pending", "removed"), ("appeal", "appeal"), ("final_order", "appeal"),
                                       ("closed", "final_order")])
def test_a_refused_transition_lists_the_documented_targets(today, officer, start, to):
    case = case_in(start, officer)
    before = snapshot(case.pk)
    with pytest.raises(Conflict) as err:
        do_transition(case=case, to=to, reason="because", actor_label="test")
    assert err.value.code == "transition_not_allowed"
    assert sorted(err.value.details["allowed"]) == ALLOWED[start]
    assert snapshot(case.pk) == before
