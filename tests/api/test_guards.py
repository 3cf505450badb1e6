"""Due-process guards through the API: a removal step under a stay or an open citizenship claim
answers 409 with the guard's code, and nothing is written."""

from __future__ import annotations

import datetime as dt

import pytest

from caseload.core import clock
from caseload.core.models import AuditEvent
from caseload.countries.models import TravelDocumentRequest
from caseload.docket.models import Case, CitizenshipClaim

pytestmark = pytest.mark.django_db


def _snapshot(case_id: int) -> dict:
    case = Case.objects.get(pk=case_id)
    return {"case": (case.version, case.stage, case.status, case.closed_on, case.removal_scheduled_for),
            "requests": list(TravelDocumentRequest.objects.filter(case_id=case_id).values_list("id", "status")),
            "events": AuditEvent.objects.exclude(action__in=("case.read", "case.list")).count()}


@pytest.mark.parametrize("role", ["officer", "administrator"])
def test_removal_under_a_stay_is_refused_with_the_guard_code(world, api_as, role):
    case = world.new_case("own", stay_of_removal_until=clock.today() + dt.timedelta(days=60))
    before = _snapshot(case.pk)
    got = api_as(role).post(f"/api/v1/cases/{case.pk}/transitions",
                            {"expected_version": case.version, "to": "removed", "reason": "removal flight"})
    assert got.status_code == 409
    assert got.json()["error"]["code"] == "stay_in_effect"
    assert got.json()["error"]["details"]["blockers"] == ["stay_in_effect"]
    assert _snapshot(case.pk) == before


def test_travel_document_request_under_an_open_claim_is_refused(world, api_as):
    case = world.new_case("own")
    case.person.citizenship_claim = CitizenshipClaim.OPEN
    case.person.save(update_fields=["citizenship_claim"])
    before = _snapshot(case.pk)
    got = api_as("officer").post(f"/api/v1/cases/{case.pk}/travel-documents", {"expected_version": case.version})
    assert got.status_code == 409
    assert got.json()["error"]["code"] == "citizenship_claim_open"
    assert _snapshot(case.pk) == before


def test_consular_interview_under_a_stay_is_refused(world, api_as):
    request = world.new_request("own")
    Case.objects.filter(pk=request.case_id).update(stay_of_removal_until=clock.today() + dt.timedelta(days=10))
    before = _snapshot(request.case_id)
    got = api_as("officer").post(f"/api/v1/travel-documents/{request.pk}/events",
                                 {"event": "interview", "on": (clock.today() + dt.timedelta(days=3)).isoformat()})
    assert got.status_code == 409
    assert got.json()["error"]["code"] == "stay_in_effect"
    assert _snapshot(request.case_id) == before
    assert TravelDocumentRequest.objects.get(pk=request.pk).interview_on is None


def test_the_same_removal_passes_once_the_stay_has_ended(world, api_as):
    """The refusal above is the guard's, not the request's: without the stay it goes through."""
    case = world.new_case("own")
    got = api_as("officer").post(f"/api/v1/cases/{case.pk}/transitions",
                                 {"expected_version": case.version, "to": "removed", "reason": "removal flight"})
    assert got.status_code == 201, got.content
    assert got.json() == {"case_id": case.pk, "version": case.version + 1, "stage": "removed", "status": "closed"}
