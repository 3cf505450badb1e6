"""Training records: status boundaries, compliance, the certification predicate and training hours."""

import datetime as dt
import json

import pytest
from django.contrib.auth.models import Group, User
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core import clock
from caseload.core.errors import Conflict, NotFound, UsageError
from caseload.core.models import AuditEvent
from caseload.training import services
from caseload.training.models import Attendance, Course, TrainingSession
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


def completed(officer, course: str, on: dt.date, *, office: str = "WAS") -> None:
    """A one-day session of ``course`` on ``on`` that ``officer`` attended."""
    with clock.frozen(max(on, TODAY)):
        session = services.do_schedule_session(course=course, office=office, starts_on=on, instructor="I. Trainer",
                                               capacity=30, actor_label="test")
        services.do_record_attendance(session_id=session["id"], officer_id=officer.pk, present=True, actor_label="test")


# --- status arithmetic ----------------------------------------------------------------------

@pytest.mark.parametrize("day, months, expected", [
    (dt.date(2025, 1, 31), 1, dt.date(2025, 2, 28)),
    (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
    (dt.date(2024, 2, 29), 12, dt.date(2025, 2, 28)),
    (dt.date(2025, 11, 15), 3, dt.date(2026, 2, 15)),
    (dt.date(2025, 6, 15), 24, dt.date(2027, 6, 15)),
])
def test_add_months_clamps_to_the_month_end(day, months, expected):
    assert services.add_months(day, months) == expected


@pytest.mark.parametrize("as_of, expected", [
    (dt.date(2025, 12, 15), "current"),    # expires 2026-01-15: 31 days away
    (dt.date(2025, 12, 16), "expiring"),   # 30 days away
    (dt.date(2026, 1, 14), "expiring"),    # 1 day away
    (dt.date(2026, 1, 15), "overdue"),     # the expiry day itself
    (dt.date(2024, 1, 1), "never"),        # before the completion
])
def test_status_boundaries(as_of, expected):
    completion = dt.date(2025, 1, 15) if as_of >= dt.date(2025, 1, 15) else None
    assert services.status_on(completion, 12, as_of) == expected


def test_a_course_taken_once_stays_current():
    assert services.status_on(dt.date(2001, 1, 1), None, dt.date(2030, 1, 1)) == "current"


# --- curriculum ------------------------------------------------------------------------------

def test_sample_curriculum_imports_once_with_the_national_security_certification(curriculum):
    assert curriculum == {"created": 7, "updated": 0, "unchanged": 0}
    assert services.do_import_curriculum(services.SAMPLE_CURRICULUM, actor_label="test") == {
        "created": 0, "updated": 0, "unchanged": 7}
    cert = Course.objects.get(code="national_security_cases")
    assert (cert.certification, cert.gates, cert.recurrence_months, cert.units) == (True, "national_security", 12, [])
    assert all(c["source"] for c in services.list_courses())


def test_invalid_curriculum_is_refused_with_every_problem(db, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[course]]\ncode = "x"\ntitle = "X"\nhours = 0\nunits = ["everyone"]\ngates = "ns"\n')
    with pytest.raises(services.InvalidCurriculum) as err:
        services.do_import_curriculum(path, actor_label="test")
    assert sorted((p.line, p.field) for p in err.value.problems) == [   # a missing key points at its table
        (1, "course[0].curriculum"), (1, "course[0].source"), (4, "course[0].hours"), (5, "course[0].units"),
        (6, "course[0].gates")]
    assert not Course.objects.exists()


# --- sessions and attendance -----------------------------------------------------------------

def test_capacity_cancellation_and_attendance_rules(curriculum):
    a, b, c = (factories.officer("WAS") for _ in range(3))
    session = services.do_schedule_session(course="records_checks", office="WAS", starts_on=dt.date(2026, 7, 1),
                                           instructor="I. Trainer", capacity=2, actor_label="test")
    assert services.do_enroll(session_id=session["id"], officer_ids=[a.pk, b.pk], actor_label="test")["enrolled"] == [a.pk, b.pk]
    assert services.do_enroll(session_id=session["id"], officer_ids=[a.pk], actor_label="test")["enrolled"] == []
    with pytest.raises(Conflict) as err:
        services.do_enroll(session_id=session["id"], officer_ids=[c.pk], actor_label="test")
    assert err.value.code == "session_full"
    with pytest.raises(Conflict) as err:
        services.do_record_attendance(session_id=session["id"], officer_id=a.pk, present=True, actor_label="test")
    assert err.value.code == "session_not_ended"
    cancelled = services.do_cancel_session(session_id=session["id"], reason="Instructor unavailable", actor_label="test")
    assert cancelled["status"] == "cancelled"
    with pytest.raises(Conflict) as err:
        services.do_enroll(session_id=session["id"], officer_ids=[c.pk], actor_label="test")
    assert err.value.code == "session_cancelled"
    assert AuditEvent.objects.filter(action="training.session_cancelled").count() == 1


def test_completion_date_must_lie_within_the_session(curriculum):
    officer = factories.officer("WAS")
    session = services.do_schedule_session(course="records_checks", office="WAS", starts_on=dt.date(2026, 5, 4),
                                           ends_on=dt.date(2026, 5, 6), instructor="I. Trainer", capacity=5, actor_label="test")
    with pytest.raises(UsageError):
        services.do_record_attendance(session_id=session["id"], officer_id=officer.pk, present=True,
                                      completed_on=dt.date(2026, 5, 7), actor_label="test")
    done = services.do_record_attendance(session_id=session["id"], officer_id=officer.pk, present=True, actor_label="test")
    assert done["completed_on"] == "2026-05-06"
    absent = services.do_record_attendance(session_id=session["id"], officer_id=officer.pk, present=False, actor_label="test")
    assert (absent["status"], absent["completed_on"]) == ("absent", None)
    assert Attendance.objects.get().completed_on is None


# --- status and compliance ---------------------------------------------------------------------

def test_officer_status_and_office_compliance(curriculum):
    current = factories.officer("WAS", last_name="Current")
    expiring = factories.officer("WAS", last_name="Expiring")
    overdue = factories.officer("WAS", last_name="Overdue")
    never = factories.officer("WAS", last_name="Never")
    factories.officer("WAS", unit="fugitive_operations", last_name="Other unit")
    factories.officer("WAS", status="separated", last_name="Gone")
    for officer in (current, expiring, overdue):
        for course in ("nd_docket_management", "records_checks", "travel_documents", "due_process_guards",
                       "priority_frameworks"):
            completed(officer, course, dt.date(2026, 5, 1))
    completed(expiring, "records_checks", dt.date(2026, 5, 1))
    Attendance.objects.filter(officer=expiring, session__course__code="records_checks").update(completed_on=dt.date(2025, 7, 10))
    Attendance.objects.filter(officer=overdue, session__course__code="records_checks").update(completed_on=dt.date(2025, 6, 15))
    report = services.compliance(office="WAS", as_of=TODAY)
    assert report == {"offices": [{"office": "WAS", "officers": 5, "current": 1, "expiring": 1, "overdue": 1, "never": 2}]}
    # The fugitive-operations officer must take two courses (due_process_guards, priority_frameworks): never.
    one_course = services.compliance(office="WAS", course="nd_docket_management", as_of=TODAY)
    assert one_course["offices"][0] == {"office": "WAS", "officers": 4, "current": 3, "expiring": 0, "overdue": 0, "never": 1}
    status = {c["course"]: c for c in services.officer_status(expiring.pk, as_of=TODAY)["courses"]}
    assert (status["records_checks"]["status"], status["records_checks"]["expires_on"]) == ("expiring", "2026-07-10")
    assert status["national_security_cases"] == {
        "course": "national_security_cases", "title": "National-security case handling", "required": False,
        "certification": True, "last_completed_on": None, "expires_on": None, "status": "never"}
    national = services.compliance(as_of=TODAY)["offices"]
    assert len(national) == 24 and sum(o["officers"] for o in national) == 5


def test_roles_make_a_course_required(curriculum):
    officer = factories.officer("ATL", unit="detained")
    user = User.objects.create_user("supervisor1")
    user.groups.add(Group.objects.get(name="supervisor"))
    officer.user = user
    officer.save()
    required = {c["course"] for c in services.officer_status(officer.pk, as_of=TODAY)["courses"] if c["required"]}
    assert required == {"supervisor_caseload_oversight", "travel_documents", "due_process_guards", "priority_frameworks"}


# --- the predicates other apps call ----------------------------------------------------------

def test_certification_predicate_and_its_vector_form(curriculum):
    holder, lapsed, other_office, untrained = (factories.officer(o) for o in ("WAS", "WAS", "ATL", "WAS"))
    completed(holder, "national_security_cases", dt.date(2025, 7, 1))
    completed(lapsed, "national_security_cases", dt.date(2025, 6, 15))
    completed(other_office, "national_security_cases", dt.date(2026, 1, 5), office="ATL")
    check = services.holds_current_certification
    assert check(holder.pk, "national_security_cases", as_of=TODAY) is True          # expiring still holds
    assert check(holder.pk, "national_security_cases", as_of=dt.date(2026, 7, 1)) is False
    assert check(holder.pk, "national_security_cases", as_of=dt.date(2025, 6, 30)) is False  # not yet taken
    assert check(lapsed.pk, "national_security_cases", as_of=TODAY) is False          # expired on 2026-06-15
    assert check(untrained.pk, "national_security_cases", as_of=TODAY) is False
    assert services.officers_with_current_certification("national_security_cases", as_of=TODAY) == {holder.pk, other_office.pk}
    was = services.officers_with_current_certification("national_security_cases", as_of=TODAY, office_id=holder.office_id)
    assert was == {holder.pk}
    with pytest.raises(NotFound) as err:
        check(holder.pk, "records_checks", as_of=TODAY)        # a course, not a certification
    assert err.value.code == "unknown_certification"


def test_training_hours_are_capacity_reductions(curriculum):
    a, b, c = (factories.officer("WAS") for _ in range(3))
    three_days = services.do_schedule_session(course="nd_docket_management", office="WAS", starts_on=dt.date(2026, 6, 29),
                                              ends_on=dt.date(2026, 7, 1), instructor="I. Trainer", capacity=10,
                                              actor_label="test")  # 16 hours over three days
    services.do_enroll(session_id=three_days["id"], officer_ids=[a.pk, b.pk], actor_label="test")
    cancelled = services.do_schedule_session(course="records_checks", office="WAS", starts_on=dt.date(2026, 6, 20),
                                             instructor="I. Trainer", capacity=10, actor_label="test")
    services.do_enroll(session_id=cancelled["id"], officer_ids=[a.pk], actor_label="test")
    services.do_cancel_session(session_id=cancelled["id"], reason="x", actor_label="test")
    completed(c, "records_checks", dt.date(2026, 6, 2))
    absent_session = services.do_schedule_session(course="travel_documents", office="WAS", starts_on=dt.date(2026, 6, 3),
                                                  instructor="I. Trainer", capacity=10, actor_label="test")
    services.do_record_attendance(session_id=absent_session["id"], officer_id=b.pk, present=False, actor_label="test")
    june = services.training_hours([a.pk, b.pk, c.pk], start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30))
    assert june == {a.pk: round(16 * 2 / 3, 4), b.pk: round(16 * 2 / 3, 4), c.pk: 4.0}
    july = services.training_hours([a.pk, c.pk], start=dt.date(2026, 7, 1), end=dt.date(2026, 7, 31))
    assert july == {a.pk: round(16 / 3, 4), c.pk: 0.0}
    with pytest.raises(UsageError):
        services.training_hours([a.pk], start=dt.date(2026, 7, 1), end=dt.date(2026, 6, 1))


# --- the command line ------------------------------------------------------------------------

def test_cli_compliance_document_and_session_flow(curriculum):
    officer = factories.officer("WAS")
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, ["training", *args, "--format", "json"])
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    session = run("schedule", "--course", "national_security_cases", "--office", "WAS", "--on", "2026-06-01",
                  "--until", "2026-06-02", "--instructor", "I. Trainer", "--capacity", "3")
    run("enroll", str(session["id"]), "--officer", str(officer.pk))
    assert run("attend", str(session["id"]), "--officer", str(officer.pk))["completed_on"] == "2026-06-02"
    assert run("certified", "national_security_cases")["officers"] == [officer.pk]
    report = run("compliance", "--office", "was")
    assert report == {"offices": [{"office": "WAS", "officers": 1, "current": 0, "expiring": 0, "overdue": 0, "never": 1}]}
    assert run("hours", "--office", "WAS", "--from", "2026-06-01", "--to", "2026-06-01")["total_hours"] == 8.0
    assert [s["id"] for s in run("sessions", "--office", "WAS")] == [session["id"]]
    assert TrainingSession.objects.count() == 1
