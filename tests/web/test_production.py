"""Production mode (CASELOAD_DEBUG=0): keys required, `check --deploy` clean, gunicorn serving
styled pages with a Content-Security-Policy that the pages satisfy, /healthz, bounded dates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from tests.browser import CHROMIUM, CHROMIUM_FLAGS, require_chromium, start_server

KEYS = {"CASELOAD_SECRET_KEY": "k" * 30 + "-production-test-secret-key-0123456789",
        "CASELOAD_AUDIT_KEY": "production-test-audit-key"}


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELOAD_") and k != "DJANGO_SETTINGS_MODULE"}
    return {**env, "CASELOAD_DEBUG": "0", **extra}


def _caseload(*args, env, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "caseload.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300, **kw)


@pytest.mark.parametrize("missing", ["CASELOAD_SECRET_KEY", "CASELOAD_AUDIT_KEY"])
def test_the_command_line_refuses_to_start_without_its_keys(tmp_path, missing):
    env = _env(**{k: v for k, v in KEYS.items() if k != missing}, CASELOAD_DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    result = _caseload("init", env=env)
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        f"error[missing_setting]: {missing} must be set when CASELOAD_DEBUG=0 (production); set CASELOAD_DEBUG=1 for development"]
    assert not (tmp_path / "db.sqlite3").exists()


def test_check_deploy_reports_nothing(tmp_path):
    env = _env(**KEYS, CASELOAD_DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", DJANGO_SETTINGS_MODULE="caseload.settings")
    result = subprocess.run([sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "DEBUG"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.fixture(scope="module")
def production_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("production")
    env = _env(**KEYS, CASELOAD_DATABASE_URL=f"sqlite:///{root}/db.sqlite3", CASELOAD_SSL_REDIRECT="0",
               CASELOAD_MFA_ROLES="none", CASELOAD_WEB_WORKERS="2")
    assert _caseload("init", env=env).returncode == 0
    assert _caseload("generate", "--scale", "0.0005", "--seed", "2", "--weights-out", os.devnull, env=env).returncode == 0
    assert _caseload("users", "add", "analyst", "--role", "hq_analyst", "--password-stdin", env=env,
                     input="production-password-12\n").returncode == 0
    base, proc = start_server([], probe="/healthz", env=env)
    yield base, proc
    proc.terminate()
    proc.wait(timeout=20)


def test_gunicorn_serves_health_static_files_and_security_headers(production_server):
    base, proc = production_server
    health = urllib.request.urlopen(base + "/healthz", timeout=10)
    assert health.status == 200 and json.loads(health.read()) == {"ok": True, "database": "reachable", "migrations_pending": 0}
    css = urllib.request.urlopen(base + "/static/web/caseload.css", timeout=10)
    assert css.status == 200 and b".headline" in css.read()
    login = urllib.request.urlopen(base + "/accounts/login/", timeout=10)
    headers = login.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    cookie = headers["Set-Cookie"] or ""
    assert "csrftoken=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    html = login.read().decode()
    assert "<script>" not in html and "<style" not in html
    anonymous = urllib.request.urlopen(base + "/countries/", timeout=10)
    assert anonymous.url == base + "/accounts/login/?next=/countries/"


def test_pages_satisfy_the_content_security_policy(production_server, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    base, _ = production_server
    violations = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.goto(base + "/accounts/login/")
        page.get_by_label("User name").fill("analyst")
        page.get_by_label("Password", exact=True).fill("production-password-12")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        assert page.title() == "Docket overview · caseload"
        styled = page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor")
        assert styled == "rgb(29, 53, 87)", "the stylesheet applies under CASELOAD_DEBUG=0"
        for path in ("/", "/countries/", "/policy/", "/policy/manual/", "/training/", "/staffing/WAS/"):
            assert page.goto(base + path).status == 200, path
        browser.close()
    assert violations == []


def test_request_lines_go_to_stderr(production_server):
    base, proc = production_server
    urllib.request.urlopen(base + "/healthz", timeout=10).read()
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    assert "GET /healthz 200" in err
