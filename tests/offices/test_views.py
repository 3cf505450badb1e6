"""The supervisor's office page /office/<code>/: each panel shows what its service returns, each
decision writes its change and an audit event whose actor is the signed-in user, a stale form is
refused with the input kept, and the page is the office's supervisor's only."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from django.utils import dateformat, timezone

from caseload.core import clock
from caseload.core.models import AuditEvent
from caseload.countries import foreseeability as fs
from caseload.countries.models import ForeseeabilityReview
from caseload.docket import checkins, lifecycle
from caseload.docket.models import Case, CheckIn, CitizenshipClaimDecision
from caseload.docket.worklist import officer_worklist, overdue_summary
from caseload.offices.models import Officer
from caseload.offices.services import list_officers
from caseload.policy import services as policy
from caseload.staffing import services as staffing
from caseload.staffing.models import AssignmentRecord
from tests import factories
from tests.countries.builders import final_order_case
from tests.staffing.test_services import _office, _weights

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 1)
CODE = "SPM"
URL = f"/office/{CODE}/"
RATIONALE = ("The consulate has issued no travel document for this person in two years of requests; headquarters "
             "found no other route, the person reports as required, has no new arrests and lives with family here.")


@pytest.fixture(autouse=True)
def today():
    with clock.frozen(TODAY):
        yield TODAY


class Tables(HTMLParser):
    """The text of every cell of every table with an id: {id: [[cell, ...], ...]} (header row included)."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table = None
        self._row = None
        self._cell = None
        self._skip = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None and not self._skip:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None and not self._skip:
            self._cell = []
        elif tag in ("details", "form"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None and not self._skip:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag in ("details", "form"):
            self._skip -= 1

    def handle_data(self, data):
        if self._cell is not None and not self._skip:
            self._cell.append(data)


def rows(response, table_id: str) -> list[list[str]]:
    found = Tables(response.content.decode()).tables
    assert table_id in found, f"no table {table_id}"
    return found[table_id][1:]


@pytest.fixture
def world():
    """SPM with three officers (12, 2 and 0 open cases), an unassigned case, a records-check hit,
    a citizenship claim, a foreseeability review, a director's exception; its supervisor."""
    _weights(recognizance__pending=2.0, osup__final_order=2.0)
    busy, light, idle = _office(CODE, loads=(12, 2, 0))
    unassigned = factories.case(factories.person(CODE))
    factories.case(factories.person(CODE, national_security_flag=True))   # unassigned, never reviewed: stale
    hit_case, claim_case = list(Case.objects.filter(officer=busy).order_by("id"))[:2]
    hit = checkins.do_record_check_in(case=hit_case, outcome="appeared", records_check="hit",
                                      records_check_detail="open warrant in another state", actor_label="test")
    lifecycle.do_raise_citizenship_claim(case=lifecycle.access_case(claim_case.pk), reason="says he was born in El Paso",
                                         actor_label="test")
    review_case = final_order_case("CU", office=CODE, officer=light)
    fs.flag_reviews(as_of=TODAY)
    policy.do_load_shipped(actor_label="test")
    exception = policy.do_grant_exception(a_number=light.cases.exclude(pk=review_case.pk).first().person.a_number,
                                          level="national_security", reason="Referred by a partner agency",
                                          approved_by="J. Rivera, FOD", actor_label="test")
    Officer.objects.filter(pk=light.pk).update(open_cases=3)
    supervisor = factories.user("supervisor", "sup.spm", office_code=CODE)
    return {"busy": busy, "light": light, "idle": idle, "unassigned": unassigned, "hit": hit, "claim_case": claim_case,
            "review": ForeseeabilityReview.objects.get(case=review_case), "exception": exception, "supervisor": supervisor}


def signed_in(client, user):
    client.force_login(user)
    return client


def version(case_id: int) -> int:
    return Case.objects.values_list("version", flat=True).get(pk=case_id)


def events(action: str):
    return AuditEvent.objects.filter(action=action)


# --- the panels ---------------------------------------------------------------------------------

def test_each_panel_shows_what_its_service_returns(client, world):
    response = signed_in(client, world["supervisor"]).get(URL)
    assert response.status_code == 200
    html = response.content.decode()

    summary = overdue_summary(office=CODE)
    types = [t for t in summary["task_types"] if summary["totals"]["by_task"][t]]
    assert types, "the docket has overdue tasks to show"
    expected = [[r["name"], f"{r['open_cases']:,}", f"{r['overdue']:,}", *[f"{r['by_task'][t]:,}" for t in types]]
                for r in summary["officers"]]
    assert rows(response, "overdue-table")[:-1] == expected
    assert rows(response, "overdue-table")[-1][2] == f"{summary['totals']['overdue']:,}"
    busy = next(r for r in summary["officers"] if r["officer"] == world["busy"].pk)
    first = next(t for t in types if busy["by_task"][t])
    assert f'href="/office/{CODE}/overdue/?officer={world["busy"].pk}&amp;task={first}"' in html

    assert [int(r[0]) for r in rows(response, "unassigned-table")] == [c["case_id"] for c in summary["unassigned_cases"]]
    stale = summary["stale_national_security_cases"]
    assert stale and [[int(r[0]), r[1], r[6]] for r in rows(response, "stale-table")] == [
        [c["case_id"], c["a_number"], ", ".join(x.replace("_", " ").capitalize() for x in c["reasons"])] for c in stale]
    assert [int(r[0]) for r in rows(response, "hits-table")] == [world["hit"].pk]
    assert rows(response, "hits-table")[0][6] == "open warrant in another state"
    assert [int(r[0]) for r in rows(response, "claims-table")] == [world["claim_case"].pk]
    reviews = fs.list_reviews(office=CODE)
    assert [int(r[0]) for r in rows(response, "reviews-table")] == [r["id"] for r in reviews] == [world["review"].pk]
    assert rows(response, "reviews-table")[0][4] == "Cuba"
    exceptions = policy.list_exceptions(office=CODE, active_on=TODAY)
    assert [int(r[0]) for r in rows(response, "exceptions-table")] == [e["case_id"] for e in exceptions]

    capacity = staffing.officer_capacity(office=CODE)
    assert [[r[0], r[2], r[5]] for r in rows(response, "capacity-table")] == [
        [c["name"], f"{c['cases']:,}", "–" if c["capacity_pct"] is None else f"{c['capacity_pct']:.1f}"] for c in capacity]
    assert html.count("<svg") == 1
    outliers = staffing.outliers(office=CODE, capacity=capacity)
    assert len(rows(response, "outliers-table")) == len(outliers) if outliers else "outliers-table" not in html

    roster = [o for o in list_officers(office=CODE)]
    assert [[r[0], r[3]] for r in rows(response, "roster-table")] == [[o["name"], f"{o['cases']:,}"] for o in roster]

    read = events("case.list").get(actor=world["supervisor"])
    assert read.details["via"] == URL
    assert set(read.details["cases"]) >= {world["unassigned"].pk, world["hit"].case_id, world["claim_case"].pk}


def test_the_overdue_cell_opens_the_list_of_those_tasks(client, world):
    officer = world["busy"]
    summary = next(r for r in overdue_summary(office=CODE)["officers"] if r["officer"] == officer.pk)
    task = next(t for t, n in summary["by_task"].items() if n)
    response = signed_in(client, world["supervisor"]).get(f"/office/{CODE}/overdue/", {"officer": officer.pk, "task": task})
    assert response.status_code == 200
    listed = rows(response, "overdue-list")
    assert len(listed) == summary["by_task"][task]
    wanted = [t for t in officer_worklist(officer=officer.pk)["tasks"] if t["overdue"] and t["task"] == task]
    assert [int(r[0]) for r in listed] == [t["case_id"] for t in wanted]
    other = factories.officer("BOS")
    assert client.get(f"/office/{CODE}/overdue/", {"officer": other.pk}).status_code == 404
    assert client.get(f"/office/{CODE}/overdue/", {"officer": officer.pk, "task": "no_such_task"}).status_code == 400


# --- decisions ----------------------------------------------------------------------------------

def review_hit(client, world, **fields):
    hit = world["hit"]
    return client.post(URL, {"action": "review_hit", "check_in": hit.pk, "version": version(hit.case_id),
                             "outcome": "referred", "notes": "warrant confirmed with the issuing state", **fields})


def test_reviewing_a_hit_records_the_review_and_an_audit_event_by_the_user(client, world):
    user = world["supervisor"]
    response = review_hit(signed_in(client, user), world)
    assert response.status_code == 302 and response["Location"] == URL + "#hits"
    row = CheckIn.objects.get(pk=world["hit"].pk)
    assert (row.hit_reviewed_on, row.hit_reviewed_by_id) == (TODAY, user.pk)
    assert row.hit_review_decision == "Referred for enforcement action: warrant confirmed with the issuing state"
    event = events("checkin.hit_reviewed").get()
    assert (event.actor_id, event.actor_label, event.object_id) == (user.pk, "sup.spm", str(row.case_id))
    page = client.get(URL).content.decode()
    assert f"Records-check hit of check-in {row.pk} (case {row.case_id}) reviewed." in page   # the confirmation
    assert "0 hits awaiting" in page and 'id="hits-table"' not in page


def test_a_review_without_notes_is_refused_and_nothing_changes(client, world):
    response = review_hit(signed_in(client, world["supervisor"]), world, notes="  ")
    assert response.status_code == 400
    assert CheckIn.objects.get(pk=world["hit"].pk).hit_reviewed_on is None
    assert not events("checkin.hit_reviewed").exists()


def test_a_stale_form_is_refused_with_the_input_kept_and_who_changed_the_case(client, world):
    user = world["supervisor"]
    hit = world["hit"]
    read_version = version(hit.case_id)
    lifecycle.do_record_contact(case=lifecycle.access_case(hit.case_id), note="phone call", actor_label="officer.jones")
    response = review_hit(signed_in(client, user), world, version=read_version, notes="kept text of the review")
    assert response.status_code == 409
    html = response.content.decode()
    changed = AuditEvent.objects.filter(object_type="case", object_id=str(hit.case_id)).latest("id")
    at = dateformat.format(timezone.localtime(changed.occurred_at), "j F Y, H:i")
    assert f"This case was changed by officer.jones at {at} after you opened the page" in html
    assert ">\nkept text of the review</textarea>" in html
    assert f'name="version" value="{version(hit.case_id)}"' in html       # resubmitting takes the current version
    assert re.search(r'<option value="referred" selected>', html)
    assert CheckIn.objects.get(pk=hit.pk).hit_reviewed_on is None and not events("checkin.hit_reviewed").exists()
    assert review_hit(client, world).status_code == 302                       # resubmitted after reading the notice


def test_deciding_a_citizenship_claim(client, world):
    user, case = world["supervisor"], world["claim_case"]
    data = {"action": "decide_claim", "case": case.pk, "version": version(case.pk), "decision": "rejected",
            "reason": "birth certificate checked: issued in Chihuahua"}
    response = signed_in(client, user).post(URL, data)
    assert response.status_code == 302 and response["Location"] == URL + "#claims"
    decision = CitizenshipClaimDecision.objects.get(case=case)
    assert (decision.decision, decision.decided_by_id) == ("rejected", user.pk)
    assert events("person.citizenship_claim_decided").get().actor_id == user.pk


def review_data(world, **fields):
    return {"action": "decide_review", "review": world["review"].pk, "decision": "removal_not_foreseeable",
            "criminal_history_reviewed": "on", "consulate_contacted_on": "2026-05-20", "escalation_level": "none",
            "risk_assessment": "moderate", "rationale": RATIONALE, **fields}


def test_deciding_a_foreseeability_review_goes_through_the_service_rules(client, world):
    user = world["supervisor"]
    client = signed_in(client, user)
    short = client.post(URL, review_data(world, rationale="not foreseeable now"))
    assert short.status_code == 400
    assert "the rationale has 3 words, 30 needed" in short.content.decode()
    assert ForeseeabilityReview.objects.get(pk=world["review"].pk).status == "open"
    assert not events("countries.foreseeability_review_decided").exists()
    response = client.post(URL, review_data(world))
    assert response.status_code == 302
    review = ForeseeabilityReview.objects.get(pk=world["review"].pk)
    assert (review.status, review.decision, review.decided_by) == ("decided", "removal_not_foreseeable", "sup.spm")
    assert events("countries.foreseeability_review_decided").get().actor_id == user.pk


def test_assigning_a_case_to_a_chosen_officer(client, world):
    user, case, idle = world["supervisor"], world["unassigned"], world["idle"]
    client = signed_in(client, user)
    data = {"action": "assign", "case": case.pk, "version": version(case.pk), "officer": idle.pk,
            "reason": "speaks the person's language"}
    outsider = factories.officer("BOS")
    assert client.post(URL, {**data, "officer": outsider.pk}).status_code == 400     # not one of the office's officers
    assert client.post(URL, {**data, "reason": ""}).status_code == 400
    assert Case.objects.get(pk=case.pk).officer_id is None and not events("case.assigned").exists()
    response = client.post(URL, data)
    assert response.status_code == 302 and response["Location"] == URL + "#unassigned"
    assert Case.objects.get(pk=case.pk).officer_id == idle.pk
    assert Officer.objects.get(pk=idle.pk).open_cases == 1
    record = AssignmentRecord.objects.get(case=case)
    assert (record.method, record.to_officer_id, record.actor_label) == ("manual", idle.pk, "sup.spm")
    event = events("case.assigned").get()
    assert (event.actor_id, event.details["reason"], event.details["to_officer"]) == (user.pk, "speaks the person's language", idle.pk)
    again = client.post(URL, {**data, "version": version(case.pk)})
    assert again.status_code == 409 and "already assigned" in again.content.decode()


def test_assigning_automatically_stores_the_explanation_and_the_user(client, world):
    user, case = world["supervisor"], world["unassigned"]
    response = signed_in(client, user).post(URL, {"action": "assign_auto", "reason": "new intake this morning"})
    assert response.status_code == 302
    assigned = Case.objects.get(pk=case.pk).officer_id
    assert assigned == world["idle"].pk                                  # the lowest capacity %
    record = AssignmentRecord.objects.get(case=case)
    assert record.method == "automatic" and record.explanation.startswith("Assigned automatically to Ada O2")
    event = events("case.assigned").get()
    assert (event.actor_id, event.details["reason"]) == (user.pk, "new intake this morning")


def test_balancing_preview_equals_the_service_and_applying_it_audits_each_move(client, world):
    user = world["supervisor"]
    client = signed_in(client, user)
    expected = staffing.balance_office(CODE, max_moves=3)
    assert expected["moves"] == 3
    preview = client.get(f"/office/{CODE}/balance/", {"max_moves": 3})
    assert preview.status_code == 200
    html = preview.content.decode()
    assert [int(r[0]) for r in rows(preview, "balance-moves")] == [m["case_id"] for m in expected["moves_detail"]]
    assert f"<dt>Fewest moves possible (proven lower bound)</dt><dd>{expected['lower_bound_moves']}</dd>" in html
    per_officer = {r[0]: r for r in rows(preview, "balance-officers")}
    assert per_officer["Ada O0"][2] == "3" and per_officer["Ada O0"][4] == f"{staffing.officer_capacity(office=CODE)[0]['capacity_pct']:.1f}"
    fragment = client.get(f"/office/{CODE}/balance/", {"max_moves": 3}, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and b"<html" not in fragment.content and b'id="balance-moves"' in fragment.content
    assert client.post(URL, {"action": "balance", "max_moves": 3, "reason": ""}).status_code == 400
    assert not AssignmentRecord.objects.exists()
    response = client.post(URL, {"action": "balance", "max_moves": 3, "reason": "Ada O0 carries six times the others"})
    assert response.status_code == 302 and response["Location"] == URL + "#balancing"
    moved = AssignmentRecord.objects.filter(method="balancing")
    assert sorted(moved.values_list("case_id", flat=True)) == sorted(m["case_id"] for m in expected["moves_detail"])
    audited = events("case.reassigned")
    assert audited.count() == 3 and set(audited.values_list("actor_id", flat=True)) == {user.pk}
    assert {e.details["reason"] for e in audited} == {"Ada O0 carries six times the others"}
    assert Case.objects.filter(officer=world["busy"], status="open").count() == 12 - 3


def test_marking_an_officer_on_leave_flags_their_cases_and_returning_ends_it(client, world):
    user, light = world["supervisor"], world["light"]
    client = signed_in(client, user)
    response = client.post(URL, {"action": "start_leave", "officer": light.pk, "leave_from": "2026-06-01",
                                 "leave_until": "2026-06-30", "reason": "medical leave"})
    assert response.status_code == 302 and response["Location"] == URL + "#roster"
    assert Officer.objects.get(pk=light.pk).status == "leave"
    event = events("officer.leave_started").get()
    assert (event.actor_id, event.details["reason"], event.details["open_cases"]) == (user.pk, "medical leave", 3)
    page = client.get(URL)
    flagged = sorted(int(r[0]) for r in rows(page, "on-leave-table"))
    assert flagged == sorted(Case.objects.filter(officer=light, status="open").values_list("id", flat=True))
    back = client.post(URL, {"action": "return", "officer": light.pk, "reason": "back early"})
    assert back.status_code == 302 and Officer.objects.get(pk=light.pk).status == "active"
    assert events("officer.returned").get().actor_id == user.pk


# --- who may --------------------------------------------------------------------------------------

def test_another_office_is_not_found_and_officers_are_refused(client, world):
    client = signed_in(client, world["supervisor"])
    for url in ("/office/BOS/", "/office/BOS/balance/", "/office/BOS/overdue/"):
        assert client.get(url).status_code == 404
    assert client.post("/office/BOS/", {"action": "assign_auto", "reason": "x"}).status_code == 404
    client.force_login(factories.user("officer", "officer.spm", officer_obj=world["busy"]))
    assert client.get(URL).status_code == 403
    assert review_hit(client, world).status_code == 403
    assert CheckIn.objects.get(pk=world["hit"].pk).hit_reviewed_on is None


def test_national_readers_see_the_page_without_its_decisions(client, world):
    client = signed_in(client, factories.user("hq_analyst", "analyst.hq"))
    response = client.get(URL)
    assert response.status_code == 200 and 'name="action"' not in response.content.decode()
    refused = review_hit(client, world)
    assert refused.status_code == 403
    assert CheckIn.objects.get(pk=world["hit"].pk).hit_reviewed_on is None and not events("checkin.hit_reviewed").exists()


def test_an_administrator_may_act(client, world):
    admin = factories.user("administrator", "admin.hq")
    assert review_hit(signed_in(client, admin), world).status_code == 302
    assert events("checkin.hit_reviewed").get().actor_id == admin.pk
