"""The planning pages in a real browser: an analyst plans, saves and compares two scenarios
(the plan computed in the server's background thread, the page updated by htmx polling); a
supervisor sees their own office's rows; the pages fit 390 px."""

from __future__ import annotations

import re

import pytest

from tests.browser import screenshot, sign_in

pytestmark = pytest.mark.slow


def plan(page, base: str, hires: str) -> None:
    page.goto(base + "/planning/staffing/")
    page.get_by_label("Hires").fill(hires)
    page.get_by_role("button", name="Plan").click()
    page.get_by_role("heading", name="Result").wait_for(timeout=60_000)


def test_an_analyst_plans_saves_and_compares_two_scenarios(served, page, tmp_path):
    base = served["base"]
    sign_in(page, base, served["users"]["hq_analyst"]["username"])
    for hires, name in (("10", "Ten hires"), ("30", "Thirty hires")):
        plan(page, base, hires)
        assert page.locator("figure.chart svg").count() == 2
        page.get_by_label("Save as scenario").fill(name)
        page.get_by_role("button", name="Save").click()
        page.get_by_text("Scenario saved.").wait_for()
    page.get_by_label("Scenario A").select_option(label="Ten hires")
    page.get_by_label("Scenario B").select_option(label="Thirty hires")
    page.get_by_role("button", name="Compare").click()
    page.get_by_role("heading", name="Ten hires against Thirty hires").wait_for()
    row = page.locator("table.compare tbody tr").first
    assert re.sub(r"\s+", " ", row.inner_text()).strip() == "Hires 10 30"
    screenshot(page, "planning-staffing-analyst", tmp_path)
    for url in ("/planning/workload/", "/planning/countries/", "/planning/training/", "/planning/manual/"):
        response = page.goto(base + url)
        assert response.status == 200, url
    page.goto(base + "/planning/workload/")
    page.locator("figure.chart svg").wait_for(timeout=60_000)  # the weights job finishes and htmx reloads


def test_a_supervisor_sees_their_office_only(served, narrow_page, tmp_path):
    base = served["base"]
    sign_in(narrow_page, base, served["users"]["supervisor"]["username"])
    plan(narrow_page, base, "5")
    offices = narrow_page.locator("table").first.locator("tbody tr td:first-child").all_inner_texts()
    assert offices == ["WAS"]
    assert narrow_page.get_by_label("Save as scenario").count() == 0
    narrow_page.goto(base + "/planning/training/")
    assert narrow_page.locator("table").first.locator("tbody tr td:first-child").all_inner_texts() == ["WAS"]
    assert narrow_page.goto(base + "/planning/training/?office=BOS").status == 404
    narrow_page.goto(base + "/planning/staffing/")
    width = narrow_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    screenshot(narrow_page, "planning-staffing-supervisor", tmp_path)
