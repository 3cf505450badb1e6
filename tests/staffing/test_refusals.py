"""Refusals and limits of the staffing services: unreadable panel files, national-security cases
that only a certified officer may take. Each asserts the code or the outcome, and what did not change."""

import datetime as dt

import pytest

from caseload.core import clock
from caseload.core.errors import UsageError
from caseload.core.models import AuditEvent
from caseload.docket.models import Case
from caseload.staffing import services
from caseload.staffing.models import AssignmentRecord, CaseWeight, CaseWeightSet
from caseload.training import services as training
from tests import factories
from tests.staffing.test_services import _office, _weights

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 15)


@pytest.mark.parametrize("name", ["missing.toml", "a_directory"])
def test_an_unreadable_panel_file_is_refused_and_nothing_is_stored(tmp_path, name):
    (tmp_path / "a_directory").mkdir()
    before = (CaseWeightSet.objects.count(), CaseWeight.objects.count(), AuditEvent.objects.count())
    with pytest.raises(UsageError) as err:
        services.do_load_adjusted_weights(tmp_path / name, actor_label="test")
    assert err.value.code == "unreadable_file" and err.value.exit_code == 2
    assert (CaseWeightSet.objects.count(), CaseWeight.objects.count(), AuditEvent.objects.count()) == before


def _certify(officer):
    with clock.frozen(TODAY):
        session = training.do_schedule_session(course="national_security_cases", office=officer.office.code,
                                               starts_on=TODAY - dt.timedelta(days=20), instructor="I. Trainer",
                                               capacity=5, actor_label="test")
        training.do_record_attendance(session_id=session["id"], officer_id=officer.pk, present=True, actor_label="test")


def _security_case():
    return factories.case(factories.person("SPM", national_security_flag=True))


def test_a_national_security_case_goes_to_the_certified_officer_even_if_busier():
    training.do_import_curriculum(training.SAMPLE_CURRICULUM, actor_label="test")
    _weights(recognizance__pending=2.0)
    busy, idle = _office("SPM", loads=(20, 0))
    _certify(busy)
    case = _security_case()
    with clock.frozen(TODAY):
        doc = services.assign_unassigned("SPM")
    assert [(a["case_id"], a["to_officer"]) for a in doc["assignments"]] == [(case.pk, busy.pk)]
    assert "certified officers only" in doc["assignments"][0]["explanation"]
    assert Case.objects.get(pk=case.pk).officer_id == busy.pk
    assert not Case.objects.filter(officer=idle).exists()


def test_a_national_security_case_stays_unassigned_when_nobody_is_certified():
    training.do_import_curriculum(training.SAMPLE_CURRICULUM, actor_label="test")
    _weights(recognizance__pending=2.0)
    _office("SPM", loads=(5, 0))
    case = _security_case()
    before = (AuditEvent.objects.count(), AssignmentRecord.objects.count())
    with clock.frozen(TODAY):
        doc = services.assign_unassigned("SPM")
    assert doc["assigned"] == 0 and not doc["applied"]
    assert doc["unplaced"] == [{"case_id": case.pk, "reason": "no eligible officer holds the national-security certification"}]
    assert Case.objects.get(pk=case.pk).officer_id is None
    assert (AuditEvent.objects.count(), AssignmentRecord.objects.count()) == before


@pytest.mark.parametrize("kwargs,code", [({"hires": -1}, "invalid_hires"), ({"hires": 10_001}, "invalid_hires"),
                                         ({"hires": 5, "max_hires_per_office": -2}, "invalid_max_hires")])
def test_hires_are_bounded(kwargs, code):
    from caseload.core.errors import UsageError
    from caseload.staffing.services import staffing_plan

    with pytest.raises(UsageError) as err:
        staffing_plan(**kwargs)
    assert err.value.code == code
