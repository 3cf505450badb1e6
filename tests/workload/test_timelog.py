"""Workload capture: recording minutes (defaults, edits, collateral duties) and the summary."""

import datetime as dt
import json

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core import clock
from caseload.core.errors import NotFound, UsageError
from caseload.core.models import AuditEvent
from caseload.workload.activities import activities
from caseload.workload.models import TimeLogEntry
from caseload.workload.services import do_correct_minutes, do_record_time, timelog_summary
from tests import factories

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 1, 14, 30, tzinfo=dt.UTC)
COLLATERAL = sorted(code for code, a in activities().items() if a.collateral)
CASE_WORK = sorted(code for code, a in activities().items() if not a.collateral)


@pytest.fixture
def officer():
    return factories.officer("WAS")


def test_a_collateral_duty_is_recorded_without_a_case_at_its_default_minutes(officer):
    with clock.frozen(NOW):
        entry = do_record_time(officer=officer, activity="walk_in", actor_label="test")
    stored = TimeLogEntry.objects.get(pk=entry.pk)
    assert (stored.officer_id, stored.office_id, stored.case_id, stored.activity, stored.minutes,
            stored.default_minutes_used, stored.started_at) == (officer.pk, officer.office_id, None, "walk_in", 15, True, NOW)
    event = AuditEvent.objects.get(action="timelog.recorded", object_id=str(entry.pk))
    assert event.details == {"officer": officer.pk, "activity": "walk_in", "case": None, "minutes": 15,
                             "default_minutes_used": True}


def test_case_work_is_recorded_on_its_case_with_the_minutes_entered(officer):
    case = factories.case(officer=officer)
    entry = do_record_time(officer=officer, activity="home_visit", case=case, minutes=140, actor_label="test")
    assert (entry.case_id, entry.minutes, entry.default_minutes_used) == (case.pk, 140, False)


@pytest.mark.parametrize("activity, with_case, minutes, code", [
    ("walk_in", True, None, "collateral_has_no_case"),
    ("escort", True, 60, "collateral_has_no_case"),
    ("check_in", False, None, "case_required"),
    ("coffee", False, 5, "unknown_activity"),
    ("phone_call", False, 0, "invalid_minutes"),
    ("duty_officer", False, 1441, "invalid_minutes"),
])
def test_bad_entries_are_refused_and_nothing_is_written(officer, activity, with_case, minutes, code):
    case = factories.case(officer=officer) if with_case else None
    before = (TimeLogEntry.objects.count(), AuditEvent.objects.count())
    with pytest.raises(UsageError) as err:
        do_record_time(officer=officer, activity=activity, case=case, minutes=minutes, actor_label="test")
    assert err.value.code == code
    assert (TimeLogEntry.objects.count(), AuditEvent.objects.count()) == before


def test_minutes_are_editable_with_a_reason(officer):
    entry = do_record_time(officer=officer, activity="phone_call", actor_label="test")
    with pytest.raises(UsageError):
        do_correct_minutes(entry_id=entry.pk, minutes=25, reason=" ", actor_label="test")
    with pytest.raises(NotFound):
        do_correct_minutes(entry_id=entry.pk + 1000, minutes=25, reason="typo", actor_label="test")
    do_correct_minutes(entry_id=entry.pk, minutes=25, reason="call with the consulate ran long", actor_label="test")
    stored = TimeLogEntry.objects.get(pk=entry.pk)
    assert (stored.minutes, stored.default_minutes_used) == (25, False)
    event = AuditEvent.objects.get(action="timelog.corrected")
    assert event.details == {"minutes_before": 10, "minutes": 25, "reason": "call with the consulate ran long"}


ENTRY = st.tuples(st.sampled_from(CASE_WORK + COLLATERAL), st.integers(1, 1440), st.integers(0, 3), st.integers(0, 9))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(entries=st.lists(ENTRY, max_size=25), window=st.tuples(st.integers(0, 9), st.integers(0, 9)),
       office=st.sampled_from([None, "WAS", "ATL"]))
def test_summary_sums_match_the_inserted_entries(entries, window, office):
    with transaction.atomic():
        officers = [factories.officer("WAS"), factories.officer("WAS"), factories.officer("ATL"), factories.officer("ATL")]
        cases = {o.pk: factories.case(factories.person(o.office.code), officer=o) for o in officers}
        start = dt.date(2026, 3, 1)
        rows = []
        for activity, minutes, who, day in entries:
            o = officers[who]
            at = dt.datetime.combine(start + dt.timedelta(days=day), dt.time(23, 59), tzinfo=dt.UTC)
            case = None if activities()[activity].collateral else cases[o.pk]
            do_record_time(officer=o, activity=activity, case=case, minutes=minutes, started_at=at, actor_label="test")
            rows.append((o, activity, minutes, start + dt.timedelta(days=day)))
        lo, hi = sorted(window)
        date_from, date_to = start + dt.timedelta(days=lo), start + dt.timedelta(days=hi)
        doc = timelog_summary(office=office, date_from=date_from, date_to=date_to)
        kept = [r for r in rows if date_from <= r[3] <= date_to and (office is None or r[0].office.code == office)]
        total = sum(r[2] for r in kept)
        collateral = sum(r[2] for r in kept if activities()[r[1]].collateral)
        assert (doc["entries"], doc["minutes"], doc["collateral_minutes"], doc["case_minutes"]) == (
            len(kept), total, collateral, total - collateral)
        assert doc["collateral_share"] == (round(collateral / total, 4) if total else None)
        assert {a["activity"]: (a["entries"], a["minutes"]) for a in doc["by_activity"]} == {
            act: (sum(1 for r in kept if r[1] == act), sum(r[2] for r in kept if r[1] == act)) for act in {r[1] for r in kept}}
        assert {o["officer"]: (o["minutes"], o["collateral_minutes"]) for o in doc["by_officer"]} == {
            o.pk: (sum(r[2] for r in kept if r[0] == o), sum(r[2] for r in kept if r[0] == o and activities()[r[1]].collateral))
            for o in {r[0] for r in kept}}
        transaction.set_rollback(True)


def test_summary_refuses_a_reversed_period():
    with pytest.raises(UsageError) as err:
        timelog_summary(date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 1, 1))
    assert err.value.code == "invalid_period"


def test_timelog_commands(officer):
    runner = CliRunner()
    case = factories.case(officer=officer)
    rec = runner.invoke(app, ["timelog", "record", "--officer", str(officer.pk), "--activity", "escort",
                              "--at", "2026-05-04T08:00", "--format", "json"])
    assert rec.exit_code == 0, rec.stderr
    doc = json.loads(rec.stdout)
    assert (doc["activity"], doc["minutes"], doc["case_id"], doc["default_minutes_used"]) == ("escort", 180, None, True)
    assert doc["started_at"] == "2026-05-04T08:00:00+00:00"
    rec2 = runner.invoke(app, ["timelog", "record", "--officer", str(officer.pk), "--activity", "case_review",
                               "--case", str(case.pk), "--minutes", "35", "--at", "2026-05-05T09:00", "--format", "json"])
    assert rec2.exit_code == 0, rec2.stderr
    corr = runner.invoke(app, ["timelog", "correct", str(doc["entry"]), "--minutes", "200", "--reason", "long escort",
                               "--format", "json"])
    assert json.loads(corr.stdout) == {"entry": doc["entry"], "minutes": 200}
    summary = runner.invoke(app, ["timelog", "summary", "--office", "WAS", "--from", "2026-05-01", "--to", "2026-05-31",
                                  "--format", "json"])
    assert summary.exit_code == 0, summary.stderr
    got = json.loads(summary.stdout)
    assert set(got) == {"office", "from", "to", "entries", "minutes", "case_minutes", "collateral_minutes", "case_share",
                        "collateral_share", "by_activity", "by_officer"}
    assert (got["minutes"], got["case_minutes"], got["collateral_minutes"], got["collateral_share"]) == (235, 35, 200, 0.8511)
    assert got["by_officer"] == [{"officer": officer.pk, "name": officer.name, "office": "WAS", "entries": 2, "minutes": 235,
                                  "case_minutes": 35, "collateral_minutes": 200, "collateral_share": 0.8511}]
    bad = runner.invoke(app, ["timelog", "record", "--officer", str(officer.pk), "--activity", "walk_in",
                              "--case", str(case.pk), "--format", "json"])
    assert bad.exit_code == 2 and json.loads(bad.stdout)["error"]["code"] == "collateral_has_no_case"
    acts = json.loads(runner.invoke(app, ["timelog", "activities", "--format", "json"]).stdout)
    assert {a["activity"]: (a["collateral"], a["default_minutes"]) for a in acts}["walk_in"] == (True, 15)
