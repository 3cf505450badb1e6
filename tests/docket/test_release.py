"""Release from detention: never decided without a foreseeability review when one is due."""

import datetime as dt

import pytest

from caseload.core import clock
from caseload.core.errors import Conflict
from caseload.countries import foreseeability
from caseload.countries.models import ForeseeabilityReview
from caseload.docket.lifecycle import do_release_from_detention
from caseload.docket.models import Case
from tests import factories
from tests.countries.builders import TODAY, final_order_case

pytestmark = pytest.mark.django_db


def release(case):
    return do_release_from_detention(case=case, supervision_type="osup", reason="custody review: release on supervision",
                                     cadence_days=30, actor_label="test")


def test_release_from_an_uncooperative_country_needs_a_decided_review():
    case = final_order_case("CU", unit="detained", final_order_date=dt.date(2025, 6, 1))
    with clock.frozen(TODAY):
        with pytest.raises(Conflict) as err:
            release(case)
        assert err.value.code == "foreseeability_review_required"
        assert Case.objects.get(pk=case.pk).unit == "detained"           # nothing changed

        foreseeability.flag_reviews(as_of=TODAY)
        review = ForeseeabilityReview.objects.get(case=case)
        foreseeability.do_decide_review(
            review=review, decision="removal_not_foreseeable", actor=factories.user("supervisor", "sup.was"),
            rationale=" ".join(["Cuba has issued no document in a year and the consulate confirmed it will not."] * 3),
            checklist={"criminal_history_reviewed": True, "consulate_contacted_on": "2026-05-20",
                       "escalation_level": "none", "risk_assessment": "low"})
        released = release(Case.objects.get(pk=case.pk))
    assert released.unit == "non_detained" and released.supervision_type == "osup"
    assert released.next_report_due == TODAY + dt.timedelta(days=30) and released.version == case.version + 1


def test_release_without_review_criteria_goes_through_and_only_detained_cases_are_released():
    case = final_order_case("MX", unit="detained", final_order_date=dt.date(2026, 5, 1))
    with clock.frozen(TODAY):
        assert release(case).unit == "non_detained"
        with pytest.raises(Conflict) as err:
            release(Case.objects.get(pk=case.pk))
    assert err.value.code == "not_detained"
