"""The command line through Typer's runner (in-process, test database) and as a real process."""

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from caseload.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.mark.django_db
def test_generate_then_summary_and_lists_in_json(tmp_path):
    result = run("generate", "--scale", "0.001", "--seed", "3", "--as-of", "2026-01-31",
                 "--weights-out", str(tmp_path / "w.json"), "--format", "json")
    assert result.exit_code == 0, result.stderr
    generated = json.loads(result.stdout)
    assert generated["cases"] == 2_200 and generated["offices"] == 24

    summary = json.loads(run("docket", "summary", "--format", "json").stdout)
    assert set(summary) == {"cases", "people", "officers", "convicted", "final_orders", "by_office"}
    assert summary["cases"] == generated["cases"] and summary["convicted"] == generated["convicted"]
    assert summary["final_orders"] == generated["final_orders"]
    assert set(summary["by_office"][0]) == {"office", "cases", "officers", "cases_per_officer"}

    officers = json.loads(run("officers", "list", "--office", "WAS", "--format", "json").stdout)
    assert officers and all(set(o) == {"id", "name", "office", "unit", "status", "status_label", "leave_until", "departed_on",
                                     "external_id", "cases"} and o["office"] == "WAS" for o in officers)

    cases = json.loads(run("docket", "list", "--office", "WAS", "--limit", "5", "--format", "json").stdout)
    assert len(cases) == 5 and set(cases[0]) == {"a_number", "case_id", "office", "officer", "supervision_type", "stage"}
    by_officer = json.loads(run("docket", "list", "--officer", str(officers[0]["id"]), "--limit", "10000", "--format", "json").stdout)
    assert len(by_officer) == officers[0]["cases"]

    again = run("generate", "--scale", "0.001", "--format", "json")
    assert again.exit_code == 1
    assert json.loads(again.stdout)["error"]["code"] == "database_not_empty"
    assert "--replace" in again.stderr

    verify = run("audit", "verify", "--format", "json")
    assert verify.exit_code == 0 and json.loads(verify.stdout)["ok"] is True


@pytest.mark.django_db
@pytest.mark.parametrize("scale", ["0", "-2", "abc"])
def test_bad_scale_exits_2_with_a_clear_message(scale):
    result = run("generate", "--scale", scale)
    assert result.exit_code == 2
    assert "scale must be a number greater than 0" in result.stderr


@pytest.mark.django_db
def test_unknown_office_is_a_clear_error():
    result = run("docket", "list", "--office", "XYZ")
    assert result.exit_code == 2 and "no field office with code 'XYZ'" in result.stderr


@pytest.mark.django_db
def test_text_output_of_summary_is_a_table():
    result = run("docket", "summary")
    assert result.exit_code == 0 and "By office" in result.stdout and "WAS" in result.stdout


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CASELOAD_DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "caseload.cli", *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("url, message", [
    ("mysql://u@h/db", "unsupported database URL"),
    ("postgresql://u@h:notaport/db", "malformed database URL"),
    ("postgresql://u:secret@127.0.0.1:1/caseload", "cannot connect to the database at 127.0.0.1:1/caseload"),
])
def test_bad_or_unreachable_database_is_one_clear_line(url, message):
    proc = _cli("--database", url, "docket", "summary")
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "secret" not in proc.stderr and "Traceback" not in proc.stderr


def test_init_creates_and_migrates_a_fresh_sqlite_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    proc = _cli("--database", url, "init", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"migrated": True, "offices": 24, "countries": 249, "roles": 5,
                                       "rule_sets": 3, "cadence_tables": 3}
    again = _cli("--database", url, "init", "--format", "json")  # idempotent
    assert json.loads(again.stdout)["rule_sets"] == 3
    summary = _cli("--database", url, "docket", "summary", "--format", "json")
    assert json.loads(summary.stdout)["cases"] == 0
    import sqlite3

    assert sqlite3.connect(tmp_path / "fresh.sqlite3").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.django_db
def test_users_add_creates_a_user_in_its_role_with_a_hashed_password():
    from django.contrib.auth.models import User

    result = run("users", "add", "sam", "--role", "supervisor", "--office", "WAS", "--format", "json")
    doc = json.loads(result.stdout)
    user = User.objects.get(username="sam")
    assert doc["role"] == "supervisor" and user.groups.filter(name="supervisor").exists()
    assert user.check_password(doc["password"]) and doc["password"] not in user.password
    again = run("users", "add", "sam", "--role", "hq_analyst")
    assert again.exit_code == 1 and "exists already" in again.stderr
    assert run("users", "add", "kim", "--role", "chief").exit_code == 2
