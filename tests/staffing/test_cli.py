"""``caseload workload weights`` and ``caseload staffing plan`` through Typer's runner."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.staffing.models import CaseWeightSet
from tests import factories
from tests.staffing.test_services import _log

pytestmark = pytest.mark.django_db
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [*args, "--format", "json"], catch_exceptions=False)


def test_weights_outside_the_time_log_exit_2_with_the_code():
    officer = factories.officer("SPM")
    _log(officer, dt.date(2016, 9, 30), case=factories.case(factories.person("SPM"), officer=officer))
    result = run("workload", "weights", "--from", "2025-01-01", "--to", "2026-01-01", "--save")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "no_time_log_in_period"
    assert not CaseWeightSet.objects.exists()


def test_weights_default_period_and_plan_report_what_they_used():
    officer = factories.officer("SPM")
    case = factories.case(factories.person("SPM"), officer=officer, opened_on=dt.date(2015, 1, 1))
    _log(officer, dt.date(2016, 9, 30), case=case, minutes=500)
    weights = run("workload", "weights", "--group-by", "supervision_type", "--save")
    assert weights.exit_code == 0, weights.stderr
    doc = json.loads(weights.stdout)
    assert doc["period"] == {"from": "2015-10-01", "to": "2016-10-01"}
    assert doc["weights"][0]["minutes_per_case_month"] > 0

    plan = run("staffing", "plan", "--hires", "2")
    assert plan.exit_code == 0, plan.stderr
    national = json.loads(plan.stdout)["national"]
    assert national["weights"]["set"] == doc["saved_as"]
    assert national["weights"]["period"] == doc["period"]
    assert national["year_value"]["training_hours_source"] == "default"
    assert national["allocation"]["hires_placed"] == 2
