"""Fixtures of the API tests: two offices with an officer and cases each, one user (and one API
token) per role, and a client that sends a token."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest

from caseload.core import clock
from caseload.core.permissions import ROLES
from caseload.core.tokens import do_issue_token
from caseload.countries.models import TravelDocumentRequest
from caseload.docket.models import CheckIn, CheckInOutcome
from caseload.policy.services import do_load_shipped
from caseload.workload.services import do_record_time
from tests import factories

_a_numbers = itertools.count(310_000_001)


@pytest.fixture(autouse=True)
def _fast_api_tests(settings):
    """Fast password hashing for the users these tests create; a rate limit no test reaches by
    accident (the rate-limit test sets its own); no count left over from another test."""
    from django.core.cache import cache

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.API_RATE_LIMIT = "100000/m"
    cache.clear()
    yield
    cache.clear()


class World:
    """WAS is the scoped users' own office, BOS the other one."""

    def __init__(self):
        do_load_shipped(actor_label="test")  # the rule sets and cadence table intake reads
        self.own_officer, self.other_officer = factories.officer("WAS"), factories.officer("BOS")
        self.own_case, self.other_case = self.new_case("own"), self.new_case("other")
        for officer, case in ((self.own_officer, self.own_case), (self.other_officer, self.other_case)):
            do_record_time(officer=officer, activity="check_in", case=case, actor_label="test",
                           started_at=clock.now() - dt.timedelta(days=3))
            TravelDocumentRequest.objects.create(case=case, office_id=case.office_id, country_id="MX",
                                                 requested_on=clock.today() - dt.timedelta(days=20))
        self.users = {role: factories.user(role, f"api-{role}", office_code="WAS" if role == "supervisor" else None,
                                           officer_obj=self.own_officer if role == "officer" else None)
                      for role in ROLES}
        self.tokens = {role: do_issue_token(username=user.username, actor_label="test")["token"]
                       for role, user in self.users.items()}

    def officer(self, scope: str):
        return self.own_officer if scope == "own" else self.other_officer

    def new_case(self, scope: str = "own", **fields):
        """A fresh open final-order case of the own or the other office's officer."""
        officer = self.officer(scope)
        person = factories.person(officer.office.code, a_number=str(next(_a_numbers)))
        defaults = {"officer": officer, "office": officer.office, "stage": "final_order",
                    "final_order_date": dt.date(2025, 1, 6), "next_report_due": clock.today() + dt.timedelta(days=30),
                    "last_contact_on": clock.today() - dt.timedelta(days=10)}
        return factories.case(person, **{**defaults, **fields})

    def owed_check_in(self, scope: str = "own") -> CheckIn:
        """An attended check-in of a fresh case still lacking its records-check result."""
        case = self.new_case(scope)
        return CheckIn.objects.create(case=case, office_id=case.office_id, scheduled_for=clock.today() - dt.timedelta(days=2),
                                      occurred_at=clock.now() - dt.timedelta(days=2), outcome=CheckInOutcome.APPEARED)

    def new_request(self, scope: str = "own") -> TravelDocumentRequest:
        case = self.new_case(scope)
        return TravelDocumentRequest.objects.create(case=case, office_id=case.office_id, country_id="MX",
                                                    requested_on=clock.today() - dt.timedelta(days=5))


@pytest.fixture
def world(db):
    return World()


class ApiClient:
    """Django's test client speaking JSON with ``Authorization: Bearer <token>``."""

    def __init__(self, client, token: str | None):
        self.client, self.token = client, token

    def _headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, params: dict | None = None):
        return self.client.get(path, params or {}, **self._headers())

    def post(self, path: str, body: dict | None = None):
        return self.client.post(path, json.dumps(body or {}), content_type="application/json", **self._headers())

    def request(self, method: str, path: str, params: dict | None = None, body: dict | None = None):
        return self.get(path, params) if method == "GET" else self.post(path, body)


@pytest.fixture
def api_as(client, world):
    """``api_as("officer")`` → a client with that role's token; ``api_as(None)`` → no credentials."""
    return lambda role: ApiClient(client, world.tokens[role] if role else None)
