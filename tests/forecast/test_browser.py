"""The forecast page in a real browser, with JavaScript (htmx polling) and without (reloads)."""

from __future__ import annotations

from tests.browser import sign_in


def start_run(page, base: str) -> None:
    page.goto(base + "/planning/forecast/")
    page.select_option("#months", "12")
    page.select_option("#reps", "100")
    page.get_by_role("button", name="Run the forecast").click()


def test_an_analyst_runs_a_forecast_and_the_page_shows_the_fan_charts(served, page):
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in(page, served["base"], served["users"]["hq_analyst"]["username"])
    start_run(page, served["base"])
    page.wait_for_selector("#results", timeout=120_000)      # htmx polls, then reloads the page
    assert page.locator("#results figure.chart svg").count() == 3
    assert page.locator("h1").inner_text() == "Backlog forecast: national"
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_without_javascript_the_page_reloads_until_the_run_is_done(served, browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, served["base"], served["users"]["supervisor"]["username"])
        start_run(page, served["base"])
        page.wait_for_selector("#results", timeout=120_000)   # the refresh in <noscript> reloads it
        assert page.locator("#results figure.chart svg").count() == 3
        assert page.locator("h1").inner_text().endswith("(WAS)")
    finally:
        context.close()
