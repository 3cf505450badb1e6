"""The officer's day in a real browser: sign in, open a case from the worklist, record a check-in
with its records check; a stale form keeps what was typed; another officer's case is not found."""

from __future__ import annotations

import re

from tests.browser import screenshot, sign_in, sql


def _open_first_case(page, base):
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist").click()
    page.wait_for_load_state()
    assert page.url == base + "/worklist/"
    link = page.locator("#tasks tbody a").first
    a_number = link.inner_text()
    link.click()
    page.wait_for_load_state()
    case_id = int(re.search(r"/cases/(\d+)/", page.url).group(1))
    return case_id, a_number


def test_an_officer_records_a_check_in_with_its_records_check(served, page, tmp_path):
    base, url, officer = served["base"], served["url"], served["users"]["officer"]
    sign_in(page, base, officer["username"])
    page.goto(base + "/worklist/")
    counts = int(page.locator('[data-figure="cases"]').inner_text().replace(",", ""))
    assert counts == officer["cases"]
    screenshot(page, "worklist-officer", tmp_path)
    case_id, a_number = _open_first_case(page, base)
    assert page.locator("h1 .anumber").inner_text() == a_number
    screenshot(page, "case-officer", tmp_path)
    (checkins_before,) = sql(url, "SELECT COUNT(*) FROM docket_checkin WHERE case_id = %s", (case_id,))[0]

    form = page.locator("#act-check-in form")
    form.get_by_label("Appeared").check()
    form.get_by_label("Records check result").select_option("clear")
    form.get_by_label("Minutes", exact=True).fill("16")
    form.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert "Check-in recorded: appeared" in page.locator(".messages").inner_text()
    screenshot(page, "case-after-check-in", tmp_path)

    rows = sql(url, "SELECT outcome, records_check FROM docket_checkin WHERE case_id = %s ORDER BY id DESC", (case_id,))
    assert len(rows) == checkins_before + 1 and rows[0] == ("appeared", "clear")
    minutes = dict(sql(url, "SELECT activity, minutes FROM workload_timelogentry WHERE case_id = %s AND minutes = 16 "
                            "OR (case_id = %s AND activity = 'records_check') ORDER BY id", (case_id, case_id)))
    assert minutes.get("check_in") == 16 and "records_check" in minutes
    events = sql(url, "SELECT a.action, u.username FROM core_auditevent a JOIN auth_user u ON u.id = a.actor_id "
                      "WHERE a.object_type = 'case' AND a.object_id = %s ORDER BY a.id", (str(case_id),))
    assert ("checkin.recorded", officer["username"]) in events


def test_a_stale_form_is_refused_and_the_input_kept(served, browser, tmp_path):
    base, officer = served["base"], served["users"]["officer"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    first, second = context.new_page(), context.new_page()
    sign_in(first, base, officer["username"])
    case_id, _ = _open_first_case(first, base)
    second.goto(f"{base}/cases/{case_id}/")
    second.locator("#act-contact summary").click()
    second.locator("#act-contact form").get_by_role("button", name="Save").click()
    second.wait_for_load_state()
    assert "Contact recorded" in second.locator(".messages").inner_text()

    form = first.locator("#act-check-in form")
    form.get_by_label("Appeared").check()
    form.get_by_label("Records check result").select_option("hit")
    form.get_by_label("Records check details").fill("open warrant, Fairfax County")
    form.get_by_role("button", name="Save").click()
    first.wait_for_load_state()
    alert = first.locator(".error-box").inner_text()
    assert f"changed by {officer['username']} at" in alert
    assert first.locator("#act-check-in form").get_by_label("Records check details").input_value() == "open warrant, Fairfax County"
    screenshot(first, "case-stale-form", tmp_path)
    context.close()


def test_another_officers_case_is_not_found(served, page):
    base, url, officer = served["base"], served["url"], served["users"]["officer"]
    (other,) = sql(url, "SELECT id FROM docket_case WHERE officer_id <> %s ORDER BY id LIMIT 1", (officer["officer"],))[0]
    sign_in(page, base, officer["username"])
    response = page.goto(f"{base}/cases/{other}/")
    assert response.status == 404 and page.locator("h1").inner_text() == "Not found"


def test_the_officer_pages_fit_390_px(served, narrow_page, tmp_path):
    base, officer = served["base"], served["users"]["officer"]
    sign_in(narrow_page, base, officer["username"])
    for path in ("/worklist/", "/timelog/", "/cases/new/"):
        narrow_page.goto(base + path)
        assert narrow_page.evaluate("document.documentElement.scrollWidth") <= 390, path
    screenshot(narrow_page, "worklist-390px", tmp_path)
    case_id, _ = _open_first_case(narrow_page, base)
    assert narrow_page.evaluate("document.documentElement.scrollWidth") <= 390, "case page"
