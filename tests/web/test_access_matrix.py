"""Every page × every role, built from the URL configuration itself.

Each URL pattern (outside /admin/ and the sign-in pages) must name the roles it serves
(``require_role``) and have a sample below: the URL arguments of an object inside the user's
scope and, where the page shows scoped objects, one outside it. A page added later without a
sample fails ``test_every_page_has_a_sample``, so none can skip the matrix.

Expected: anonymous → the sign-in page; a role the page does not serve → 403; a served role →
200 inside its scope, 404 outside it (national roles see everything)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from caseload.core import clock
from caseload.core.permissions import ROLES
from caseload.workload.services import do_record_time
from caseload.policy import manual
from tests import factories

pytestmark = pytest.mark.django_db

EXEMPT_NAMESPACES = {"admin", "api"}  # the JSON API has its own role × endpoint matrix (tests/api)
PUBLIC_NAMES = {"login", "logout", "password_change", "password_change_done", "healthz"}
SCOPED_ROLES = {"officer", "supervisor"}


def _patterns(resolver=None, prefix: str = "", namespace: str = ""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            if ns in EXEMPT_NAMESPACES:
                continue
            yield from _patterns(entry, prefix + str(entry.pattern), f"{ns}" if entry.namespace else namespace)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield name, prefix + str(entry.pattern), entry.callback


PAGES = [(name, route, view) for name, route, view in _patterns() if name not in PUBLIC_NAMES]


@pytest.fixture
def world(db):
    """Two offices, an officer with a case in each, a supervisor of WAS, one user per role."""
    manual.do_import_manual(manual.SAMPLE_DIR, actor_label="test")
    own_officer, other_officer = factories.officer("WAS"), factories.officer("BOS")
    own_case = factories.case(factories.person("WAS"), officer=own_officer, office=own_officer.office)
    other_case = factories.case(factories.person("BOS"), officer=other_officer, office=other_officer.office)
    for officer, case in ((own_officer, own_case), (other_officer, other_case)):
        do_record_time(officer=officer, activity="check_in", case=case, actor_label="test",
                       started_at=clock.now() - dt.timedelta(days=3))
    users = {role: factories.user(role, f"matrix-{role}", office_code="WAS" if role == "supervisor" else None,
                                  officer_obj=own_officer if role == "officer" else None) for role in ROLES}
    return {"users": users, "own_case": own_case, "other_case": other_case,
            "own_officer": own_officer, "other_officer": other_officer}


# name → (kwargs inside the scope of the officer and supervisor users, kwargs outside it or None
#         [, {"method": "post", "ok": the status a served role gets for the (empty) request}])
SAMPLES = {
    "docket:worklist": (lambda w: {}, None),
    "docket:search": (lambda w: {}, None),
    "docket:case_new": (lambda w: {}, None),
    "docket:case": (lambda w: {"case_id": w["own_case"].pk}, lambda w: {"case_id": w["other_case"].pk}),
    "docket:case_action": (lambda w: {"case_id": w["own_case"].pk, "action": "contact"},
                           lambda w: {"case_id": w["other_case"].pk, "action": "contact"}, {"method": "post", "ok": 400}),
    "workload:timelog": (lambda w: {}, None),
    "landing": (lambda w: {}, None),
    "audit:events": (lambda w: {}, None),
    "audit:verify": (lambda w: {}, None),
    "audit:who_read": (lambda w: {}, None),
    "policy:rule_sets": (lambda w: {}, None),
    "policy:manual": (lambda w: {}, None),
    "policy:manual_diff": (lambda w: {}, None),
    "policy:manual_section": (lambda w: {"number": "1.2"}, None),
    "training:compliance": (lambda w: {}, None),
    "countries:report": (lambda w: {}, None),
    "countries:escalation": (lambda w: {"code": "HT"}, None),
    "staffing-office": (lambda w: {"code": "WAS"}, lambda w: {"code": "BOS"}),
    "offices:office": (lambda w: {"code": "WAS"}, lambda w: {"code": "BOS"}),
    "offices:overdue": (lambda w: {"code": "WAS"}, lambda w: {"code": "BOS"}),
    "offices:balance": (lambda w: {"code": "WAS"}, lambda w: {"code": "BOS"}),
    "forecast:page": (lambda w: {}, None),
    "forecast:status": (lambda w: {}, None),
    "planning:staffing": (lambda w: {}, None),
    "planning:workload": (lambda w: {}, None),
    "planning:countries": (lambda w: {}, None),
    "planning:country": (lambda w: {"code": "HT"}, None),
    "planning:training": (lambda w: {}, None),
    "planning:manual": (lambda w: {}, None),
    "planning:status": (lambda w: {}, None),
    "reports:management": (lambda w: {}, None),
}


def _url(route: str, kwargs: dict) -> str:
    import re

    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), route)
    return "/" + path


def test_every_page_has_a_sample_and_names_its_roles():
    missing = [name for name, _, _ in PAGES if name not in SAMPLES]
    assert not missing, f"pages without a sample in the access matrix: {missing}"
    unmarked = [name for name, _, view in PAGES if not getattr(view, "allowed_roles", None)]
    assert not unmarked, f"pages without require_role(...): {unmarked}"
    assert len(PAGES) >= len(SAMPLES) - 0 and {n for n, _, _ in PAGES} >= set(SAMPLES) - {None}


@pytest.mark.parametrize("name,route,view", PAGES, ids=[p[0] for p in PAGES])
def test_role_by_url(client, world, name, route, view):
    inside, outside, *more = SAMPLES[name]
    options = more[0] if more else {}
    ok = options.get("ok", 200)
    send = client.post if options.get("method") == "post" else client.get
    url_in = _url(route, inside(world))
    anonymous = send(url_in)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/"), url_in
    for role, user in world["users"].items():
        client.force_login(user)
        expected_in = ok if role in view.allowed_roles else 403
        got = send(url_in)
        assert got.status_code == expected_in, (role, url_in, got.status_code)
        if outside is not None:
            url_out = _url(route, outside(world))
            expected_out = 403 if role not in view.allowed_roles else 404 if role in SCOPED_ROLES else ok
            got = send(url_out)
            assert got.status_code == expected_out, (role, url_out, got.status_code)
        client.logout()


def test_only_administrators_reach_the_admin(client, world):
    for role, user in world["users"].items():
        client.force_login(user)
        response = client.get("/admin/")
        assert response.status_code == (200 if role == "administrator" else 302), role
        client.logout()


def test_error_pages_carry_the_navigation(client, world):
    client.force_login(world["users"]["officer"])
    forbidden = client.get("/staffing/WAS/")
    assert forbidden.status_code == 403 and b'aria-label="Main"' in forbidden.content and b"Sign out" in forbidden.content
    client.force_login(world["users"]["supervisor"])
    missing = client.get("/staffing/BOS/")
    assert missing.status_code == 404 and b'aria-label="Main"' in missing.content
    unknown = client.get("/staffing/ZZZ/")
    def main(response):
        return response.content.split(b"<main", 1)[1]

    assert unknown.status_code == 404
    assert main(missing).replace(b"BOS", b"ZZZ") == main(unknown), "out of scope looks exactly like missing"
