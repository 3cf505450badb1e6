"""Every API endpoint × every role, built from the API's routes themselves.

Each operation must name its roles (``require_role`` keeps them on the function) and have a
sample below: a request on an object inside the scoped users' scope and, where the endpoint
reads or writes scoped objects, the same request on one outside it. An endpoint added later
without a sample fails ``test_every_endpoint_has_a_sample``.

Expected: no credentials → 401; a role the endpoint does not serve → 403; a served role → 2xx
inside its scope, 404 outside it (the national roles reach everything); and no response to a
scoped user names the other office's person.
"""

from __future__ import annotations

import datetime as dt

import pytest

from caseload.api import api
from caseload.core import clock
from caseload.core.permissions import ROLES
from caseload.docket.models import Case

pytestmark = pytest.mark.django_db
SCOPED_ROLES = {"officer", "supervisor"}
BASE = "/api/v1"


def _operations():
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    yield f"{method} {(prefix.rstrip('/') + path) or '/'}", operation.view_func


OPERATIONS = sorted(_operations(), key=lambda o: o[0])


def _version(case) -> int:
    return Case.objects.get(pk=case.pk).version


def _intake(w, scope):
    from tests.api.conftest import _a_numbers

    return {"body": {"a_number": str(next(_a_numbers)), "family_name": "Intake", "given_name": "Ana",
                     "birth_date": "1990-04-02", "citizenship": "MX", "office": "WAS" if scope == "own" else "BOS",
                     "unit": "non_detained", "supervision_type": "recognizance", "stage": "pending"}}


def _check_in(w, scope):
    case = w.new_case(scope)
    return {"path": {"case_id": case.pk},
            "body": {"expected_version": _version(case), "outcome": "missed",
                     "scheduled_for": (clock.today() - dt.timedelta(days=1)).isoformat()}}


def _records_check(w, scope):
    row = w.owed_check_in(scope)
    return {"path": {"check_in_id": row.pk}, "body": {"expected_version": _version(row.case), "result": "clear"}}


def _contact(w, scope):
    case = w.new_case(scope)
    return {"path": {"case_id": case.pk}, "body": {"expected_version": _version(case), "note": "home visit"}}


def _transition(w, scope):
    case = w.new_case(scope, stage="pending", final_order_date=None)
    return {"path": {"case_id": case.pk}, "body": {"expected_version": _version(case), "to": "appeal",
                                                   "reason": "notice of appeal filed"}}


def _td_request(w, scope):
    case = w.new_case(scope)
    return {"path": {"case_id": case.pk}, "body": {"expected_version": _version(case)}}


def _td_event(w, scope):
    request = w.new_request(scope)
    return {"path": {"request_id": request.pk}, "body": {"event": "withdrawn", "reason": "relief granted"}}


def scoped(build):
    """The same builder for both scopes."""
    return (lambda w: build(w, "own"), lambda w: build(w, "other"))


# "METHOD path" → (inside(world), outside(world) or None). Each builder makes a fresh object, so
# one role's write does not change what the next role sees.
SAMPLES = {
    "GET /cases": (lambda w: {}, lambda w: {"query": {"office": "BOS"}}),
    "GET /cases/{case_id}": (lambda w: {"path": {"case_id": w.own_case.pk}},
                             lambda w: {"path": {"case_id": w.other_case.pk}}),
    "GET /people/{a_number}": (lambda w: {"path": {"a_number": w.own_case.person.a_number}},
                               lambda w: {"path": {"a_number": w.other_case.person.a_number}}),
    "GET /docket/summary": (lambda w: {}, None),
    "GET /officers/{officer_id}/worklist": (lambda w: {"path": {"officer_id": w.own_officer.pk}},
                                            lambda w: {"path": {"officer_id": w.other_officer.pk}}),
    "GET /offices/{code}/overdue": (lambda w: {"path": {"code": "WAS"}}, lambda w: {"path": {"code": "BOS"}}),
    "POST /cases": scoped(_intake),
    "POST /cases/{case_id}/check-ins": scoped(_check_in),
    "POST /check-ins/{check_in_id}/records-check": scoped(_records_check),
    "POST /cases/{case_id}/contacts": scoped(_contact),
    "POST /cases/{case_id}/transitions": scoped(_transition),
    "GET /travel-documents": (lambda w: {}, None),
    "POST /cases/{case_id}/travel-documents": scoped(_td_request),
    "POST /travel-documents/{request_id}/events": scoped(_td_event),
    "GET /countries/report": (lambda w: {}, None),
    "GET /staffing/plan": (lambda w: {}, None),
    "GET /audit/events": (lambda w: {}, None),
}


def _send(api_client, key: str, sample: dict):
    method, route = key.split(" ", 1)
    path = route
    for name, value in sample.get("path", {}).items():
        path = path.replace("{" + name + "}", str(value))
    return api_client.request(method, BASE + path, params=sample.get("query"), body=sample.get("body"))


def test_every_endpoint_has_a_sample_and_names_its_roles():
    keys = [key for key, _ in OPERATIONS]
    documented = sum(len(methods) for methods in api.get_openapi_schema()["paths"].values())
    assert len(keys) == len(set(keys)) == documented
    missing = [key for key in keys if key not in SAMPLES]
    assert not missing, f"endpoints without a sample in the API access matrix: {missing}"
    assert not set(SAMPLES) - set(keys), "samples of endpoints that no longer exist"
    unmarked = [key for key, view in OPERATIONS if not getattr(view, "allowed_roles", None)]
    assert not unmarked, f"endpoints without require_role(...): {unmarked}"


@pytest.mark.parametrize("key,view", OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_role_by_endpoint(world, api_as, key, view):
    inside, outside = SAMPLES[key]
    leak = world.other_case.person.a_number_display
    anonymous = _send(api_as(None), key, inside(world))
    assert anonymous.status_code == 401, (key, anonymous.content)
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    for role in ROLES:
        served = role in view.allowed_roles
        got = _send(api_as(role), key, inside(world))
        ok = 200 if key.startswith("GET") else 201
        expected = ok if served else 403
        assert got.status_code == expected, (role, key, got.status_code, got.content[:300])
        if role in SCOPED_ROLES:
            assert leak not in got.content.decode(), (role, key, "names a person outside the scope")
        if outside is not None:
            got = _send(api_as(role), key, outside(world))
            expected_out = 403 if not served else 404 if role in SCOPED_ROLES else ok
            assert got.status_code == expected_out, (role, key, "outside", got.status_code, got.content[:300])
            if expected_out == 404:
                assert got.json()["error"]["code"].startswith("unknown_"), got.content
