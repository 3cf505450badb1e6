"""Case intake, transfer, closing, show and search: refusals write nothing; every case is owned or listed."""

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core.errors import Conflict, UsageError
from caseload.core.models import AuditEvent
from caseload.docket import intake
from caseload.docket.models import Case, CheckIn, Conviction, Person
from caseload.offices.models import Officer
from caseload.policy.services import do_load_shipped
from caseload.staffing.models import AssignmentRecord
from tests import factories

pytestmark = pytest.mark.django_db
runner = CliRunner()

OPEN = ["case", "open", "--a-number", "A123-456-789", "--family-name", "García", "--given-name", "María",
        "--birth-date", "1990-02-03", "--citizenship", "Mexico", "--office", "SPM", "--unit", "non_detained",
        "--supervision-type", "osup", "--stage", "final_order", "--final-order-date", "2025-05-01",
        "--conviction", "burglary:2018-01-09:felony:120", "--conviction", "dui:2019-04-02"]


@pytest.fixture(autouse=True)
def policy(db, today):
    do_load_shipped(actor_label="test")


def cli(*args):
    result = runner.invoke(app, [*args, "--format", "json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else None


def counts():
    return (Person.objects.count(), Case.objects.count(), Conviction.objects.count(), CheckIn.objects.count(),
            AuditEvent.objects.count(), AssignmentRecord.objects.count())


def _open(**overrides):
    fields = dict(a_number="A223-456-789", family_name="Smith", given_name="Ann", birth_date=dt.date(1980, 2, 3),
                  citizenship="GB", office="SPM", unit="non_detained", supervision_type="recognizance", stage="pending",
                  actor_label="test")
    return intake.do_open_case(**{**fields, **overrides})


def test_open_case_assigns_prioritises_and_creates_first_tasks(today):
    light, heavy = factories.officer("SPM", last_name="Light"), factories.officer("SPM", last_name="Heavy")
    factories.officer("SPM", last_name="Away", status="leave")
    for _ in range(3):
        factories.case(factories.person("SPM"), officer=heavy)

    code, doc = cli(*OPEN)

    assert code == 0
    case = Case.objects.select_related("person").get(pk=doc["case_id"])
    assert {k: doc[k] for k in ("case_id", "a_number", "office", "unit", "officer")} == {
        "case_id": case.pk, "a_number": "A123-456-789", "office": "SPM", "unit": "non_detained", "officer": light.pk}
    assert doc["assignment_reason"].startswith("Assigned automatically to Ada Light: the lowest capacity among 2 eligible")
    assert AssignmentRecord.objects.get(case=case).explanation in doc["assignment_reason"]
    person = case.person
    assert (person.a_number, person.last_name, person.first_name, person.citizenship_id) == ("123456789", "García", "María", "MX")
    assert sorted(Conviction.objects.filter(person=person).values_list("offense_category", "severity", "custody_days")) == [
        ("burglary", "felony", 120), ("dui", "misdemeanor", 0)]
    # a felony conviction: public safety under the rule set in force on 2026-06-01
    assert (case.priority, case.priority_rule_set, doc["priority"]) == ("public_safety", "dhs-2021", "public_safety")
    assert case.opened_on == today and case.next_report_due == today + dt.timedelta(days=case.reporting_cadence_days)
    assert (case.records_check_owed_since, case.derived_current, case.officer_id) == (today, True, light.pk)
    assert Officer.objects.get(pk=light.pk).open_cases == 1
    record = intake.person_record("A123456789")
    tasks = {t["task"]: t["due"] for t in record["cases"][0]["tasks"]}
    assert tasks["check_in"] == case.next_report_due.isoformat()
    assert tasks["records_check"] == today.isoformat()
    assert "assign_officer" not in tasks
    assert AuditEvent.objects.filter(action="case.opened", object_id=str(case.pk)).count() == 1


def test_open_case_with_no_eligible_officer_stays_unassigned_and_listed(today):
    factories.officer("SPM", status="leave")
    opened = _open(national_security=True)
    case = Case.objects.get(pk=opened.case_id)
    assert case.officer_id is None and opened.officer is None
    assert opened.assignment_reason.startswith("Left unassigned: no eligible officer")
    record = intake.person_record("A223456789")
    assert {"task": "assign_officer", "due": today.isoformat(), "overdue": False} in record["cases"][0]["tasks"]
    assert AuditEvent.objects.filter(action="case.left_unassigned", object_id=str(case.pk)).count() == 1


def test_detained_case_goes_to_a_detained_officer():
    factories.officer("SPM", last_name="Street")
    inside = factories.officer("SPM", last_name="Inside", unit="detained")
    opened = _open(unit="detained")
    assert opened.officer == inside.pk


def test_a_known_person_gets_a_new_case_once_the_old_one_is_closed(today):
    first = _open()
    intake.do_close_case(case_id=first.case_id, reason="terminated", on=today, actor_label="test")
    second = _open(family_name="Smith-Jones", office="DEN")
    assert second.person_id == first.person_id and not second.new_person
    assert Person.objects.get(pk=first.person_id).last_name == "Smith-Jones"
    assert list(Case.objects.filter(person_id=first.person_id).order_by("id").values_list("status", "office__code")) == [
        ("closed", "SPM"), ("open", "DEN")]
    assert [r["name"] for r in intake.search("smith jones")] == ["Smith-Jones, Ann"]
    assert intake.search("smith") == intake.search("jones")


def test_open_case_exists_refused_and_nothing_written():
    first = _open()
    before = counts()
    code, doc = cli("case", "open", "--a-number", "223456789", "--family-name", "Smith", "--given-name", "Ann",
                    "--birth-date", "1980-02-03", "--citizenship", "GB", "--office", "DEN", "--unit", "non_detained",
                    "--supervision-type", "bond", "--stage", "pending")
    assert (code, doc["error"]["code"]) == (1, "open_case_exists")
    assert doc["error"]["details"] == {"case_id": first.case_id, "office": "SPM"}
    assert f"open case {first.case_id} at SPM" in doc["error"]["message"]
    assert counts() == before


@pytest.mark.parametrize(("change", "error"), [
    (("--a-number", "A123-45"), "invalid_a_number"),
    (("--a-number", "000000000"), "invalid_a_number"),
    (("--citizenship", "Atlantis"), "unknown_country"),
    (("--office", "XYZ"), "unknown_office"),
    (("--unit", "desk"), "unknown_unit"),
    (("--stage", "removed"), "invalid_stage"),
    (("--birth-date", "2030-01-01"), "date_in_future"),
    (("--conviction", "jaywalking:2019-01-01"), "unknown_offense_category"),
    (("--conviction", "dui"), "invalid_conviction"),
])
def test_bad_input_exits_2_and_writes_nothing(change, error):
    args = list(OPEN)
    flag, value = change
    if flag == "--conviction":
        args = args[:args.index("--conviction")] + [flag, value]
    else:
        args[args.index(flag) + 1] = value
    before = counts()
    code, doc = cli(*args)
    assert (code, doc["error"]["code"]) == (2, error)
    assert counts() == before


def test_final_order_date_must_match_the_stage():
    with pytest.raises(UsageError) as exc:
        _open(stage="final_order")
    assert exc.value.code == "final_order_date_required"
    with pytest.raises(UsageError) as exc:
        _open(final_order_date=dt.date(2025, 1, 1))
    assert exc.value.code == "final_order_date_not_allowed"
    assert Case.objects.count() == 0


def test_close_refuses_dates_before_opening_or_in_the_future(today):
    officer = factories.officer("SPM")
    opened = _open()
    before = counts()
    for on, error in ((today - dt.timedelta(days=1), "date_before_opening"), (today + dt.timedelta(days=1), "date_in_future")):
        code, doc = cli("case", "close", str(opened.case_id), "--reason", "departed", "--on", on.isoformat())
        assert (code, doc["error"]["code"]) == (2, error)
    code, doc = cli("case", "close", str(opened.case_id), "--reason", "left", "--on", today.isoformat())
    assert (code, doc["error"]["code"]) == (2, "invalid_close_reason")
    assert counts() == before

    code, doc = cli("case", "close", str(opened.case_id), "--reason", "deceased", "--on", today.isoformat())
    assert code == 0
    assert (doc["status"], doc["close_reason"], doc["closed_on"]) == ("closed", "deceased", today.isoformat())
    assert Officer.objects.get(pk=officer.pk).open_cases == 0
    code, doc = cli("case", "close", str(opened.case_id), "--reason", "deceased", "--on", today.isoformat())
    assert (code, doc["error"]["code"]) == (1, "case_closed")


def test_removed_goes_through_the_due_process_guards(today):
    opened = _open(stage="final_order", final_order_date=dt.date(2025, 1, 1))
    Case.objects.filter(pk=opened.case_id).update(stay_of_removal_until=today + dt.timedelta(days=30))
    with pytest.raises(Conflict) as exc:
        intake.do_close_case(case_id=opened.case_id, reason="removed", on=today, actor_label="test")
    assert exc.value.code == "stay_in_effect"
    assert Case.objects.get(pk=opened.case_id).status == "open"


def test_transfer_moves_the_case_with_its_history_and_assigns_it_there():
    here, there = factories.officer("SPM", last_name="Here"), factories.officer("DEN", last_name="There")
    opened = _open()
    assert opened.officer == here.pk
    check_ins = CheckIn.objects.filter(case_id=opened.case_id).count()
    code, doc = cli("case", "transfer", str(opened.case_id), "--office", "DEN", "--reason", "moved to Denver")
    assert code == 0
    assert (doc["from_office"], doc["office"], doc["from_officer"], doc["officer"]) == ("SPM", "DEN", here.pk, there.pk)
    case = Case.objects.select_related("person").get(pk=opened.case_id)
    assert (case.office.code, case.person.office.code, case.officer_id) == ("DEN", "DEN", there.pk)
    assert CheckIn.objects.filter(case_id=case.pk).count() == check_ins == 1
    assert (Officer.objects.get(pk=here.pk).open_cases, Officer.objects.get(pk=there.pk).open_cases) == (0, 1)
    code, doc = cli("case", "transfer", str(opened.case_id), "--office", "DEN", "--reason", "again")
    assert (code, doc["error"]["code"]) == (2, "same_office")


def test_show_and_search_are_audited_reads():
    opened = _open()
    _open(a_number="A223-456-700", family_name="Smithers", given_name="Bo")
    _open(a_number="A923-456-789", family_name="Jones", given_name="Ann")
    code, doc = cli("case", "show", "A223-456-789")
    assert code == 0
    assert (doc["a_number"], doc["name"], [c["case_id"] for c in doc["cases"]]) == ("A223-456-789", "Smith, Ann", [opened.case_id])
    assert doc["cases"][0]["check_ins"][0]["note"] == intake.INTAKE_NOTE
    read = AuditEvent.objects.filter(action="case.read").latest("id")
    assert (read.details["via"], read.details["cases"], read.details["a_numbers"]) == ("case show", [opened.case_id], ["223456789"])

    code, rows = cli("case", "search", "smi")
    assert [r["a_number"] for r in rows] == ["A223-456-789", "A223-456-700"]
    assert set(rows[0]) == {"a_number", "name", "case_id", "office", "officer", "stage", "status"}
    listed = AuditEvent.objects.filter(action="case.list").latest("id")
    assert listed.details["a_numbers"] == ["223456789", "223456700"]
    code, rows = cli("case", "search", "A223-456")
    assert [r["a_number"] for r in rows] == ["A223-456-700", "A223-456-789"]
    code, rows = cli("case", "search", "ann", "--limit", "1")
    assert [r["name"] for r in rows] == ["Jones, Ann"]
    code, rows = cli("case", "search", "ann", "--office", "DEN")
    assert rows == []
    code, doc = cli("case", "show", "A999-999-999")
    assert (code, doc["error"]["code"]) == (2, "unknown_a_number")


def test_search_finds_people_written_by_a_bulk_load():
    p = factories.person("SPM", first_name="Zinedine", last_name="Okafor")  # written without the index
    factories.case(p)
    assert [r["name"] for r in intake.search("okaf")] == ["Okafor, Zinedine"]
