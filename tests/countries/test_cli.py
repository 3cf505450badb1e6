"""``caseload countries …`` through Typer's runner: documented JSON keys, formats and errors."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core import clock
from caseload.core.models import AuditEvent
from caseload.countries.models import ForeseeabilityReview, TravelDocumentEscalation, TravelDocumentRequest
from caseload.docket import anumber
from tests import factories
from tests.countries.builders import TODAY, days_ago, final_order_case, history
from tests.countries.extracts import REMOVALS_HEADER, extract_text, removal, write

pytestmark = pytest.mark.django_db
runner = CliRunner()


@pytest.fixture(autouse=True)
def today():
    with clock.frozen(TODAY):
        yield TODAY


def run(*args: str):
    return runner.invoke(app, ["countries", *args], catch_exceptions=False)


def run_json(*args: str):
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_removals_and_durations(tmp_path):
    runner.invoke(app, ["import", "ice-extract", str(write(tmp_path / "r.csv.gz", extract_text(REMOVALS_HEADER, [removal()])))],
                  catch_exceptions=False)
    doc = run_json("removals", "--fiscal-year", "2016")
    assert set(doc) == {"fiscal_year", "total", "by_country", "by_office", "by_country_disposition"}
    assert set(doc["by_country"][0]) == {"country", "removals", "median_days", "p90_days"}
    assert set(doc["by_office"][0]) == {"office", "removals"}
    assert set(doc["by_country_disposition"][0]) == {"country", "disposition", "removals", "median_days", "p90_days"}
    out = tmp_path / "durations.json"
    durations = run_json("durations", "--out", str(out))
    assert json.loads(out.read_text()) == durations and durations["by_tier"]["cooperative"]["removals"] == 1
    assert "Removals FY2016" in run("removals").stdout


def test_report_json_rows_have_exactly_the_documented_keys():
    final_order_case("HT")
    rows = run_json("report", "--as-of", "2026-06-01")
    assert all(set(r) == {"country", "tier", "tier_source", "tier_effective_on", "tier_estimate", "suggested_tier",
                          "suggested_tier_held_back", "open_final_orders", "pending_requests",
                          "median_days_to_issue", "refusal_rate", "pending_over_90_days", "quota_remaining"} for r in rows)
    assert rows[0]["country"] == "HT" and rows[0]["open_final_orders"] == 1
    bad = run("report", "--as-of", "June 1st")
    assert bad.exit_code == 2 and "--as-of must be a date" in bad.stderr


def test_travel_document_lifecycle_from_the_command_line():
    case = final_order_case("HT")
    requested = run_json("td", "request", str(case.pk))
    assert (requested["status"], requested["country"], requested["a_number"]) == (
        "requested", "HT", anumber.display(case.person.a_number))
    rid = str(requested["id"])
    assert run_json("td", "interview", rid, "--on", "2026-06-15")["interview_on"] == "2026-06-15"
    refused = run_json("td", "refuse", rid, "--reason", "identity not established")
    assert refused["status"] == "refused" and [e["step"] for e in refused["escalations"]] == ["consulate_contact"]
    task = str(refused["escalations"][0]["id"])
    closed = run_json("task", "close", task, "--outcome", "unresolved", "--note", "consulate did not answer")
    assert closed["status"] == "unresolved" and [t["step"] for t in closed["tasks"]] == ["consulate_contact",
                                                                                        "headquarters_review"]
    listed = run_json("task", "list", "--country", "HT")
    assert [t["step"] for t in listed] == ["headquarters_review"]
    again = run_json("td", "request", str(case.pk))
    issued = run_json("td", "issue", str(again["id"]), "--expires", "2026-12-01")
    assert issued["status"] == "issued" and issued["queue_position"] is None
    assert run_json("td", "show", str(again["id"]))["expires_on"] == "2026-12-01"
    assert run_json("task", "list", "--status", "resolved")[0]["step"] == "headquarters_review"
    labels = set(AuditEvent.objects.values_list("actor_label", flat=True))
    assert {"cli:countries td request", "cli:countries td refuse", "cli:countries task close"} <= labels


def test_a_guarded_request_fails_with_the_guards_code_and_changes_nothing():
    case = final_order_case("HT", stay_of_removal_until=dt.date(2026, 12, 31))
    result = run("td", "request", str(case.pk), "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "stay_in_effect"
    assert "stay of removal is in effect until 2026-12-31" in result.stderr
    assert not TravelDocumentRequest.objects.exists()


def test_unknown_ids_are_clear_errors():
    assert "no case with id 999999" in run("td", "request", "999999").stderr
    assert "no travel-document request with id 999999" in run("td", "show", "999999").stderr
    assert "no country 'Atlantis'" in run("escalation", "Atlantis").stderr


def test_tier_set_and_history_and_queue():
    doc = run_json("tier", "set", "HT", "uncooperative", "--effective", "2026-05-01", "--source", "ICE notice (test)")
    assert doc["tier"] == "uncooperative" and doc["history"][-1]["source"] == "ICE notice (test)"
    assert run_json("tier", "history", "Haiti")["history"][0]["effective_on"] == "2016-08-01"
    bad = run("tier", "set", "HT", "restricted", "--effective", "2026-05-02", "--source", "x")
    assert bad.exit_code == 2 and "--quota" in bad.stderr
    history(final_order_case("CN"), requested_on=days_ago(3))
    queue = run_json("td", "queue", "CN")
    assert (queue["quota"], queue["quota_remaining"], len(queue["queue"])) == (1200, 1200, 1)
    assert set(queue["queue"][0]) == {"position", "request", "case", "a_number", "office", "requested_on", "status",
                                      "within_quota"}


def test_sweep_escalation_package_formats_and_reviews():
    case = final_order_case("CU", final_order_date=days_ago(300))
    history(case, requested_on=days_ago(200))
    sweep = run_json("sweep")
    assert sweep == {"as_of": "2026-06-01", "documents_expired": 0, "escalations_resolved": 0, "escalations_opened": 1,
                     "escalations_lapsed": 0, "next_steps_opened": 0, "reviews_flagged": 1}
    assert TravelDocumentEscalation.objects.count() == ForeseeabilityReview.objects.count() == 1

    package = run_json("escalation", "CU")
    assert set(package) == {"country", "name", "as_of", "tier", "suggested_tier", "counts", "ageing", "refusal_history",
                            "cases"}
    assert package["cases"][0]["a_number"] == anumber.display(case.person.a_number)
    csv_out = run("escalation", "CU", "--format", "csv").stdout
    assert csv_out.splitlines()[0].startswith("a_number,office,final_order_date") and len(csv_out.splitlines()) == 2
    assert run("escalation", "CU", "--format", "html").stdout.startswith("<!doctype html>")
    assert "Cases" in run("escalation", "CU").stdout
    assert AuditEvent.objects.filter(action="case.list", details__export="countries.escalation_package").count() == 4

    reviews = run_json("review", "list")
    assert [r["case"] for r in reviews] == [case.pk]
    shown = run_json("review", "show", str(reviews[0]["id"]))
    assert shown["reasons"] == ["country_tier", "no_document"]
    factories.user("supervisor", "sup.was", office_code="WAS")
    rationale = " ".join(["Cuba accepted no returns this year and the consulate confirmed no document will issue;"] * 3)
    decide = ("review", "decide", str(reviews[0]["id"]), "--decision", "removal_not_foreseeable", "--rationale", rationale,
              "--by", "sup.was", "--consulate-contacted-on", "2026-05-20", "--escalation-level", "consulate_contact",
              "--risk", "low")
    refused = run(*decide, "--format", "json")                  # criminal history not confirmed
    assert refused.exit_code == 2 and json.loads(refused.stdout)["error"]["code"] == "review_incomplete"
    unknown = run(*decide[:-8], "--by", "nobody", "--criminal-history-reviewed", "--format", "json")
    assert unknown.exit_code == 2 and json.loads(unknown.stdout)["error"]["code"] == "unknown_user"
    decided = run_json(*decide, "--criminal-history-reviewed")
    assert (decided["status"], decided["decided_by"], decided["checklist"]) == (
        "decided", "sup.was", {"criminal_history_reviewed": True, "consulate_contacted_on": "2026-05-20",
                               "escalation_level": "consulate_contact", "risk_assessment": "low"})
    assert run_json("review", "list") == []
