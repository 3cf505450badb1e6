"""Officers join, go on leave, return, transfer and depart: their cases are never left with someone gone."""

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core import clock
from caseload.core.errors import Conflict, UsageError
from caseload.core.models import AuditEvent
from caseload.docket.models import Case
from caseload.offices import services
from caseload.offices.models import Officer, OfficerStatus
from caseload.staffing.models import AssignmentRecord
from tests import factories

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 1)
runner = CliRunner()


@pytest.fixture(autouse=True)
def today():
    with clock.frozen(dt.datetime.combine(TODAY, dt.time(10), tzinfo=dt.UTC)):
        yield TODAY


def cli(*args):
    result = runner.invoke(app, [*args, "--format", "json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else None


def _with_cases(officer, n, office="SPM"):
    cases = [factories.case(factories.person(office), officer=officer) for _ in range(n)]
    Officer.objects.filter(pk=officer.pk).update(open_cases=n)
    return cases


def test_add_officer_through_the_cli():
    code, doc = cli("officers", "add", "Ada Lovelace", "--office", "spm", "--unit", "detained", "--weekly-hours", "32",
                    "--external-id", "DO-77")
    assert code == 0
    officer = Officer.objects.get(pk=doc["id"])
    assert (officer.first_name, officer.last_name, officer.office.code, officer.unit, float(officer.weekly_hours),
            officer.external_id, officer.status, officer.entered_on_duty) == (
        "Ada", "Lovelace", "SPM", "detained", 32.0, "DO-77", "active", TODAY)
    assert doc == {"id": officer.pk, "name": "Ada Lovelace", "office": "SPM", "unit": "detained", "status": "active",
                   "status_label": "active", "weekly_hours": 32.0, "external_id": "DO-77", "leave_from": None,
                   "leave_until": None, "departed_on": None}
    assert AuditEvent.objects.filter(action="officer.added", object_id=str(officer.pk)).count() == 1


@pytest.mark.parametrize(("args", "code", "error"), [
    (["--office", "ZZZ", "--unit", "detained"], 2, "unknown_office"),
    (["--office", "SPM", "--unit", "desk"], 2, "unknown_unit"),
    (["--office", "SPM", "--unit", "detained", "--weekly-hours", "90"], 2, "invalid_weekly_hours"),
])
def test_add_officer_refusals_write_nothing(args, code, error):
    before = (Officer.objects.count(), AuditEvent.objects.count())
    exit_code, doc = cli("officers", "add", "Ada Lovelace", *args)
    assert (exit_code, doc["error"]["code"]) == (code, error)
    assert (Officer.objects.count(), AuditEvent.objects.count()) == before


def test_external_ids_are_unique():
    services.do_add_officer(name="A One", office="SPM", external_id="X1", actor_label="t")
    with pytest.raises(Conflict) as exc:
        services.do_add_officer(name="B Two", office="SPM", external_id="X1", actor_label="t")
    assert exc.value.code == "external_id_exists"
    assert Officer.objects.filter(external_id="X1").count() == 1


def test_departure_reassigns_every_open_case_automatically_in_one_transaction():
    leaving = factories.officer("SPM", last_name="Leaving")
    light = factories.officer("SPM", last_name="Light")
    heavy = factories.officer("SPM", last_name="Heavy")
    elsewhere = factories.officer("DEN", last_name="Elsewhere")
    mine = _with_cases(leaving, 4)
    _with_cases(heavy, 6)
    closed = factories.case(factories.person("SPM"), officer=leaving, status="closed", closed_on=TODAY, close_reason="x")

    code, doc = cli("officers", "depart", str(leaving.pk), "--on", "2026-05-31", "--reassign", "auto")

    assert code == 0
    assert (doc["cases"], doc["reassigned"], doc["left_unassigned"]) == (4, 4, 0)
    assert not Case.objects.filter(officer=leaving, status="open").exists()
    # equal weights (no time log): the four cases go to the lightest officer first, never to another office
    holders = dict(Case.objects.filter(pk__in=[c.pk for c in mine]).values_list("pk", "officer_id"))
    assert set(holders.values()) == {light.pk}
    assert elsewhere.cases.count() == 0
    leaving.refresh_from_db()
    assert (leaving.status, leaving.departed_on, leaving.open_cases) == (OfficerStatus.SEPARATED, dt.date(2026, 5, 31), 0)
    assert Officer.objects.get(pk=light.pk).open_cases == 4
    records = AssignmentRecord.objects.filter(case_id__in=[c.pk for c in mine])
    assert records.count() == 4 and all(r.to_officer_id == light.pk and "lowest capacity" in r.explanation for r in records)
    assert AuditEvent.objects.filter(action="case.unassigned").count() == 4
    assert AuditEvent.objects.filter(action="officer.departed", object_id=str(leaving.pk)).count() == 1
    assert Case.objects.get(pk=closed.pk).officer_id == leaving.pk  # history of closed cases is kept


def test_departure_to_a_named_officer():
    leaving, taker = factories.officer("SPM", last_name="Leaving"), factories.officer("SPM", last_name="Taker")
    mine = _with_cases(leaving, 3)
    doc = services.do_depart(officer_id=leaving.pk, on=TODAY, reassign=str(taker.pk), actor_label="t")
    assert (doc["reassigned"], doc["left_unassigned"]) == (3, 0)
    assert set(Case.objects.filter(pk__in=[c.pk for c in mine]).values_list("officer_id", flat=True)) == {taker.pk}
    assert all("named by the supervisor" in r.explanation for r in AssignmentRecord.objects.filter(to_officer=taker))


@pytest.mark.parametrize("target_office", ["DEN", "SPM-leave"])
def test_departure_to_an_ineligible_officer_changes_nothing(target_office):
    leaving = factories.officer("SPM", last_name="Leaving")
    target = factories.officer("DEN" if target_office == "DEN" else "SPM", last_name="Target",
                               status="leave" if target_office == "SPM-leave" else "active")
    mine = _with_cases(leaving, 2)
    events = AuditEvent.objects.count()
    with pytest.raises(Conflict) as exc:
        services.do_depart(officer_id=leaving.pk, on=TODAY, reassign=str(target.pk), actor_label="t")
    assert exc.value.code == "officer_not_eligible"
    leaving.refresh_from_db()
    assert leaving.status == "active" and leaving.departed_on is None
    assert set(Case.objects.filter(pk__in=[c.pk for c in mine]).values_list("officer_id", flat=True)) == {leaving.pk}
    assert AuditEvent.objects.count() == events


def test_departure_with_nobody_eligible_leaves_cases_unassigned_not_with_the_departed():
    leaving = factories.officer("SPM", last_name="Leaving")
    factories.officer("SPM", last_name="Away", status="leave")
    mine = _with_cases(leaving, 2)
    doc = services.do_depart(officer_id=leaving.pk, on=TODAY, reassign="auto", actor_label="t")
    assert (doc["reassigned"], doc["left_unassigned"]) == (0, 2)
    assert [u["reason"] for u in doc["unassigned"]] == ["no eligible officer is active"] * 2
    assert set(Case.objects.filter(pk__in=[c.pk for c in mine]).values_list("officer_id", flat=True)) == {None}


def test_depart_refusals():
    officer = factories.officer("SPM")
    with pytest.raises(UsageError) as exc:
        services.do_depart(officer_id=officer.pk, on=TODAY + dt.timedelta(days=1), actor_label="t")
    assert exc.value.code == "date_in_future"
    services.do_depart(officer_id=officer.pk, on=TODAY, actor_label="t")
    with pytest.raises(Conflict) as exc:
        services.do_depart(officer_id=officer.pk, on=TODAY, actor_label="t")
    assert exc.value.code == "officer_departed"
    code, doc = cli("officers", "depart", "999999", "--on", "2026-06-01", "--reassign", "auto")
    assert (code, doc["error"]["code"]) == (2, "unknown_officer")


def test_officer_on_leave_keeps_cases_and_gets_no_new_ones():
    away = factories.officer("SPM", last_name="Away")
    busy = factories.officer("SPM", last_name="Busy")
    leaving = factories.officer("SPM", last_name="Leaving")
    kept = _with_cases(away, 1)
    _with_cases(busy, 5)
    _with_cases(leaving, 2)

    code, doc = cli("officers", "leave", str(away.pk), "--from", "2026-05-20", "--until", "2026-07-01")
    assert code == 0 and (doc["status"], doc["status_label"], doc["cases"]) == ("leave", "on leave until 2026-07-01", 1)
    services.do_depart(officer_id=leaving.pk, on=TODAY, actor_label="t")

    # the officer on leave has the lowest load but receives nothing; their own case stays with them
    assert away.cases.filter(status="open").count() == 1 and Case.objects.get(pk=kept[0].pk).officer_id == away.pk
    assert busy.cases.filter(status="open").count() == 7
    listed = {r["id"]: r for r in services.list_officers(office="SPM")}
    assert (listed[away.pk]["status_label"], listed[away.pk]["cases"]) == ("on leave until 2026-07-01", 1)
    assert listed[leaving.pk]["status_label"] == "departed 2026-06-01"

    code, doc = cli("overdue", "--office", "SPM")
    assert code == 0 and doc["officers_on_leave"] == [
        {"officer": away.pk, "name": "Ada Away", "office": "SPM", "leave_from": "2026-05-20", "leave_until": "2026-07-01",
         "open_cases": 1}]

    code, doc = cli("officers", "return", str(away.pk))
    assert code == 0 and doc["status"] == "active"
    assert services.officers_on_leave() == []
    away.refresh_from_db()
    assert (away.leave_from, away.leave_until) == (None, None)
    code, doc = cli("officers", "return", str(away.pk))
    assert (code, doc["error"]["code"]) == (1, "officer_not_on_leave")


def test_leave_refusals_write_nothing():
    officer = factories.officer("SPM")
    for args, error in ((["--from", "2026-06-02"], "date_in_future"),
                        (["--from", "2026-05-02", "--until", "2026-05-01"], "invalid_period")):
        code, doc = cli("officers", "leave", str(officer.pk), *args)
        assert (code, doc["error"]["code"]) == (2, error)
    officer.refresh_from_db()
    assert (officer.status, officer.leave_from) == ("active", None)


def test_transfer_moves_the_officer_and_reassigns_their_cases_in_the_old_office():
    mover, stayer = factories.officer("SPM", last_name="Mover"), factories.officer("SPM", last_name="Stayer")
    mine = _with_cases(mover, 3)
    code, doc = cli("officers", "transfer", str(mover.pk), "--office", "DEN", "--on", "2026-06-01")
    assert code == 0
    assert (doc["from_office"], doc["officer"]["office"], doc["reassigned"]) == ("SPM", "DEN", 3)
    mover.refresh_from_db()
    assert mover.office.code == "DEN" and mover.open_cases == 0
    assert set(Case.objects.filter(pk__in=[c.pk for c in mine]).values_list("officer_id", "office__code")) == {(stayer.pk, "SPM")}
    code, doc = cli("officers", "transfer", str(mover.pk), "--office", "DEN", "--on", "2026-06-01")
    assert (code, doc["error"]["code"]) == (2, "same_office")


def test_officers_list_json():
    officer = factories.officer("SPM", last_name="Zed", external_id="Z-1")
    _with_cases(officer, 2)
    code, rows = cli("officers", "list", "--office", "SPM")
    assert code == 0
    assert rows == [{"id": officer.pk, "name": "Ada Zed", "office": "SPM", "unit": "non_detained", "status": "active",
                     "status_label": "active", "leave_until": None, "departed_on": None, "external_id": "Z-1", "cases": 2}]
