import datetime as dt

import pytest

from caseload.core.errors import Conflict
from caseload.docket.guards import check_removal_step_allowed, removal_step_blockers
from tests import factories

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 1)


def final_order_case(**fields):
    person_fields = fields.pop("person", {})
    return factories.case(factories.person(**person_fields), stage="final_order",
                          final_order_date=dt.date(2021, 1, 1), **fields)


def test_a_plain_final_order_allows_removal_steps():
    case = final_order_case()
    assert removal_step_blockers(case, as_of=TODAY) == []
    check_removal_step_allowed(case, step="travel_document_request", as_of=TODAY)


@pytest.mark.parametrize("until, blocked", [(TODAY, True), (TODAY + dt.timedelta(days=1), True),
                                            (TODAY - dt.timedelta(days=1), False)])
def test_stay_blocks_through_its_last_day(until, blocked):
    case = final_order_case(stay_of_removal_until=until)
    assert ("stay_in_effect" in removal_step_blockers(case, as_of=TODAY)) is blocked


def test_pending_appeal_and_open_citizenship_claim_block():
    case = factories.case(factories.person(citizenship_claim="open"), stage="appeal", appeal_pending=True,
                          appeal_filed_on=dt.date(2025, 1, 1))
    assert removal_step_blockers(case, as_of=TODAY) == ["appeal_pending", "citizenship_claim_open"]
    with pytest.raises(Conflict) as err:
        check_removal_step_allowed(case, step="removal_scheduling", as_of=TODAY)
    assert err.value.code == "appeal_pending"
    assert err.value.details["blockers"] == ["appeal_pending", "citizenship_claim_open"]


@pytest.mark.parametrize("claim, blocked", [("none", False), ("rejected", False), ("upheld", False), ("open", True)])
def test_only_an_unresolved_citizenship_claim_blocks(claim, blocked):
    case = final_order_case(person={"citizenship_claim": claim})
    assert bool(removal_step_blockers(case, as_of=TODAY)) is blocked
