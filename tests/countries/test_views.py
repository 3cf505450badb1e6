"""Pages: the cooperation report and a country's escalation package (login, role, audited read)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from caseload.core import clock
from caseload.core.models import AuditEvent
from caseload.docket import anumber
from tests.countries.builders import TODAY, days_ago, final_order_case, history

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def today():
    with clock.frozen(TODAY):
        yield TODAY


@pytest.fixture
def analyst(client):
    user = User.objects.create(username="analyst")
    user.groups.add(Group.objects.get(name="hq_analyst"))
    client.force_login(user)
    return user


def test_pages_need_a_login(client):
    for url in ("/countries/", "/countries/HT/escalation/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_user_without_a_role_is_refused(client):
    client.force_login(User.objects.create(username="nobody"))
    assert client.get("/countries/").status_code == 403
    assert client.get("/countries/HT/escalation/").status_code == 403
    assert not AuditEvent.objects.filter(action__in=("case.read", "case.list")).exists()


def test_report_page_lists_countries_with_both_tiers(client, analyst):
    final_order_case("HT")
    html = client.get("/countries/").content.decode()
    assert '<a href="/countries/HT/escalation/">HT</a>' in html and "delayed" in html


def test_escalation_page_and_exports_are_audited_reads(client, analyst):
    case = final_order_case("HT", person={"first_name": "Zelda"})
    history(case, requested_on=days_ago(120))
    page = client.get("/countries/HT/escalation/")
    assert page.status_code == 200
    html = page.content.decode()
    assert anumber.display(case.person.a_number) in html and "Zelda" not in html
    csv_response = client.get("/countries/HT/escalation/?format=csv")
    assert csv_response["Content-Type"].startswith("text/csv")
    assert "travel-documents-HT-2026-06-01.csv" in csv_response["Content-Disposition"]
    assert client.get("/countries/HT/escalation/?format=html").content.startswith(b"<!doctype html>")
    events = AuditEvent.objects.filter(action="case.list", details__export="countries.escalation_package").order_by("id")
    assert [(e.actor_id, e.details["format"], e.details["cases"], e.details["a_numbers"]) for e in events] == [
        (analyst.pk, fmt, [case.pk], [case.person.a_number]) for fmt in ("page", "csv", "html")]
    assert client.get("/countries/XX/escalation/").status_code == 404
