"""Browser-test fixtures (registered for the whole suite by tests/conftest.py, so the served app
is built once per test process, whichever directory its tests are in) and helpers: a served app
on a database of its own and Debian's chromium.

The server runs `caseload serve` as its own process on a temporary SQLite file (or a temporary
PostgreSQL database when the suite runs on PostgreSQL), filled by `caseload generate`. Under
``CI=true`` a missing chromium fails the browser tests instead of skipping them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.processes import Database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "browser-test-password-1"


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = "Debian's chromium is not installed (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message + ": browser tests must run under CI=true")
    pytest.skip(message)


def cli(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "caseload.cli", "--database", url, *args], input=stdin,
                          capture_output=True, text=True, timeout=300, check=True)


def start_server(args: list[str], *, probe: str, env: dict | None = None, stdout=subprocess.PIPE,
                 timeout: float = 60) -> tuple[str, subprocess.Popen]:
    """Start ``caseload ARGS serve`` on a free port of 127.0.0.1 and wait until ``probe``
    answers: ``(base URL, process)``. Fails the test with the server's stderr if it exits or does
    not answer within ``timeout`` seconds."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "caseload.cli", *args, "serve", "--port", str(port)], env=env,
                            stdout=stdout, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(base + probe, timeout=2)
            return base, proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"caseload serve did not start: {proc.stderr.read()[-3000:]}")
            time.sleep(0.2)


@pytest.fixture(scope="session")
def served_database(tmp_path_factory, initialised_template):
    """The served app's database: a copy of an initialised one (a SQLite file, or a PostgreSQL
    database when the suite runs on PostgreSQL), dropped at the end."""
    db = Database(tmp_path_factory.mktemp("browser"), "browser", template=initialised_template)
    yield db.url
    db.drop()


@pytest.fixture(scope="session")
def served(served_database):
    """The generated docket, one user per role (password ``PASSWORD``), and the running server:
    ``{"base", "generated", "url", "users": {role: {"username", "officer"?, "office"?}}}``."""
    url = served_database
    generated = json.loads(cli(url, "generate", "--scale", "0.001", "--seed", "4", "--format", "json",
                               "--weights-out", os.devnull).stdout)
    officers = json.loads(cli(url, "officers", "list", "--office", "WAS", "--format", "json").stdout)
    busiest = max(officers, key=lambda o: (o["cases"], -o["id"]))
    users = {
        "officer": {"username": "officer1", "officer": busiest["id"], "cases": busiest["cases"], "args": ["--officer", str(busiest["id"])]},
        "supervisor": {"username": "supervisor1", "office": "WAS", "args": ["--office", "WAS"]},
        "hq_analyst": {"username": "analyst1", "args": []},
        "auditor": {"username": "auditor1", "args": []},
        "administrator": {"username": "admin1", "args": []},
    }
    for role, spec in users.items():
        cli(url, "users", "add", spec["username"], "--role", role, *spec["args"], "--password-stdin", stdin=PASSWORD + "\n")
    base, proc = start_server(["--database", url], probe="/accounts/login/", stdout=subprocess.DEVNULL)
    yield {"base": base, "generated": generated, "url": url, "users": users}
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    """One chromium per test module: Playwright's sync API keeps an event loop running while it
    is open, which Django refuses for database access, so it must not outlive the module."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies) per test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def narrow_page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    yield context.new_page()
    context.close()


def sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base + "/accounts/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def screenshot(page, name: str, tmp_path) -> Path:
    """Save a full-page screenshot under tmp_path and, when CASELOAD_SCREENSHOT_DIR is set, there
    too (docs/web.md is illustrated from those)."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    target = os.environ.get("CASELOAD_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)
    return path


def sql(url: str, query: str, params: tuple = ()) -> list[tuple]:
    """Rows of a query on the served database (SQLite file or PostgreSQL), to check what a
    browser action wrote."""
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            return con.execute(query.replace("%s", "?"), params).fetchall()
    import psycopg

    with psycopg.connect(url) as con:
        return con.execute(query, params).fetchall()
