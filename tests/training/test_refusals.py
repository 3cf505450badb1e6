"""Every refusal of scheduling, cancelling and attendance: the error code, and nothing changed."""

import datetime as dt

import pytest

from caseload.core import clock
from caseload.core.errors import Conflict, UsageError
from caseload.core.models import AuditEvent
from caseload.training import services
from caseload.training.models import Attendance, TrainingSession
from tests import factories

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _today():
    with clock.frozen(TODAY):
        yield


@pytest.fixture
def curriculum(db):
    return services.do_import_curriculum(services.SAMPLE_CURRICULUM, actor_label="test")


def state():
    return (list(TrainingSession.objects.order_by("id").values_list("id", "status", "capacity", "hours", "cancel_reason")),
            list(Attendance.objects.order_by("id").values_list("id", "status", "completed_on")),
            AuditEvent.objects.count())


def schedule(**overrides):
    args = {"course": "records_checks", "office": "WAS", "starts_on": dt.date(2026, 7, 1), "instructor": "I. Trainer",
            "capacity": 10, "actor_label": "test"} | overrides
    return services.do_schedule_session(**args)


@pytest.mark.parametrize("overrides, code", [
    ({"ends_on": dt.date(2026, 6, 30)}, "bad_period"),
    ({"capacity": 0}, "bad_capacity"),
    ({"capacity": -3}, "bad_capacity"),
    ({"instructor": "   "}, "instructor_required"),
    ({"hours": 0}, "bad_hours"),
    ({"hours": -1.5}, "bad_hours"),
])
def test_scheduling_refusals(curriculum, overrides, code):
    before = state()
    with pytest.raises(UsageError) as err:
        schedule(**overrides)
    assert err.value.code == code and err.value.exit_code == 2
    assert state() == before


def test_cancelling_needs_a_reason(curriculum):
    session = schedule()
    before = state()
    with pytest.raises(UsageError) as err:
        services.do_cancel_session(session_id=session["id"], reason="  ", actor_label="test")
    assert err.value.code == "reason_required"
    assert state() == before
    assert TrainingSession.objects.get().status == "scheduled"


def test_an_attended_session_cannot_be_cancelled(curriculum):
    officer = factories.officer("WAS")
    session = schedule(starts_on=dt.date(2026, 6, 1))
    services.do_record_attendance(session_id=session["id"], officer_id=officer.pk, present=True, actor_label="test")
    before = state()
    with pytest.raises(Conflict) as err:
        services.do_cancel_session(session_id=session["id"], reason="Instructor unavailable", actor_label="test")
    assert err.value.code == "session_attended"
    assert state() == before


def test_an_absent_officer_has_no_completion_date(curriculum):
    officer = factories.officer("WAS")
    session = schedule(starts_on=dt.date(2026, 6, 1))
    before = state()
    with pytest.raises(UsageError) as err:
        services.do_record_attendance(session_id=session["id"], officer_id=officer.pk, present=False,
                                      completed_on=dt.date(2026, 6, 1), actor_label="test")
    assert err.value.code == "absent_without_completion"
    assert state() == before and not Attendance.objects.exists()
