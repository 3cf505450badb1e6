"""Field offices and officers: reference data, lookups, officers joining, on leave and departing."""

import datetime as dt

import pytest

from caseload.core import clock
from caseload.core.errors import Conflict, NotFound, UsageError
from caseload.core.models import AuditEvent
from caseload.docket.models import Case
from caseload.offices import services
from caseload.offices.models import FieldOffice, Officer
from tests import factories

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 15)
# The 24 areas of responsibility, as the ICE extracts code them (written out by hand).
CODES = sorted("ATL BAL BOS BUF CHI DAL DEN DET ELP HOU LOS MIA NEW NOL NYC PHI PHO SEA SFR SLC SNA SND SPM WAS".split())


@pytest.fixture(autouse=True)
def _today():
    with clock.frozen(TODAY):
        yield


def test_the_24_offices_are_loaded_once_whatever_the_number_of_loads():
    assert services.load_offices() == 24
    assert services.load_offices() == 24
    assert sorted(FieldOffice.objects.filter(active=True).values_list("code", flat=True)) == CODES
    assert FieldOffice.objects.get(code="SPM").name == "St. Paul"


def test_office_lookup_ignores_case_and_names_an_unknown_code():
    assert services.access_office("was").code == "WAS"
    with pytest.raises(NotFound) as err:
        services.access_office("XYZ")
    assert err.value.code == "unknown_office" and err.value.exit_code == 2
    with pytest.raises(UsageError) as err:
        services.check_office("XYZ")
    assert err.value.code == "unknown_office" and err.value.exit_code == 2


def officers_and_events():
    return (list(Officer.objects.order_by("id").values_list("id", "first_name", "last_name", "status", "office_id")),
            AuditEvent.objects.count())


@pytest.mark.parametrize("fields, code", [
    ({"name": "  "}, "name_required"),
    ({"weekly_hours": 0}, "invalid_weekly_hours"),
    ({"weekly_hours": 81}, "invalid_weekly_hours"),
    ({"weekly_hours": "forty"}, "invalid_weekly_hours"),
    ({"unit": "marine"}, "unknown_unit"),
    ({"office": "XYZ"}, "unknown_office"),
])
def test_adding_an_officer_refuses_bad_input_and_adds_nothing(fields, code):
    before = officers_and_events()
    with pytest.raises(UsageError) as err:
        services.do_add_officer(**({"name": "Dana Reyes", "office": "SPM"} | fields), actor_label="test")
    assert err.value.code == code
    assert officers_and_events() == before


def test_an_officer_is_added_audited_and_an_external_id_is_unique():
    added = services.do_add_officer(name="Dana M. Reyes", office="spm", weekly_hours=32, external_id="E-1", actor_label="test")
    officer = Officer.objects.get(pk=added["id"])
    assert (officer.first_name, officer.last_name, officer.office.code, officer.weekly_hours) == ("Dana M.", "Reyes", "SPM", 32)
    assert (officer.status, officer.entered_on_duty) == ("active", TODAY)
    assert AuditEvent.objects.filter(action="officer.added", object_id=str(officer.pk)).count() == 1
    before = officers_and_events()
    with pytest.raises(Conflict) as err:
        services.do_add_officer(name="Other Person", office="SPM", external_id="E-1", actor_label="test")
    assert err.value.code == "external_id_exists"
    assert officers_and_events() == before


def test_leave_keeps_the_cases_and_return_ends_it():
    officer = factories.officer("SPM")
    case = factories.case(factories.person("SPM"), officer=officer)
    with pytest.raises(UsageError) as err:
        services.do_start_leave(officer_id=officer.pk, from_=TODAY + dt.timedelta(days=1), actor_label="test")
    assert err.value.code == "date_in_future"
    with pytest.raises(UsageError) as err:
        services.do_start_leave(officer_id=officer.pk, from_=TODAY, until=TODAY - dt.timedelta(days=1), actor_label="test")
    assert err.value.code == "invalid_period"
    assert Officer.objects.get(pk=officer.pk).status == "active"
    doc = services.do_start_leave(officer_id=officer.pk, from_=TODAY, until=TODAY + dt.timedelta(days=14), actor_label="test")
    assert (doc["status"], doc["status_label"], doc["cases"]) == ("leave", f"on leave until {TODAY + dt.timedelta(days=14)}", 1)
    assert Case.objects.get(pk=case.pk).officer_id == officer.pk
    assert services.do_return_from_leave(officer_id=officer.pk, actor_label="test")["status"] == "active"
    with pytest.raises(Conflict) as err:
        services.do_return_from_leave(officer_id=officer.pk, actor_label="test")
    assert err.value.code == "officer_not_on_leave"


def test_a_departing_officers_cases_all_go_to_the_named_officer_in_one_transaction():
    leaving, staying, elsewhere = factories.officer("SPM"), factories.officer("SPM"), factories.officer("BUF")
    cases = [factories.case(factories.person("SPM"), officer=leaving) for _ in range(3)]
    with pytest.raises(Conflict) as err:   # an officer of another office cannot take them
        services.do_depart(officer_id=leaving.pk, on=TODAY, reassign=str(elsewhere.pk), actor_label="test")
    assert err.value.code == "officer_not_eligible"
    assert Officer.objects.get(pk=leaving.pk).status == "active"
    assert set(Case.objects.filter(officer=leaving).values_list("id", flat=True)) == {c.pk for c in cases}

    doc = services.do_depart(officer_id=leaving.pk, on=TODAY, reassign=str(staying.pk), actor_label="test")
    assert (doc["cases"], doc["reassigned"], doc["left_unassigned"]) == (3, 3, 0)
    assert Officer.objects.get(pk=leaving.pk).status == "separated"
    assert set(Case.objects.filter(officer=staying).values_list("id", flat=True)) == {c.pk for c in cases}
    assert not Case.objects.filter(officer=leaving).exists()
    with pytest.raises(Conflict) as err:
        services.do_depart(officer_id=leaving.pk, on=TODAY, actor_label="test")
    assert err.value.code == "officer_departed"


def test_a_departure_with_no_eligible_officer_leaves_the_cases_unassigned_and_listed():
    leaving = factories.officer("SPM")
    case = factories.case(factories.person("SPM"), officer=leaving)
    doc = services.do_depart(officer_id=leaving.pk, on=TODAY, actor_label="test")
    assert (doc["cases"], doc["reassigned"], doc["left_unassigned"]) == (1, 0, 1)
    assert doc["unassigned"][0]["case_id"] == case.pk
    assert Case.objects.get(pk=case.pk).officer_id is None
