"""Reporting-cadence tables: validation, and applying a new version to the docket."""

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core.errors import NotFound
from caseload.core.models import AuditEvent
from caseload.docket.models import Case
from caseload.policy import services
from caseload.policy.cadence import do_apply_cadence
from caseload.policy.models import CadenceTable
from tests.policy.conftest import make_case

pytestmark = pytest.mark.django_db
DAY = dt.date(2023, 1, 1)


def cadence(case) -> tuple:
    return Case.objects.filter(pk=case.pk).values_list("reporting_cadence_days", "next_report_due", "version").get()


def test_shipped_tables_cover_the_periods_without_overlap(shipped):
    rows = services.list_cadence_tables()
    assert [(r["id"], r["effective_from"], r["effective_to"], r["priority_rule_set"]) for r in rows] == [
        ("reporting-2015", "2015-01-05", "2017-02-20", "pep-2014"),
        ("reporting-2017", "2017-02-20", "2021-11-29", "eo-13768"),
        ("reporting-2021", "2021-11-29", None, "dhs-2021"),
    ]
    assert all(r["source"].startswith("Assumption") for r in rows)


def test_applying_changes_cadence_and_next_report_due_of_changed_cases_only(shipped):
    ns = make_case(national_security_flag=True, case={"supervision_type": "osup", "reporting_cadence_days": 180,
                                                      "last_contact_on": dt.date(2022, 11, 20)})
    felon_atd = make_case(gang_flag=True, case={"supervision_type": "atd", "reporting_cadence_days": 60,
                                                "next_report_due": dt.date(2023, 2, 1)})
    recognizance = make_case(case={"supervision_type": "recognizance", "reporting_cadence_days": 180,
                                   "opened_on": dt.date(2021, 1, 10), "proceedings_started_on": dt.date(2021, 1, 10)})
    services.do_reclassify(as_of=DAY, actor_label="test")
    result = do_apply_cadence(as_of=DAY, actor_label="test")
    assert result.as_dict() == {"table": "reporting-2021", "as_of": "2023-01-01", "cases": 3, "changed": 2,
                                "counts": {"30": 1, "60": 1, "365": 1}, "seconds": result.seconds}
    assert cadence(ns) == (30, dt.date(2022, 12, 20), 3)                  # last contact + 30
    assert cadence(felon_atd) == (60, dt.date(2023, 2, 1), 2)             # public safety on ATD: unchanged
    assert cadence(recognizance) == (365, dt.date(2022, 1, 10), 3)        # never contacted: opened + 365
    assert do_apply_cadence(as_of=DAY, actor_label="test").changed == 0
    event = AuditEvent.objects.filter(action="policy.cadence_applied").order_by("-id").first()
    assert event.details["table"] == "reporting-2021" and event.details["changed"] == 0


def test_next_report_due_is_never_before_the_table_took_effect(shipped):
    case = make_case(national_security_flag=True, case={"supervision_type": "osup", "reporting_cadence_days": 180,
                                                        "last_contact_on": dt.date(2021, 6, 1)})
    services.do_reclassify(as_of=DAY, actor_label="test")
    do_apply_cadence(as_of=DAY, actor_label="test")
    assert cadence(case)[:2] == (30, dt.date(2021, 11, 29))


def test_cases_classified_under_another_rule_set_get_the_supervision_default(shipped):
    case = make_case(national_security_flag=True, case={"supervision_type": "parole", "reporting_cadence_days": 60})
    services.do_reclassify(as_of=dt.date(2016, 1, 1), actor_label="test")    # P1 under pep-2014
    do_apply_cadence(as_of=DAY, actor_label="test")                           # reporting-2021 names dhs-2021 levels
    assert cadence(case)[0] == 180


def test_a_day_without_a_table_is_a_clear_error(shipped):
    with pytest.raises(NotFound) as err:
        do_apply_cadence(as_of=dt.date(2014, 1, 1), actor_label="test")
    assert err.value.code == "no_cadence_table_in_force"


BAD_TABLE = """\
id = "reporting-bad"
title = "Bad"
source = "Assumption"
effective_from = 2030-01-01
priority_rule_set = "dhs-2021"

[[rules]]
priority = ["P1"]
supervision_type = ["osup", "house_arrest"]
days = 0

[[rules]]
days = 90

[[rules]]
days = 120
"""


def test_invalid_table_lists_every_problem_and_writes_nothing(shipped):
    before = (CadenceTable.objects.count(), AuditEvent.objects.count())
    with pytest.raises(services.InvalidPolicyFile) as err:
        services.do_load_cadence_tables([("bad.toml", BAD_TABLE)], actor_label="test")
    assert [(p.line, p.field, p.message.split(" (")[0]) for p in err.value.problems] == [
        (8, "rules[0].priority", "unknown priority level 'P1'"),
        (9, "rules[0].supervision_type", "unknown supervision type 'house_arrest'"),
        (10, "rules[0].days", "must be a whole number of days from 1 to 3650, got 0"),
        (15, "rules[2].", "unreachable: rules[1] already matches every case"),
        (4, "effective_from", "period [2030-01-01, open) overlaps cadence table 'reporting-2021' [2021-11-29, open); "
                              "effective_to is exclusive, so adjacent versions share their boundary date"),
    ]
    assert (CadenceTable.objects.count(), AuditEvent.objects.count()) == before


def test_a_table_needs_a_catch_all_and_an_installed_rule_set():
    text = BAD_TABLE.replace('"dhs-2021"', '"no-such-set"').split("[[rules]]\ndays = 90")[0]
    with pytest.raises(services.InvalidPolicyFile) as err:
        services.do_load_cadence_tables([("bad.toml", text)], actor_label="test")
    messages = [p.message for p in err.value.problems]
    assert "no rule set 'no-such-set' is installed (load it first)" in messages
    assert any(m.startswith("the last rule must match every case") for m in messages)


def test_cli_apply_and_list(shipped):
    make_case()
    runner = CliRunner()
    applied = json.loads(runner.invoke(app, ["policy", "cadence", "apply", "--as-of", "2023-01-01", "--format", "json"]).stdout)
    assert set(applied) == {"table", "as_of", "cases", "changed", "counts", "seconds"}
    listed = json.loads(runner.invoke(app, ["policy", "cadence", "list", "--format", "json"]).stdout)
    assert [r["id"] for r in listed] == ["reporting-2015", "reporting-2017", "reporting-2021"]
