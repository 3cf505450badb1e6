"""`caseload users …` and `caseload audit …` on the command line."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core import audit
from caseload.core.models import Account, AuditEvent
from caseload.offices.models import Officer
from tests import factories

pytestmark = pytest.mark.django_db
runner = CliRunner()


def run(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin, catch_exceptions=False)


def test_add_an_officer_user_linked_to_their_record():
    officer = factories.officer("WAS")
    result = run("users", "add", "jdoe", "--role", "officer", "--officer", str(officer.pk), "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["username"] == "jdoe" and doc["officer"] == officer.pk and len(doc["password"]) >= 16
    user = User.objects.get(username="jdoe")
    assert user.check_password(doc["password"]) and not user.is_staff
    assert Officer.objects.get(pk=officer.pk).user_id == user.pk
    listed = json.loads(run("users", "list", "--format", "json").stdout)
    assert listed == [{"username": "jdoe", "role": "officer", "office": "WAS", "officer": officer.pk, "active": True,
                       "last_login": None}]


def test_add_a_supervisor_with_a_password_from_stdin():
    result = run("users", "add", "sup", "--role", "supervisor", "--office", "bos", "--password-stdin", "--format", "json",
                 stdin="a-long-test-password-7\n")
    assert result.exit_code == 0, result.stderr
    assert "password" not in json.loads(result.stdout)
    assert Account.objects.get(user__username="sup").office.code == "BOS"
    assert User.objects.get(username="sup").check_password("a-long-test-password-7")


@pytest.mark.parametrize("args,code,exit_code", [
    (["--role", "officer"], "officer_required", 2),
    (["--role", "officer", "--officer", "999999"], "unknown_officer", 2),
    (["--role", "supervisor"], "office_required", 2),
    (["--role", "supervisor", "--office", "XYZ"], "unknown_office", 2),
    (["--role", "hq_analyst", "--office", "WAS"], "office_only_for_supervisors", 2),
    (["--role", "chief"], "unknown_role", 2),
])
def test_refusals_create_nothing(args, code, exit_code):
    before = (User.objects.count(), AuditEvent.objects.count())
    result = run("users", "add", "someone", *args, "--format", "json")
    assert result.exit_code == exit_code and json.loads(result.stdout)["error"]["code"] == code
    assert (User.objects.count(), AuditEvent.objects.count()) == before


def test_a_long_name_and_a_weak_password_are_refused():
    long = run("users", "add", "x" * 300, "--role", "auditor", "--format", "json")
    assert long.exit_code == 2 and json.loads(long.stdout)["error"]["code"] == "username_too_long"
    weak = run("users", "add", "ann", "--role", "auditor", "--password-stdin", "--format", "json", stdin="12345\n")
    assert weak.exit_code == 2 and json.loads(weak.stdout)["error"]["code"] == "weak_password"
    assert not User.objects.exists()


def test_deactivate_set_password_and_mfa():
    factories.user("auditor", "inspector")
    assert run("users", "set-password", "inspector", "--password-stdin", stdin="brand-new-password-42\n").exit_code == 0
    assert User.objects.get(username="inspector").check_password("brand-new-password-42")
    mfa = json.loads(run("users", "mfa", "inspector", "--format", "json").stdout)
    assert mfa["uri"].startswith("otpauth://totp/caseload") and mfa["secret"]
    assert run("users", "deactivate", "inspector").exit_code == 0
    assert not User.objects.get(username="inspector").is_active
    assert json.loads(run("users", "list", "--format", "json").stdout)[0]["active"] is False
    assert run("users", "deactivate", "nobody", "--format", "json").exit_code == 2
    actions = list(AuditEvent.objects.filter(action__startswith="user.").values_list("action", flat=True))
    assert actions == ["user.created", "user.password_set", "user.mfa_enrolled", "user.deactivated"]


def test_checkpoint_and_verify_detect_a_removed_tail(tmp_path):
    earlier = AuditEvent.objects.count()  # other tests may have committed events on PostgreSQL
    for i in range(3):
        audit.record(action="case.read", actor_label="t", details={"i": i})
    point = tmp_path / "checkpoint.json"
    doc = json.loads(run("audit", "checkpoint", "--out", str(point), "--format", "json").stdout)
    assert set(doc) == {"events", "last_id", "head", "at", "signature"} and doc["events"] == earlier + 3
    assert json.loads(point.read_text()) == doc
    ok = run("audit", "verify", "--checkpoint", str(point), "--format", "json")
    assert ok.exit_code == 0 and json.loads(ok.stdout) == {"ok": True, "events": earlier + 3, "problems": []}
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("DROP TRIGGER audit_no_delete")
        else:
            cur.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        cur.execute("DELETE FROM core_auditevent WHERE id = %s", [doc["last_id"]])
    bad = run("audit", "verify", "--checkpoint", str(point), "--format", "json")
    assert bad.exit_code == 1
    assert [p["problem"].split(":")[0] for p in json.loads(bad.stdout)["problems"]] == ["truncated"]
    assert run("audit", "verify", "--checkpoint", str(tmp_path / "missing.json")).exit_code == 2


def test_who_read_and_activity():
    case = factories.case(factories.person("WAS"))
    listed = json.loads(run("docket", "list", "--office", "WAS", "--format", "json").stdout)
    assert [c["case_id"] for c in listed] == [case.pk]
    reads = json.loads(run("audit", "who-read", case.person.a_number, "--format", "json").stdout)
    assert len(reads) == 1 and reads[0]["actor"] == "cli:docket list" and reads[0]["action"] == "case.list"
    assert set(reads[0]) == {"at", "actor", "action", "via"}
    activity = json.loads(run("audit", "activity", "cli:docket list", "--format", "json").stdout)
    assert [a["action"] for a in activity] == ["case.list"] and activity[0]["cases"] == 1
    bad = run("audit", "who-read", "A12", "--format", "json")
    assert bad.exit_code == 2 and json.loads(bad.stdout)["error"]["code"] == "invalid_a_number"
