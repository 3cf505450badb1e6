"""Bad input is answered the same way everywhere: ``error[code]: message`` on stderr, the JSON
error on stdout in JSON mode, exit 2 for bad input (argument errors, unknown objects), 3 for a
database that cannot be used (one that was never initialised)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core.errors import UsageError
from caseload.core.validation import check_text, check_username
from caseload.docket import anumber

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


# --- argument errors found before a command runs ---------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["docket", "list", "--limit", "abc"], "Invalid value for '--limit'"),
    (["docket", "summary", "--format", "xml"], "Invalid value for '--format'"),
    (["users", "add"], "Missing argument 'username'"),
    (["docket", "summary", "--bogus"], "No such option: --bogus"),
    (["no-such-command"], "No such command 'no-such-command'"),
])
def test_an_argument_error_is_one_usage_line_and_exit_2(args, message):
    result = run(*args)
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert line.startswith("error[usage]: ") and message in line
    assert result.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["docket", "list", "--limit", "abc", "--format", "json"], "Invalid value for '--limit'"),
    (["docket", "list", "--format=json", "--limit", "abc"], "Invalid value for '--limit'"),
    (["users", "add", "--format", "json"], "Missing argument 'username'"),
])
def test_in_json_mode_the_argument_error_is_also_the_json_document_on_stdout(args, message):
    result = run(*args)
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert set(doc) == {"error"} and doc["error"]["code"] == "usage" and message in doc["error"]["message"]
    assert one_line(result.stderr) == f"error[usage]: {doc['error']['message']}"


def test_help_still_prints_and_exits_0():
    result = run("docket", "list", "--help")
    assert result.exit_code == 0 and "--limit" in result.stdout


# --- unknown objects are bad input: exit 2 --------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("args, code", [
    (["docket", "list", "--office", "XYZ"], "unknown_office"),
    (["worklist", "--officer", "987654321"], "unknown_officer"),
    (["countries", "td", "request", "987654321"], "unknown_case"),
    (["countries", "tier", "history", "ZZ"], "unknown_country"),
    (["manual", "show", "99.99"], "unknown_section"),
])
def test_an_unknown_object_exits_2_with_its_code(args, code):
    result = run(*args, "--format", "json")
    assert result.exit_code == 2, result.stderr
    assert json.loads(result.stdout)["error"]["code"] == code
    assert one_line(result.stderr).startswith(f"error[{code}]: ")


# --- dates: one accepted form, as the message says -------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("value", ["20261201", "2026-W49-2", "2026-12-1", "２０２６-１２-０１", "2026-13-01"])
def test_as_of_takes_only_yyyy_mm_dd_and_says_so(value):
    result = run("worklist", "--officer", "1", "--as-of", value)
    assert result.exit_code == 2
    assert one_line(result.stderr) == f"error[invalid_date]: --as-of must be a date as YYYY-MM-DD, got {value!r}"


@pytest.mark.django_db
def test_as_of_in_the_documented_form_is_accepted():
    # The date passes; the command gets as far as looking the officer up.
    result = run("worklist", "--officer", "987654321", "--as-of", "2026-12-01", "--format", "json")
    assert json.loads(result.stdout)["error"]["code"] == "unknown_officer"


# --- a database that was never initialised ------------------------------------------------------

def _process(*args: str, cwd, url: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CASELOAD_DATABASE_URL"}
    env.setdefault("CASELOAD_DEBUG", "1")
    if url:
        env["CASELOAD_DATABASE_URL"] = url
    return subprocess.run([sys.executable, "-m", "caseload.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


@pytest.mark.parametrize("args", [["docket", "summary"], ["audit", "verify", "--format", "json"], ["doctor"]])
def test_a_database_never_initialised_is_one_line_exit_3_and_no_file(tmp_path, args):
    default = _process(*args, cwd=tmp_path)
    explicit = _process(*args, cwd=tmp_path, url=f"sqlite:///{tmp_path / 'nowhere.sqlite3'}")
    for result in (default, explicit):
        assert result.returncode == 3
        assert one_line(result.stderr) == "error[database_not_initialised]: run caseload init"
        if "json" in args:
            assert json.loads(result.stdout) == {"error": {"code": "database_not_initialised", "message": "run caseload init"}}
    assert list(tmp_path.iterdir()) == []  # neither var/ nor any database file


def test_an_empty_sqlite_file_is_not_initialised_either(tmp_path):
    (tmp_path / "empty.sqlite3").write_bytes(b"")
    result = _process("docket", "summary", cwd=tmp_path, url=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert result.returncode == 3 and one_line(result.stderr) == "error[database_not_initialised]: run caseload init"


@pytest.mark.postgres_only
def test_an_empty_postgresql_database_is_not_initialised(tmp_path):
    import psycopg

    base = os.environ["CASELOAD_DATABASE_URL"]
    name = f"empty_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            result = _process("docket", "summary", cwd=tmp_path, url=base.rsplit("/", 1)[0] + "/" + name)
            assert result.returncode == 3 and one_line(result.stderr) == "error[database_not_initialised]: run caseload init"
            with psycopg.connect(base.rsplit("/", 1)[0] + "/" + name) as conn:  # and nothing was created in it
                assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- bounded values --------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["１２３４５６７８９", "A１２３-４５６-７８９", "٠١٢٣٤٥٦٧٨", "A12345678\u0669"])
def test_digits_of_other_scripts_are_not_an_a_number(value):
    with pytest.raises(Exception) as refused:
        anumber.normalize(value)
    assert "is not an A-number" in str(refused.value)


def test_ascii_a_numbers_still_normalise():
    assert anumber.normalize("A123-456-789") == anumber.normalize("123456789") == "123456789"
    assert anumber.normalize("a12345678") == "012345678"


@pytest.mark.django_db
def test_a_300_character_user_name_is_refused_before_any_write():
    from django.contrib.auth.models import User

    with pytest.raises(UsageError) as refused:
        check_username("x" * 300)
    assert refused.value.code == "username_too_long" and refused.value.exit_code == 2
    assert refused.value.message == "a user name is 300 characters long; at most 150 are allowed"
    assert check_username("  sam.lee@was ") == "sam.lee@was"
    with pytest.raises(UsageError, match="must not be blank") as blank:
        check_username("   ")
    assert blank.value.code == "username_required"
    with pytest.raises(UsageError, match="user name 'a b'") as spaced:
        check_username("a b")
    assert spaced.value.code == "invalid_username"
    assert User.objects.filter(username__startswith="xxx").count() == 0


def test_check_text_bounds_any_field():
    assert check_text(" x ", what="a reason", max_length=3) == "x"
    with pytest.raises(UsageError, match="a reason is 4 characters long; at most 3 are allowed"):
        check_text("abcd", what="a reason", max_length=3)
    assert check_text("", what="a note", max_length=3, required=False) == ""
