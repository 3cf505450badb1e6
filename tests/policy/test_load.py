"""Installing rule sets: every problem listed by line and field, nothing written when a file is refused."""

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core.models import AuditEvent
from caseload.policy import services
from caseload.policy.models import CadenceTable, RuleSet

pytestmark = pytest.mark.django_db

VALID = """\
id = "test-set"
title = "A test rule set"
source = "Test memorandum, 1 January 2030"
effective_from = 2010-01-01
effective_to = 2015-01-05
default_level = "low"

[[levels]]
code = "high"
label = "High"
[[levels]]
code = "low"
label = "Low"

[[rules]]
reason = "flagged"
level = "high"
label = "National-security flag"
when = [{ fact = "national_security_flag", op = "==", value = true }]
"""

# Line numbers matter: the assertions below name them.
BROKEN = """\
id = "broken-set"
title = "Broken"
effective_from = 2016-01-01
effective_to = 2016-06-01
default_level = "none"
colour = "blue"

[[levels]]
code = "P1"
label = "One"
[[levels]]
code = "none"
label = "None"

[[rules]]
reason = "one"
level = "P9"
label = "Unknown level"
when = [{ fact = "national_security_flag", op = "==", value = true }]

[[rules]]
reason = "two"
level = "P1"
label = "Unknown fact and bad operator"
when = [
  { fact = "shoe_size", op = ">=", value = 1 },
  { fact = "felony_convictions", op = "=>", value = 1 },
  { fact = "entry_manner", op = "==", value = "swam" },
]
"""


def snapshot() -> tuple:
    return (list(RuleSet.objects.values_list("id", "sha256", "effective_to")),
            list(CadenceTable.objects.values_list("id", "sha256")), AuditEvent.objects.count())


def test_a_valid_file_installs_once_then_is_unchanged(shipped):
    assert services.do_load_rule_sets([("test.toml", VALID)], actor_label="test") == [{"id": "test-set", "status": "installed"}]
    assert services.do_load_rule_sets([("test.toml", VALID)], actor_label="test") == [{"id": "test-set", "status": "unchanged"}]
    row = RuleSet.objects.get(id="test-set")
    assert (row.effective_from, row.effective_to, row.default_level) == (dt.date(2010, 1, 1), dt.date(2015, 1, 5), "low")
    assert row.levels == [{"code": "high", "label": "High"}, {"code": "low", "label": "Low"}]
    assert AuditEvent.objects.filter(action="policy.rule_set_installed", object_id="test-set").count() == 1


def test_every_problem_is_listed_by_line_and_field_and_nothing_is_written(shipped):
    before = snapshot()
    with pytest.raises(services.InvalidPolicyFile) as err:
        services.do_load_rule_sets([("broken.toml", BROKEN)], actor_label="test")
    found = {(p.line, p.field, p.message.split(" (")[0].split(";")[0]) for p in err.value.problems}
    assert found == {
        (6, "colour", "unknown key 'colour'"),
        (None, "source", "missing citation of the source document"),
        (17, "rules[0].level", "unknown level 'P9'"),
        (26, "rules[1].when[0].fact", "unknown fact 'shoe_size'"),
        (27, "rules[1].when[1].op", "bad operator '=>'"),
        (28, "rules[1].when[2].value", "value for 'entry_manner' must be one of 'ewi', 'visa', 'visa_waiver', 'parole', 'lpr', "
                                        "'unknown'"),
        (3, "effective_from", "period [2016-01-01, 2016-06-01) overlaps rule set 'pep-2014' [2015-01-05, 2017-02-20)"),
    }
    assert err.value.code == "invalid_rule_set" and err.value.exit_code == 2
    assert snapshot() == before


def test_one_bad_file_refuses_the_whole_batch(shipped):
    before = snapshot()
    with pytest.raises(services.InvalidPolicyFile):
        services.do_load_rule_sets([("test.toml", VALID), ("broken.toml", BROKEN)], actor_label="test")
    assert snapshot() == before


def test_two_new_files_overlapping_each_other_are_refused(shipped):
    other = VALID.replace('id = "test-set"', 'id = "test-set-2"').replace("2010-01-01", "2014-01-01")
    with pytest.raises(services.InvalidPolicyFile) as err:
        services.do_load_rule_sets([("a.toml", VALID), ("b.toml", other)], actor_label="test")
    assert [(p.file, p.field) for p in err.value.problems] == [("b.toml", "effective_from")]
    assert "overlaps rule set 'test-set'" in err.value.problems[0].message
    assert not RuleSet.objects.filter(id__startswith="test-set").exists()


def test_adjacent_sets_share_the_boundary_date_without_overlap(shipped):
    earlier = (VALID.replace('id = "test-set"', 'id = "test-set-0"').replace("2015-01-05", "2010-01-01")
               .replace("effective_from = 2010-01-01\n", "effective_from = 2005-01-01\n", 1))
    statuses = services.do_load_rule_sets([("a.toml", VALID), ("b.toml", earlier)], actor_label="test")
    assert [s["status"] for s in statuses] == ["installed", "installed"]
    assert services.rule_set_in_force(dt.date(2009, 12, 31)).id == "test-set-0"
    assert services.rule_set_in_force(dt.date(2010, 1, 1)).id == "test-set"
    assert services.rule_set_in_force(dt.date(2015, 1, 4)).id == "test-set"
    assert services.rule_set_in_force(dt.date(2015, 1, 5)).id == "pep-2014"


def test_closing_an_open_set_needs_replace_and_is_audited(shipped):
    dhs = (services.SHIPPED_RULE_SETS / "dhs-2021.toml").read_text()
    closed = dhs.replace("effective_from = 2021-11-29", "effective_from = 2021-11-29\neffective_to = 2030-01-01")
    successor = (VALID.replace('id = "test-set"', 'id = "successor"').replace("effective_to = 2015-01-05\n", "")
                 .replace("2010-01-01", "2030-01-01"))  # open-ended from 2030: overlaps the open dhs-2021
    with pytest.raises(services.InvalidPolicyFile) as err:
        services.do_load_rule_sets([("successor.toml", successor)], actor_label="test")
    assert "overlaps rule set 'dhs-2021'" in err.value.problems[0].message
    with pytest.raises(services.InvalidPolicyFile) as err:
        services.do_load_rule_sets([("dhs.toml", closed), ("successor.toml", successor)], actor_label="test")
    assert "already installed with different content; pass --replace" in err.value.problems[0].message
    result = services.do_load_rule_sets([("dhs.toml", closed), ("successor.toml", successor)], replace=True, actor_label="test")
    assert result == [{"id": "dhs-2021", "status": "replaced"}, {"id": "successor", "status": "installed"}]
    assert services.rule_set_in_force(dt.date(2029, 12, 31)).id == "dhs-2021"
    assert services.rule_set_in_force(dt.date(2030, 1, 1)).id == "successor"
    assert RuleSet.objects.get(id="dhs-2021").effective_to == dt.date(2030, 1, 1)
    event = AuditEvent.objects.get(action="policy.rule_set_replaced")
    assert event.details["replaced_sha256"] != event.details["sha256"]


def test_shipped_load_is_idempotent_and_keeps_a_replaced_set(shipped):
    assert services.do_load_shipped(actor_label="test") == {"rule_sets": [], "cadence_tables": []}


def test_syntax_error_reports_its_line():
    with pytest.raises(services.InvalidPolicyFile) as err:
        services.do_load_rule_sets([("bad.toml", 'id = "x"\ntitle = \n')], actor_label="test")
    assert err.value.problems[0].line == 2 and "not valid TOML" in err.value.problems[0].message


def test_cli_refusal_lists_problems_on_stderr_and_json_details(shipped, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN)
    before = snapshot()
    result = CliRunner().invoke(app, ["policy", "load", str(path), "--format", "json"])
    assert result.exit_code == 2
    assert f"{path}:27: rules[1].when[1].op: bad operator '=>'" in result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "invalid_rule_set" and len(error["details"]["problems"]) == 7
    assert snapshot() == before


def test_cli_list_and_load(shipped, tmp_path):
    path = tmp_path / "test.toml"
    path.write_text(VALID)
    loaded = CliRunner().invoke(app, ["policy", "load", str(path), "--format", "json"])
    assert json.loads(loaded.stdout) == {"loaded": [{"id": "test-set", "status": "installed"}]}
    listed = json.loads(CliRunner().invoke(app, ["policy", "list", "--format", "json"]).stdout)
    assert [r["id"] for r in listed] == ["test-set", "pep-2014", "eo-13768", "dhs-2021"]
    assert set(listed[0]) == {"id", "title", "effective_from", "effective_to", "source"}
    assert listed[0]["effective_to"] == "2015-01-05" and listed[3]["effective_to"] is None


def test_replacing_a_set_cannot_remove_a_level_still_in_use(shipped):
    from tests.policy.conftest import make_case

    dhs = (services.SHIPPED_RULE_SETS / "dhs-2021.toml").read_text()
    without_public_safety = dhs.replace('[[levels]]\ncode = "public_safety"\nlabel = "Threat to public safety: assessment of '
                                        'the totality of the facts required"\n', "")
    without_public_safety = without_public_safety.replace('level = "public_safety"', 'level = "none"')
    case = make_case()
    services.do_grant_exception(a_number=case.person.a_number, level="public_safety", reason="test", approved_by="FOD",
                                decided_on=dt.date(2022, 1, 1), actor_label="test")
    before = snapshot()
    with pytest.raises(services.InvalidPolicyFile) as err:
        services.do_load_rule_sets([("dhs.toml", without_public_safety)], replace=True, actor_label="test")
    assert sorted(p.message for p in err.value.problems) == [
        "level 'public_safety' is removed but cadence table 'reporting-2021' names it; replace that table first",
        "level 'public_safety' is removed but open director exceptions use it; revoke them first"]
    assert snapshot() == before
