"""End to end in a real browser (Debian's chromium driven by Playwright against `caseload serve`):
each role signs in through /accounts/login/ and sees only its scope."""

from __future__ import annotations

import json

from tests.browser import cli, screenshot, sign_in


def test_anonymous_visitors_only_see_the_sign_in_page(served, page):
    page.goto(served["base"] + "/")
    assert page.url.startswith(served["base"] + "/accounts/login/")
    assert page.title() == "Sign in · caseload"
    assert page.locator('[data-figure="cases"]').count() == 0


def test_an_analyst_sees_the_national_docket(served, page, tmp_path):
    base, generated = served["base"], served["generated"]
    sign_in(page, base, served["users"]["hq_analyst"]["username"])
    assert page.title() == "Docket overview · caseload"
    for key in ("cases", "people", "officers", "convicted", "final_orders"):
        shown = page.locator(f'[data-figure="{key}"]').inner_text()
        assert int(shown.replace(",", "")) == generated[key], key
    assert page.locator("#by-office tbody tr").count() == 24
    chart = page.locator("figure.chart svg")
    assert chart.count() == 1 and chart.bounding_box()["width"] > 300
    assert chart.locator("path[aria-roledescription='bar']").count() == 24
    assert screenshot(page, "landing-analyst", tmp_path).stat().st_size > 10_000


def test_an_officer_signs_in_and_sees_only_their_cases(served, page, tmp_path):
    base, officer = served["base"], served["users"]["officer"]
    sign_in(page, base, officer["username"])
    assert page.locator(".who").inner_text().startswith("officer1")
    assert page.locator("h1").inner_text() == "Non-detained docket: your cases"
    assert int(page.locator('[data-figure="cases"]').inner_text().replace(",", "")) == officer["cases"]
    assert page.locator("#by-office tbody tr").count() == 1
    assert page.locator("#by-office tbody tr th").inner_text() == "WAS"
    screenshot(page, "landing-officer", tmp_path)
    response = page.goto(base + "/staffing/WAS/")
    assert response.status == 403 and page.locator("h1").inner_text() == "Not available to you"
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").count() == 1
    assert page.goto(base + "/audit/").status == 403
    assert page.goto(base + "/admin/").url.startswith(base + "/admin/login/")


def test_a_supervisor_signs_in_and_sees_only_their_office(served, page, tmp_path):
    base = served["base"]
    sign_in(page, base, served["users"]["supervisor"]["username"])
    assert page.locator("h1").inner_text() == "Non-detained docket: your office"
    assert page.locator("#by-office tbody tr").count() == 1
    national = json.loads(cli(served["url"], "docket", "summary", "--format", "json").stdout)
    was = next(o for o in national["by_office"] if o["office"] == "WAS")
    assert int(page.locator('[data-figure="cases"]').inner_text().replace(",", "")) == was["cases"]
    assert int(page.locator('[data-figure="officers"]').inner_text().replace(",", "")) == was["officers"]
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Capacity").click()
    assert page.url == base + "/staffing/WAS/" and page.locator("h1").inner_text().endswith("(WAS): officer capacity")
    screenshot(page, "capacity-supervisor", tmp_path)
    assert page.goto(base + "/staffing/BOS/").status == 404
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert page.url.startswith(base + "/accounts/login/")
    assert page.goto(base + "/").url.startswith(base + "/accounts/login/")


def test_a_wrong_password_keeps_the_user_on_the_sign_in_page(served, page):
    sign_in(page, served["base"], "analyst1", "not-the-password")
    assert page.url.startswith(served["base"] + "/accounts/login/")
    assert "correct username and password" in page.locator("[role=alert]").inner_text()


def test_pages_fit_a_390_px_screen(served, narrow_page, tmp_path):
    sign_in(narrow_page, served["base"], served["users"]["supervisor"]["username"])
    for path in ("/", "/staffing/WAS/", "/countries/", "/policy/manual/"):
        narrow_page.goto(served["base"] + path)
        width = narrow_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    screenshot(narrow_page, "landing-390px", tmp_path)


def test_stylesheet_is_served(served, page):
    response = page.goto(served["base"] + "/static/web/caseload.css")
    assert response.status == 200 and "headline" in response.text()
