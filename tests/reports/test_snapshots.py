"""`caseload snapshot take|list`: the headline figures of a date, stored once per date."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core import clock
from caseload.core.models import AuditEvent
from caseload.docket.models import Case
from caseload.reports.models import Snapshot

pytestmark = pytest.mark.django_db
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_take_stores_the_services_figures_once_per_date(docket):
    from caseload.docket.services import summary
    from caseload.docket.worklist import overdue_summary
    from caseload.staffing.services import officer_capacity
    from caseload.training.services import compliance

    first = run("snapshot", "take", "--format", "json")
    assert first.exit_code == 0, first.output
    doc = json.loads(first.stdout)
    today = clock.today()
    figures = doc["figures"]
    expected = summary()
    overdue = overdue_summary(as_of=today)
    assert doc["as_of"] == today.isoformat() and doc["created"] is True
    assert figures["docket"]["cases"] == expected["cases"] and figures["docket"]["officers"] == expected["officers"]
    assert figures["docket"]["by_office"] == expected["by_office"]
    assert figures["overdue"]["total"] == overdue["totals"]["overdue"]
    assert figures["overdue"]["by_task"] == overdue["totals"]["by_task"]
    assert figures["unassigned_cases"] == len(overdue["unassigned_cases"])
    assert figures["stale_national_security"] == len(overdue["stale_national_security_cases"])
    assert figures["training"]["by_office"] == compliance(as_of=today)["offices"]
    assert sum(b["officers"] for b in figures["capacity"]["bands"]) == figures["capacity"]["officers"]
    capacity = sorted(r["capacity_pct"] for r in officer_capacity() if r["status"] == "active" and r["capacity_pct"] is not None)
    assert figures["capacity"]["officers"] == len(capacity) > 0
    assert figures["capacity"]["max_pct"] == capacity[-1]
    assert figures["capacity"]["over_100"] == sum(1 for v in capacity if v > 100)
    assert figures["not_dated"] == []

    events = AuditEvent.objects.count()
    again = json.loads(run("snapshot", "take", "--format", "json").stdout)
    assert again["created"] is False and again["figures"] == figures and again["taken_at"] == doc["taken_at"]
    assert Snapshot.objects.count() == 1 and AuditEvent.objects.count() == events

    listed = json.loads(run("snapshot", "list", "--format", "json").stdout)
    assert listed == [{"as_of": today.isoformat(), "taken_at": doc["taken_at"], "taken_by": "cli:snapshot take",
                       "cases": expected["cases"], "officers": expected["officers"],
                       "overdue": overdue["totals"]["overdue"], "not_dated": []}]


def test_an_earlier_date_counts_the_cases_open_then_and_leaves_present_only_figures_out(docket):
    day = clock.today() - dt.timedelta(days=200)
    doc = json.loads(run("snapshot", "take", "--as-of", day.isoformat(), "--format", "json").stdout)
    figures = doc["figures"]
    open_then = Case.objects.filter(unit="non_detained", opened_on__lte=day).exclude(closed_on__lte=day).count()
    assert figures["docket"]["cases"] == open_then
    assert figures["overdue"] is None and figures["capacity"] is None and figures["unassigned_cases"] is None
    assert figures["not_dated"] == ["overdue", "unassigned_cases", "stale_national_security", "capacity"]
    assert Snapshot.objects.get(as_of=day).figures == figures


def test_history_takes_the_first_of_each_month_since_the_time_log_begins(docket):
    from caseload.workload.models import TimeLogEntry

    first = TimeLogEntry.objects.order_by("started_at").values_list("started_at", flat=True).first().date()
    result = run("snapshot", "take", "--history", "--format", "json")
    assert result.exit_code == 0, result.output
    dates = [r["as_of"] for r in json.loads(result.stdout)["snapshots"]]
    assert dates[0] == dt.date(first.year, first.month, 1).isoformat() and dates[-1] == clock.today().isoformat()
    assert all(d.endswith("-01") for d in dates[:-1]) and len(dates) == len(set(dates))
    assert sorted(dates) == dates == [s.isoformat() for s in Snapshot.objects.values_list("as_of", flat=True)]
    again = json.loads(run("snapshot", "take", "--history", "--format", "json").stdout)["snapshots"]
    assert not any(r["created"] for r in again) and Snapshot.objects.count() == len(dates)


def test_a_future_or_malformed_date_is_refused_and_nothing_is_stored(docket):
    future = (clock.today() + dt.timedelta(days=1)).isoformat()
    result = run("snapshot", "take", "--as-of", future, "--format", "json")
    assert result.exit_code == 2 and json.loads(result.stdout)["error"]["code"] == "date_in_future"
    bad = run("snapshot", "take", "--as-of", "2026-13-01", "--format", "json")
    assert bad.exit_code == 2
    assert Snapshot.objects.count() == 0
