"""The whole API schema, exercised by schemathesis against a seeded database (a small synthetic
docket plus the hand-built world of conftest.py): no request answers a server error, and every
response (status code, content type, body) conforms to the schema.

Each operation runs twice per role: once with every parameter generated (mostly unknown ids:
404s must conform too) and once with the path parameters fixed to objects that exist, so the
generated bodies and queries reach the services. Runs are bounded (few examples, a fixed seed:
``derandomize``) so the suite stays fast and repeatable.
"""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from caseload.ingest.generate import generate_docket

pytestmark = pytest.mark.django_db
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# examples per operation: the administrator reaches every write; the auditor the audit log; the
# officer the scope's 404s.
EXAMPLES = {"administrator": 10, "auditor": 4, "officer": 4}


@pytest.fixture
def seeded(tmp_path, django_db_blocker):
    return generate_docket(scale=0.0003, seed=11, weights_path=tmp_path / "weights.json", actor_label="test")


@pytest.fixture
def schema(seeded, world):
    """The schema loaded from the app itself, called through its WSGI handler. As Django's test
    client does, the handler must not close the database connection after each request (that
    would end the test's transaction on PostgreSQL)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _known(world) -> dict:
    """Path parameters naming objects that exist (inside the scoped users' scope)."""
    case = world.new_case("own")
    return {"case_id": case.pk, "a_number": case.person.a_number, "officer_id": world.own_officer.pk, "code": "WAS",
            "check_in_id": world.owed_check_in("own").pk, "request_id": world.new_request("own").pk}


def _run(operation, headers: dict, examples: int, path_parameters: dict | None = None) -> int:
    calls = []

    @hypothesis.given(case=operation.as_strategy(path_parameters=path_parameters) if path_parameters
                      else operation.as_strategy())
    @hypothesis.settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def check(case):
        response = case.call(headers=headers)
        calls.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    check()
    return len(calls)


def test_every_response_conforms_and_none_is_a_server_error(schema, world):
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 17
    for role, examples in EXAMPLES.items():
        headers = {"Authorization": f"Bearer {world.tokens[role]}"}
        calls = 0
        for operation in operations:
            calls += _run(operation, headers, examples)
            names = {p.name for p in operation.path_parameters}
            if names and role == "administrator":
                calls += _run(operation, headers, examples, {k: v for k, v in _known(world).items() if k in names})
        assert calls >= len(operations) * examples
