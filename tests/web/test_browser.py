"""End to end in a real browser: Debian's chromium driven by Playwright against `caseload serve`.

The server runs as its own process on a database of its own (a temporary SQLite file, or a
temporary PostgreSQL database when the suite runs on PostgreSQL), filled by `caseload generate`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)")


def _cli(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "caseload.cli", "--database", url, *args],
                          capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    env_url = os.environ.get("CASELOAD_DATABASE_URL", "")
    if not env_url.startswith("postgres"):
        yield f"sqlite:///{tmp_path_factory.mktemp('browser') / 'served.sqlite3'}"
        return
    import psycopg

    name = f"caseload_browser_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(env_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    yield env_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(env_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def server(database_url):
    generated = json.loads(_cli(database_url, "generate", "--scale", "0.001", "--seed", "4", "--format", "json",
                                "--weights-out", os.devnull).stdout)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "caseload.cli", "--database", database_url, "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"caseload serve did not start: {proc.stderr.read()[-2000:]}")
            time.sleep(0.2)
    yield base, generated
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser.new_page()
        browser.close()


def test_landing_page_shows_the_docket_in_a_browser(server, page, tmp_path):
    base, generated = server
    page.goto(base + "/")
    assert page.title() == "Docket overview · caseload"
    for key in ("cases", "people", "officers", "convicted", "final_orders"):
        shown = page.locator(f'[data-figure="{key}"]').inner_text()
        assert int(shown.replace(",", "")) == generated[key], key
    assert page.locator("#by-office tbody tr").count() == 24
    chart = page.locator("figure.chart svg")
    assert chart.count() == 1 and chart.bounding_box()["width"] > 300
    assert chart.locator("path[aria-roledescription='bar']").count() == 24
    page.screenshot(path=str(tmp_path / "landing.png"), full_page=True)
    if os.environ.get("CASELOAD_SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["CASELOAD_SCREENSHOT_DIR"], "landing.png"), full_page=True)
    assert (tmp_path / "landing.png").stat().st_size > 10_000


def test_stylesheet_is_served(server, page):
    base, _ = server
    response = page.goto(base + "/static/web/caseload.css")
    assert response.status == 200 and "headline" in response.text()
