"""``caseload forecast run|compare``: JSON shape, determinism, refusals that change nothing."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.forecast.scenario import EXAMPLE_FILE

runner = CliRunner()
MEASURES = {"open_cases", "final_orders", "removals", "cases_per_officer", "capacity_pct", "fte_need", "officers",
            "overdue_hours"}


def forecast(*args: str):
    return runner.invoke(app, ["forecast", *args, "--format", "json"], catch_exceptions=False)


def ok(result) -> dict:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_run_prints_the_documented_document(docket):
    doc = ok(forecast("run", "--months", "4", "--reps", "30", "--seed", "9"))
    assert set(doc) == {"months", "reps", "seed", "scenario", "executor", "parameters", "national", "by_office", "seconds"}
    assert (doc["months"], doc["reps"], doc["seed"], doc["executor"]) == (4, 30, 9, "local")
    assert doc["scenario"] == {"id": "baseline", "title": "Today's docket and rates, no hires, no changes", "file": None}
    assert [r["month"] for r in doc["national"]] == [1, 2, 3, 4]
    for row in doc["national"]:
        assert set(row) == {"month"} | MEASURES
        for name in MEASURES:
            assert set(row[name]) == {"p10", "p50", "p90"}
            assert row[name]["p10"] <= row[name]["p50"] <= row[name]["p90"]
    assert len(doc["by_office"]) == 24 and {"office", "months"} == set(doc["by_office"][0])
    was = next(o for o in doc["by_office"] if o["office"] == "WAS")
    assert len(was["months"]) == 4 and set(was["months"][0]) == {"month"} | MEASURES
    national_open = doc["national"][0]["open_cases"]["p50"]
    assert 80 <= national_open <= 100           # 86 open today, a handful in and out in a month
    # the same seed gives the same document
    again = ok(forecast("run", "--months", "4", "--reps", "30", "--seed", "9"))
    assert {k: v for k, v in again.items() if k != "seconds"} == {k: v for k, v in doc.items() if k != "seconds"}


def test_compare_gives_both_medians_and_the_difference(docket, tmp_path):
    hires = tmp_path / "hires.toml"
    hires.write_text('id = "hire-was"\ntitle = "Six hires in WAS"\n[[hires]]\noffice = "WAS"\nmonth = 2\ncount = 6\n'
                     "[officers]\nramp_months = 1\n")
    doc = ok(forecast("compare", "--scenario", "baseline", "--scenario", str(hires), "--months", "3", "--reps", "20"))
    assert set(doc) == {"months", "reps", "seed", "scenarios", "national", "by_office", "seconds"}
    assert [s["id"] for s in doc["scenarios"]] == ["baseline", "hire-was"]
    for row in doc["national"]:
        for cell in (row[k] for k in row if k != "month"):
            assert set(cell) == {"a", "b", "difference"}
            if cell["a"] is not None and cell["b"] is not None:
                assert cell["difference"] == pytest.approx(cell["b"] - cell["a"], abs=0.11)
    was = next(o for o in doc["by_office"] if o["office"] == "WAS")["months"]
    assert was[0]["cases_per_officer"]["difference"] == 0
    assert was[1]["cases_per_officer"]["difference"] < 0         # 3 officers become 9 in month 2
    assert was[1]["fte_need"]["difference"] == pytest.approx(0, abs=0.11)


def test_compare_needs_two_scenarios(docket):
    result = forecast("compare", "--scenario", "baseline", "--months", "2", "--reps", "2")
    assert result.exit_code == 2 and json.loads(result.stdout)["error"]["code"] == "two_scenarios_needed"


def test_an_invalid_scenario_is_refused_with_every_problem_and_nothing_changes(docket, tmp_path):
    from caseload.core.models import AuditEvent
    from caseload.staffing.models import CaseWeightSet

    bad = tmp_path / "bad.toml"
    bad.write_text('id = "Bad"\ntitle = "t"\nweights = "guessed"\n[[hires]]\noffice = "XXX"\nmonth = 0\ncount = 2\n'
                   '[[tier_changes]]\ncountry = "CN"\ntier = "restricted"\nmonth = 3\n[rates]\npending_relief = 1.5\n')
    events, sets = AuditEvent.objects.count(), CaseWeightSet.objects.count()
    result = forecast("run", "--scenario", str(bad), "--months", "2", "--reps", "2")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "invalid_scenario"
    assert [(p["field"], p["line"]) for p in error["details"]["problems"]] == [
        ("id", 1), ("weights", 3), ("hires[0].office", 5), ("hires[0].month", 6), ("tier_changes[0].quota", 8),
        ("rates.pending_relief", None)]
    assert error["details"]["problems"][4]["message"] == "a change to the restricted tier needs the annual quota"
    assert (AuditEvent.objects.count(), CaseWeightSet.objects.count()) == (events, sets)


def test_the_shipped_example_scenario_is_valid(docket):
    from caseload.forecast import services
    from caseload.policy.services import do_load_shipped

    do_load_shipped(actor_label="test")
    scenario = services.load_scenario(EXAMPLE_FILE)
    assert scenario.id == "example-hiring-and-cooperation" and len(scenario.hires) == 5
    assert [(c.country, c.tier, c.month) for c in scenario.tier_changes] == [("CN", "cooperative", 12)]


@pytest.mark.parametrize(("args", "code"), [
    (("--executor", "spark"), "invalid_executor"),
    (("--scheduler", "tcp://127.0.0.1:1"), "scheduler_needs_dask"),
    (("--months", "0"), "invalid_months"),
    (("--reps", "0"), "invalid_reps"),
    (("--scenario", "/nonexistent/s.toml"), "unreadable_file"),
])
def test_bad_options_are_usage_errors(docket, args, code):
    result = forecast("run", *args)
    assert result.exit_code == 2 and json.loads(result.stdout)["error"]["code"] == code


@pytest.mark.slow
def test_the_dask_executor_prints_the_local_document(docket):
    local = ok(forecast("run", "--months", "3", "--reps", "12", "--seed", "5"))
    dask = ok(forecast("run", "--months", "3", "--reps", "12", "--seed", "5", "--executor", "dask"))
    assert dask["executor"] == "dask"
    assert (dask["national"], dask["by_office"]) == (local["national"], local["by_office"])


def test_staffing_plan_with_a_horizon_reports_todays_and_the_horizons_need(docket):
    today = ok(runner.invoke(app, ["staffing", "plan", "--format", "json"], catch_exceptions=False))
    result = runner.invoke(app, ["staffing", "plan", "--hires", "2", "--horizon-months", "6", "--format", "json"],
                           catch_exceptions=False)
    doc = ok(result)
    assert [o["fte_need"] for o in doc["offices"]] == [o["fte_need"] for o in today["offices"]]
    horizon = doc["horizon"]
    assert (horizon["months"], horizon["scenario"]["id"]) == (6, "baseline")
    assert set(horizon["national"]) == {"cases", "fte_need", "officers", "gap", "hires"} and horizon["national"]["hires"] == 2
    was = next(o for o in horizon["offices"] if o["office"] == "WAS")
    assert set(was) == {"office", "cases", "fte_need", "officers", "gap", "hires"} and was["cases"] > 0
    refused = runner.invoke(app, ["staffing", "plan", "--scenario", str(EXAMPLE_FILE), "--format", "json"])
    assert refused.exit_code == 2 and json.loads(refused.stdout)["error"]["code"] == "scenario_needs_horizon"
