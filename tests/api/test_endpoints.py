"""What the endpoints answer: keyset pages, filters, the CLI's JSON keys, audited reads, optimistic
locking (a stale ``expected_version`` is 409 and changes nothing), typed errors, the docs page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from caseload.core import clock
from caseload.core.models import AuditEvent
from caseload.docket.models import Case, CheckIn
from caseload.workload.models import TimeLogEntry

pytestmark = pytest.mark.django_db


def _reads(action: str):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_cases_come_in_keyset_pages_within_the_scope(world, api_as):
    extra = [world.new_case("own") for _ in range(3)]
    api = api_as("supervisor")
    seen, after, pages = [], None, 0
    while True:
        doc = api.get("/api/v1/cases", {"limit": 2, **({"after": after} if after else {})}).json()
        seen += [c["case_id"] for c in doc["cases"]]
        pages += 1
        after = doc["next_after"]
        if after is None:
            break
    expected = sorted(Case.objects.filter(office__code="WAS", status="open").values_list("id", flat=True))
    assert seen == expected and len(expected) == 1 + len(extra) and pages == 2
    assert world.other_case.pk not in seen
    last = _reads("case.list")[-1]
    assert last.actor_label == "api-supervisor" and last.details["via"] == "/api/v1/cases"
    assert last.details["cases"] == expected[2:]


def test_case_rows_carry_the_cli_keys_and_filters_apply(world, api_as):
    pending = world.new_case("own", stage="pending", final_order_date=None)
    doc = api_as("administrator").get("/api/v1/cases", {"stage": "pending", "office": "WAS"}).json()
    assert [c["case_id"] for c in doc["cases"]] == [pending.pk]
    row = doc["cases"][0]
    assert {"a_number", "case_id", "office", "officer", "supervision_type", "stage"} <= set(row)
    assert row == {"case_id": pending.pk, "a_number": pending.person.a_number_display, "office": "WAS",
                   "officer": world.own_officer.pk, "unit": "non_detained", "supervision_type": "recognizance",
                   "stage": "pending", "status": "open", "priority": None, "version": pending.version}
    bad = api_as("administrator").get("/api/v1/cases", {"stage": "nonsense"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
    assert bad.json()["error"]["details"]["errors"][0]["loc"] == ["query", "stage"]


def test_a_case_read_is_audited_and_an_out_of_scope_one_is_missing(world, api_as):
    api = api_as("officer")
    got = api.get(f"/api/v1/cases/{world.own_case.pk}")
    assert got.status_code == 200
    doc = got.json()
    assert doc["case_id"] == world.own_case.pk and doc["version"] == world.own_case.version
    assert "removed" in doc["allowed_transitions"] and doc["removal_step_blockers"] == []
    read = _reads("case.read")[-1]
    assert read.actor_label == "api-officer" and read.details["cases"] == [world.own_case.pk]
    assert read.details["a_numbers"] == [world.own_case.person.a_number]
    before = AuditEvent.objects.count()
    missing = api.get(f"/api/v1/cases/{world.other_case.pk}")
    unknown = api.get("/api/v1/cases/999999999")
    assert missing.status_code == unknown.status_code == 404
    assert missing.json()["error"]["code"] == unknown.json()["error"]["code"] == "unknown_case"
    assert AuditEvent.objects.count() == before


def test_a_person_record_is_the_case_show_document(world, api_as):
    from caseload.docket.intake import person_record

    a_number = world.own_case.person.a_number
    got = api_as("officer").get(f"/api/v1/people/{a_number}")
    assert got.status_code == 200
    shown = person_record(a_number, via="test")
    assert got.json() == shown
    assert _reads("case.read")[-2].details["via"] == f"/api/v1/people/{a_number}"
    assert api_as("officer").get(f"/api/v1/people/{world.other_case.person.a_number}").status_code == 404
    assert api_as("officer").get("/api/v1/people/12").json()["error"]["code"] == "invalid_a_number"


def test_intake_answers_the_case_open_document(world, api_as):
    body = {"a_number": "A320-000-001", "family_name": "Lopez", "given_name": "Maria", "birth_date": "1988-02-03",
            "citizenship": "GT", "office": "WAS", "unit": "non_detained", "supervision_type": "atd",
            "stage": "final_order", "final_order_date": "2025-11-02",
            "convictions": [{"category": "dui", "convicted_on": "2019-04-02"}]}
    got = api_as("supervisor").post("/api/v1/cases", body)
    assert got.status_code == 201, got.content
    doc = got.json()
    assert set(doc) == {"case_id", "a_number", "office", "unit", "officer", "assignment_reason", "priority",
                        "priority_rule_set", "next_report_due", "person_id", "new_person"}
    case = Case.objects.get(pk=doc["case_id"])
    assert doc["a_number"] == "A320-000-001" and case.office.code == "WAS" and doc["new_person"] is True
    assert AuditEvent.objects.filter(action="case.opened", object_id=str(case.pk), actor_label="api-supervisor").exists()
    again = api_as("supervisor").post("/api/v1/cases", body)
    assert again.status_code == 409 and again.json()["error"]["code"] == "open_case_exists"
    bad = api_as("supervisor").post("/api/v1/cases", {**body, "a_number": "A320-000-002", "citizenship": "Atlantis"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_country"
    assert Case.objects.filter(person__a_number="320000002").count() == 0


def _state(case_id: int) -> tuple:
    case = Case.objects.get(pk=case_id)
    return (case.version, case.last_contact_on, case.next_report_due, CheckIn.objects.filter(case_id=case_id).count(),
            TimeLogEntry.objects.filter(case_id=case_id).count(),
            AuditEvent.objects.exclude(action__in=("case.read", "case.list")).count())


@pytest.mark.parametrize("endpoint,body", [
    ("contacts", {"note": "home visit", "on": None}),
    ("check-ins", {"outcome": "appeared", "records_check": "clear"}),
    ("transitions", {"to": "pending", "reason": "motion to reopen granted"}),
])
def test_a_stale_version_is_409_and_changes_nothing(world, api_as, endpoint, body):
    case = world.new_case("own")
    Case.objects.filter(pk=case.pk).update(version=case.version + 1)  # someone else wrote meanwhile
    before = _state(case.pk)
    got = api_as("officer").post(f"/api/v1/cases/{case.pk}/{endpoint}",
                                 {k: v for k, v in {**body, "expected_version": case.version}.items() if v is not None})
    assert got.status_code == 409, got.content
    error = got.json()["error"]
    assert error["code"] == "stale_case" and error["message"]
    assert _state(case.pk) == before


def test_records_check_with_a_stale_version_changes_nothing(world, api_as):
    row = world.owed_check_in("own")
    Case.objects.filter(pk=row.case_id).update(version=row.case.version + 1)
    before = _state(row.case_id)
    got = api_as("officer").post(f"/api/v1/check-ins/{row.pk}/records-check",
                                 {"expected_version": row.case.version, "result": "clear"})
    assert got.status_code == 409 and got.json()["error"]["code"] == "stale_case"
    assert _state(row.case_id) == before and CheckIn.objects.get(pk=row.pk).records_check == "not_run"


def test_a_check_in_answers_the_checkin_record_document(world, api_as):
    case = world.new_case("own")
    got = api_as("officer").post(f"/api/v1/cases/{case.pk}/check-ins",
                                 {"expected_version": case.version, "outcome": "appeared", "records_check": "clear"})
    assert got.status_code == 201, got.content
    doc = got.json()
    after = Case.objects.get(pk=case.pk)
    assert doc == {"check_in": CheckIn.objects.get(case=case).pk, "case_id": case.pk, "outcome": "appeared",
                   "records_check": "clear", "next_report_due": after.next_report_due.isoformat(), "missed_in_a_row": 0,
                   "failed_to_report_on": None, "version": after.version}
    assert after.version == case.version + 1
    assert after.next_report_due == clock.today() + dt.timedelta(days=after.reporting_cadence_days)


def test_an_appearance_without_a_records_check_is_refused(world, api_as):
    case = world.new_case("own")
    before = _state(case.pk)
    got = api_as("officer").post(f"/api/v1/cases/{case.pk}/check-ins", {"expected_version": case.version, "outcome": "appeared"})
    assert got.status_code == 409 and got.json()["error"]["code"] == "records_check_required"
    assert _state(case.pk) == before


def test_worklist_and_overdue_are_the_cli_documents_and_audited(world, api_as):
    from caseload.docket.worklist import officer_worklist, overdue_summary

    got = api_as("officer").get(f"/api/v1/officers/{world.own_officer.pk}/worklist")
    assert got.status_code == 200
    assert got.json() == officer_worklist(officer=world.own_officer.pk)
    shown = list(dict.fromkeys(t["case_id"] for t in got.json()["tasks"]))
    assert shown and _reads("case.list")[-1].details["cases"] == shown
    overdue = api_as("supervisor").get("/api/v1/offices/WAS/overdue")
    assert overdue.status_code == 200 and overdue.json() == overdue_summary(office="WAS")


def test_travel_documents_list_and_lifecycle(world, api_as):
    api = api_as("officer")
    listed = api.get("/api/v1/travel-documents", {"country": "MX"}).json()
    assert [r["case"] for r in listed["requests"]] == [world.own_case.pk]
    case = world.new_case("own")
    made = api.post(f"/api/v1/cases/{case.pk}/travel-documents", {"expected_version": case.version})
    assert made.status_code == 201, made.content
    request_id = made.json()["id"]
    assert made.json()["status"] == "requested" and made.json()["country"] == "MX"
    issued = api.post(f"/api/v1/travel-documents/{request_id}/events",
                      {"event": "issued", "expires_on": (clock.today() + dt.timedelta(days=90)).isoformat()})
    assert issued.status_code == 201 and issued.json()["status"] == "issued"
    again = api.post(f"/api/v1/travel-documents/{request_id}/events", {"event": "refused", "reason": "no"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    missing = api.post(f"/api/v1/travel-documents/{request_id}/events", {"event": "issued"})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "expiry_required"


def test_reports_answer_the_cli_documents(world, api_as):
    from caseload.countries.services import report
    from caseload.docket.services import summary

    assert api_as("hq_analyst").get("/api/v1/docket/summary").json() == summary()
    assert api_as("supervisor").get("/api/v1/docket/summary").json() == summary(actor=world.users["supervisor"])
    assert api_as("officer").get("/api/v1/countries/report").json() == report()
    events = api_as("auditor").get("/api/v1/audit/events", {"limit": 2}).json()
    assert len(events["events"]) == 2 and events["next_before"] == events["events"][-1]["id"]
    assert events["events"][0]["id"] > events["events"][1]["id"]


def test_the_docs_page_uses_the_local_swagger_assets(world):
    page = Client().get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html and "/static/ninja/swagger-ui.css" in html
    assert re.findall(r'(?:src|href)="([^"]*)"', html) and all(
        url.startswith("/static/") for url in re.findall(r'(?:src|href)="([^"]*)"', html))  # nothing from elsewhere
    asset = Client().get("/static/ninja/swagger-ui-bundle.js")
    assert asset.status_code == 200
    schema = Client().get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.") and len(schema["paths"]) == 16
