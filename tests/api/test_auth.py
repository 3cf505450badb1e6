"""API authentication: personal tokens (issued once, stored as a digest, listed, revoked, expiring),
the browser session with CSRF on unsafe methods, and the per-token rate limit."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.test import Client
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core import clock
from caseload.core.models import ApiToken, AuditEvent
from caseload.docket.models import Case

pytestmark = pytest.mark.django_db
runner = CliRunner()


def _cli(*args: str):
    result = runner.invoke(app, [*args, "--format", "json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else None


def _summary(token: str, client=None):
    return (client or Client()).get("/api/v1/docket/summary", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_token_is_shown_once_and_stored_only_as_its_digest(world):
    code, doc = _cli("users", "token", "api-auditor", "--expires-days", "30")
    assert code == 0
    assert set(doc) == {"username", "id", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at", "status", "token"}
    token = doc["token"]
    assert token.startswith(f"cl_{doc['prefix']}_") and len(token) > 50
    row = ApiToken.objects.get(pk=doc["id"])
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert dt.datetime.fromisoformat(doc["expires_at"]) - dt.datetime.fromisoformat(doc["created_at"]) == dt.timedelta(days=30)
    issued = AuditEvent.objects.get(action="api_token.issued", details__token_id=row.pk)
    assert token not in json.dumps(issued.details)
    assert _summary(token).status_code == 200
    code, rows = _cli("users", "tokens", "api-auditor")
    assert code == 0 and [r["id"] for r in rows if r["id"] == row.pk] == [row.pk]
    listed = next(r for r in rows if r["id"] == row.pk)
    assert "token" not in listed and listed["status"] == "active" and listed["last_used_at"] is not None


def test_a_revoked_token_is_refused_at_once(world):
    _, doc = _cli("users", "token", "api-officer")
    assert _summary(doc["token"]).status_code == 200
    code, revoked = _cli("users", "revoke-token", "api-officer", str(doc["id"]))
    assert code == 0 and revoked["status"] == "revoked" and revoked["revoked_at"]
    got = _summary(doc["token"])
    assert got.status_code == 401 and got.json()["error"]["code"] == "unauthenticated"
    assert got["WWW-Authenticate"] == "Bearer"


def test_revoking_another_users_token_or_an_unknown_one_is_refused(world):
    _, doc = _cli("users", "token", "api-officer")
    code, err = _cli("users", "revoke-token", "api-supervisor", str(doc["id"]))
    assert code == 2 and err["error"]["code"] == "unknown_token"
    assert ApiToken.objects.get(pk=doc["id"]).revoked_at is None
    code, err = _cli("users", "token", "nobody")
    assert code == 2 and err["error"]["code"] == "unknown_user"
    code, err = _cli("users", "token", "api-officer", "--expires-days", "0")
    assert code == 2 and err["error"]["code"] == "invalid_expires_days"


def test_an_expired_token_is_refused(world):
    _, doc = _cli("users", "token", "api-hq_analyst", "--expires-days", "1")
    assert _summary(doc["token"]).status_code == 200
    with clock.frozen(clock.now() + dt.timedelta(days=1, seconds=1)):
        assert _summary(doc["token"]).status_code == 401
        _, rows = _cli("users", "tokens", "api-hq_analyst")
        assert next(r for r in rows if r["id"] == doc["id"])["status"] == "expired"


@pytest.mark.parametrize("header", ["Bearer cl_nope_nope", "Bearer ", "Basic abc", "Bearer cl_only"])
def test_malformed_or_unknown_tokens_are_refused(world, header):
    got = Client().get("/api/v1/docket/summary", HTTP_AUTHORIZATION=header)
    assert got.status_code == 401


def test_a_token_with_a_tampered_secret_is_refused(world):
    token = world.tokens["auditor"]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert _summary(tampered).status_code == 401
    assert _summary(token).status_code == 200


def test_a_deactivated_users_token_is_refused(world):
    from caseload.core.users import do_deactivate_user

    do_deactivate_user(username="api-auditor", actor_label="test")
    assert _summary(world.tokens["auditor"]).status_code == 401


def _contact(client, case, **headers):
    return client.post(f"/api/v1/cases/{case.pk}/contacts", json.dumps({"expected_version": case.version}),
                       content_type="application/json", **headers)


def test_the_session_works_and_unsafe_methods_need_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["officer"])
    assert client.get("/api/v1/docket/summary").status_code == 200
    case = world.new_case("own")
    refused = _contact(client, case)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    assert Case.objects.get(pk=case.pk).version == case.version
    client.get("/api/v1/docs")  # any page with a form sets the CSRF cookie
    accepted = _contact(client, case, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert accepted.status_code == 201, accepted.content
    assert Case.objects.get(pk=case.pk).version == case.version + 1


def test_no_credentials_answer_401_not_a_redirect(world):
    for got in (Client().get("/api/v1/cases"), Client().post("/api/v1/cases", "{}", content_type="application/json")):
        assert got.status_code == 401 and got.json()["error"]["code"] == "unauthenticated"


def test_the_rate_limit_counts_per_token(world, settings):
    settings.API_RATE_LIMIT = "3/h"  # an hour's window: the four requests do not straddle a window's end
    limited, other = world.tokens["auditor"], world.tokens["hq_analyst"]
    assert [_summary(limited).status_code for _ in range(3)] == [200, 200, 200]
    refused = _summary(limited)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert _summary(other).status_code == 200


def test_a_malformed_rate_setting_is_refused():
    from caseload.core.api import parse_rate

    assert parse_rate("600/m") == (600, 60) and parse_rate("5/s") == (5, 1) and parse_rate("10/day") == (10, 86400)
    for bad in ("", "600", "x/m", "10/w"):
        with pytest.raises(ValueError):
            parse_rate(bad)
