"""A supervisor works their office in the browser: reviews a records-check hit and applies a balance
of at most five moves; the served database then holds the review and the moves, each with an audit
event whose actor is that user.

The test sets up its own office (ATL) on the served docket through the command line: a second
officer (so there is something to balance), a check-in whose records check was a hit, and the
office's supervisor, so the WAS users the other browser tests read are left as generated."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.browser import PASSWORD, cli, screenshot, sign_in

CODE = "ATL"
USERNAME = "supervisor.atl"


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows from the served database (SQLite file or PostgreSQL), read outside the app."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            return con.execute(sql.replace("%s", "?"), params).fetchall()
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as con:
        return con.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def office(served):
    url = served["url"]
    case = json.loads(cli(url, "docket", "list", "--office", CODE, "--limit", "1", "--format", "json").stdout)[0]
    hit = json.loads(cli(url, "checkin", "record", "--case", str(case["case_id"]), "--outcome", "appeared",
                         "--records-check", "hit", "--detail", "open warrant in another state", "--format", "json").stdout)
    added = json.loads(cli(url, "officers", "add", "Rosa Quintero", "--office", CODE, "--unit", "non_detained",
                           "--format", "json").stdout)
    cli(url, "users", "add", USERNAME, "--role", "supervisor", "--office", CODE, "--password-stdin", stdin=PASSWORD + "\n")
    user_id = query(url, "SELECT id FROM auth_user WHERE username = %s", (USERNAME,))[0][0]
    return {"case": case, "check_in": hit["check_in"], "new_officer": added["id"], "user_id": user_id}


def test_a_supervisor_reviews_a_hit_and_applies_a_balance(served, office, page, tmp_path):
    base, url = served["base"], served["url"]
    sign_in(page, base, USERNAME)
    page.get_by_role("link", name="My office").click()
    page.wait_for_load_state()
    assert page.url == f"{base}/office/{CODE}/"
    assert page.locator("h1").inner_text() == "Atlanta field office"
    screenshot(page, "office-supervisor", tmp_path)

    # The records-check hit: open its review form, choose the outcome, write the notes.
    check_in = office["check_in"]
    row = page.locator("#hits-table tbody tr", has_text="open warrant in another state")
    row.get_by_text(f"Review hit {check_in}").click()
    row.get_by_label("Outcome").select_option("referred")
    row.get_by_label("Notes").fill("warrant confirmed with the issuing state; referred to the fugitive unit")
    screenshot(page, "office-hit-review-form", tmp_path)
    row.get_by_role("button", name="Record the review").click()
    page.wait_for_load_state()
    assert f"Records-check hit of check-in {check_in} (case {office['case']['case_id']}) reviewed." in \
        page.locator(".messages").inner_text()

    # Balancing: preview at most five moves (htmx puts the proposal in place), then apply them.
    panel = page.locator("#balancing")
    panel.get_by_label("Most cases to move").fill("5")
    panel.get_by_role("button", name="Preview the moves").click()
    page.locator("#balance-moves").wait_for()
    proposed = page.locator("#balance-moves tbody tr").count()
    assert 1 <= proposed <= 5
    assert "/balance/" not in page.url                   # the proposal came in place (htmx), no navigation
    screenshot(page, "office-balance-preview", tmp_path)
    preview = page.locator("#balance-preview")
    assert preview.get_by_label("Most cases to move").input_value() == "5"
    preview.get_by_label("Reason").fill("the new officer starts with no cases")
    preview.get_by_role("button", name="Apply the moves").click()
    page.wait_for_load_state()
    message = page.locator(".messages").inner_text()
    assert f"{proposed} case{'s' if proposed != 1 else ''} moved" in message
    screenshot(page, "office-balance-applied", tmp_path)

    # The database holds the review and the moves, each audited with this user as actor.
    reviewed = query(url, "SELECT hit_reviewed_by_id, hit_review_decision FROM docket_checkin WHERE id = %s", (check_in,))
    assert reviewed == [(office["user_id"], "Referred for enforcement action: warrant confirmed with the issuing state; "
                                            "referred to the fugitive unit")]
    review_events = query(url, "SELECT actor_id, actor_label FROM core_auditevent WHERE action = 'checkin.hit_reviewed' "
                               "AND object_id = %s", (str(office["case"]["case_id"]),))
    assert review_events == [(office["user_id"], USERNAME)]
    moves = query(url, "SELECT case_id, to_officer_id, actor_label FROM staffing_assignmentrecord WHERE method = 'balancing' "
                       "AND office_id = (SELECT id FROM offices_fieldoffice WHERE code = %s)", (CODE,))
    assert len(moves) == proposed and {m[1] for m in moves} == {office["new_officer"]} and {m[2] for m in moves} == {USERNAME}
    move_events = query(url, "SELECT object_id, actor_id FROM core_auditevent WHERE action = 'case.reassigned' "
                             "AND actor_id = %s", (office["user_id"],))
    assert sorted(int(e[0]) for e in move_events) == sorted(m[0] for m in moves)
    on_new = query(url, "SELECT COUNT(*) FROM docket_case WHERE officer_id = %s AND status = 'open'", (office["new_officer"],))
    assert on_new == [(proposed,)]


def test_the_office_page_fits_a_phone(served, office, narrow_page, tmp_path):
    sign_in(narrow_page, served["base"], USERNAME)
    narrow_page.goto(f"{served['base']}/office/{CODE}/")
    assert narrow_page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(narrow_page, "office-supervisor-narrow", tmp_path)
