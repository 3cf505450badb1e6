"""Task derivation on hand-built columns: each rule, its boundary dates, and the guards."""

import datetime as dt

import numpy as np
import pytest

from caseload.docket import tasks
from caseload.docket.tasks import RulesError, day_number, derive, load_rules, parse_rules

AS_OF = dt.date(2026, 6, 1)
RULES = load_rules()


def d(value: dt.date) -> float:
    return float(day_number(value))


def days(n: int) -> dt.date:
    return AS_OF + dt.timedelta(days=n)


BASE = {
    # An assigned pending case, seen recently, next check-in far ahead: it owes nothing.
    "assigned": True, "unit": "non_detained", "final_order": False,
    "opened_on": dt.date(2025, 1, 1), "next_report_due": days(100), "last_contact_on": days(-10),
    "reporting_cadence_days": 90,
    "final_order_date": None, "stay_of_removal_until": None, "appeal_pending": False,
    "warning_served_on": None, "custody_review_count": 0, "ns_reviewed_on": None, "td_followed_up_on": None,
    "records_check_owed_since": None, "hit_review_owed_since": None, "national_security": False,
    "claim_open": False, "claim_raised_on": None, "failed_to_report_on": None,
}


def columns(**fields) -> dict:
    row = {**BASE, **fields}
    out = {}
    for name, kind in tasks.CASE_COLUMNS.items():
        value = row[name]
        if kind == "day":
            out[name] = np.array([np.nan if value is None else d(value)])
        elif kind == "str":
            out[name] = np.array([value], dtype=object)
        else:
            out[name] = np.array([value])
    return out


def td_requests(*requests) -> dict:
    """Travel-document requests of case 0: (status, requested_on, expires_on or None)."""
    return {
        "case_index": np.zeros(len(requests), dtype=np.int64),
        "status": np.array([r[0] for r in requests], dtype=object),
        "requested_on": np.array([d(r[1]) for r in requests], dtype=float),
        "expires_on": np.array([np.nan if r[2] is None else d(r[2]) for r in requests], dtype=float),
    }


def found(td=None, as_of=AS_OF, horizon=None, **fields) -> dict[str, tuple[dt.date, bool]]:
    """task -> (due, overdue) for one case."""
    result = derive(columns(**fields), as_of=as_of, rules=RULES, td=td, horizon_days=horizon)
    return {RULES.codes[t]: (tasks.day_date(due), bool(late))
            for t, due, late in zip(result.task, result.due, result.overdue, strict=True)}


def final(**fields) -> dict:
    """A final-order case whose order is the given number of days old, owing nothing else."""
    age = fields.pop("age", 10)
    return {"final_order": True, "final_order_date": days(-age), "custody_review_count": 2, **fields}


def test_a_case_in_order_owes_only_its_next_check_in_and_contact():
    assert found() == {"check_in": (days(100), False), "stale_no_contact": (days(110), False)}


@pytest.mark.parametrize("due, overdue", [(0, False), (-1, True), (5, False)])
def test_check_in_is_overdue_only_after_its_day(due, overdue):
    assert found(next_report_due=days(due))["check_in"] == (days(due), overdue)


def test_a_case_with_no_schedule_owes_a_check_in_from_its_opening():
    assert found(next_report_due=None)["check_in"] == (dt.date(2025, 1, 1), True)


GRACE = RULES.param("stale_no_contact", "grace_days")


def test_the_stale_grace_is_thirty_days():
    assert GRACE == 30


@pytest.mark.parametrize("cadence, contact, overdue", [
    (365, -395, False), (365, -396, True),    # a yearly reporter is not stale at 90 days, nor at a year
    (180, -91, False), (180, -210, False), (180, -211, True),
    (60, -90, False), (60, -91, True),
])
def test_a_case_is_stale_after_its_own_cadence_plus_the_grace(cadence, contact, overdue):
    got = found(reporting_cadence_days=cadence, last_contact_on=days(contact))["stale_no_contact"]
    assert got == (days(contact + cadence + GRACE), overdue)


def test_a_case_never_contacted_counts_from_its_opening():
    assert found(last_contact_on=None)["stale_no_contact"] == (dt.date(2025, 1, 1) + dt.timedelta(days=90 + GRACE), True)


@pytest.mark.parametrize("opened, overdue", [(0, False), (-1, True)])
def test_an_unassigned_case_is_flagged_from_the_day_it_opens(opened, overdue):
    got = found(assigned=False, opened_on=days(opened), last_contact_on=days(opened))
    assert got["assign_officer"] == (days(opened), overdue)
    assert "assign_officer" not in found(opened_on=days(opened), last_contact_on=days(opened))


@pytest.mark.parametrize("owed, overdue", [(0, False), (-1, True)])
def test_a_records_check_is_owed_from_the_check_in_that_lacked_it(owed, overdue):
    assert found(records_check_owed_since=days(owed))["records_check"] == (days(owed), overdue)


@pytest.mark.parametrize("hit, overdue", [(-2, False), (-3, True)])
def test_a_hit_waits_two_days_for_a_supervisor(hit, overdue):
    assert found(hit_review_owed_since=days(hit))["records_check_hit_review"] == (days(hit + 2), overdue)


def test_failure_to_report_is_due_from_the_marking():
    assert found(failed_to_report_on=days(-1))["failure_to_report"] == (days(-1), True)
    assert found(failed_to_report_on=days(0))["failure_to_report"] == (days(0), False)


@pytest.mark.parametrize("raised, expected_due", [(days(-14), days(0)), (days(-15), days(-1)), (None, dt.date(2025, 1, 15))])
def test_an_open_citizenship_claim_needs_a_decision_within_14_days(raised, expected_due):
    got = found(claim_open=True, claim_raised_on=raised)["citizenship_claim_decision"]
    assert got == (expected_due, expected_due < AS_OF)
    assert "citizenship_claim_decision" not in found(claim_open=False, claim_raised_on=raised)


@pytest.mark.parametrize("reviewed, overdue", [(-30, False), (-31, True)])
def test_national_security_cases_are_reviewed_every_30_days(reviewed, overdue):
    assert found(national_security=True, ns_reviewed_on=days(reviewed))["national_security_review"] == (days(reviewed + 30), overdue)
    assert "national_security_review" not in found(national_security=False, ns_reviewed_on=days(reviewed))


def test_a_national_security_case_never_reviewed_counts_from_its_opening():
    assert found(national_security=True)["national_security_review"] == (dt.date(2025, 1, 31), True)


@pytest.mark.parametrize("age, overdue", [(30, False), (31, True)])
def test_warning_and_travel_document_request_are_due_30_days_after_the_order(age, overdue):
    got = found(**final(age=age))
    assert got["failure_to_depart_warning"] == (days(30 - age), overdue)
    assert got["travel_document_request"] == (days(30 - age), overdue)


def test_a_served_warning_counts_only_for_the_order_it_was_served_for():
    assert "failure_to_depart_warning" not in found(**final(age=40, warning_served_on=days(-40)))
    assert "failure_to_depart_warning" not in found(**final(age=40, warning_served_on=days(-5)))
    # Served under an earlier order (before this order's date): owed again.
    assert found(**final(age=40, warning_served_on=days(-41)))["failure_to_depart_warning"] == (days(-10), True)


@pytest.mark.parametrize("status, expires, owed", [
    ("requested", None, False), ("interview", None, False), ("issued", None, False),
    ("issued", days(0), False), ("issued", days(-1), True),          # an issued document that has expired
    ("refused", None, True), ("expired", None, True), ("withdrawn", None, True),
])
def test_only_a_live_travel_document_request_satisfies_the_request_task(status, expires, owed):
    got = found(td=td_requests((status, days(-20), expires)), **final(age=60))
    assert ("travel_document_request" in got) is owed


@pytest.mark.parametrize("requested, followed, due", [
    (-30, None, 0), (-31, None, -1), (-60, -10, 20), (-10, -40, 20),
])
def test_a_pending_request_is_followed_up_every_30_days(requested, followed, due):
    got = found(td=td_requests(("interview", days(requested), None)), **final(age=90),
                td_followed_up_on=None if followed is None else days(followed))
    assert got["travel_document_follow_up"] == (days(due), due < 0)


def test_the_latest_pending_request_sets_the_follow_up_and_decided_requests_need_none():
    got = found(td=td_requests(("refused", days(-80), None), ("requested", days(-50), None),
                               ("interview", days(-20), None)), **final(age=90))
    assert got["travel_document_follow_up"] == (days(10), False)
    assert "travel_document_follow_up" not in found(td=td_requests(("issued", days(-50), None)), **final(age=90))


@pytest.mark.parametrize("unit, done, due", [
    ("non_detained", 0, 90), ("non_detained", 1, 180), ("non_detained", 2, None),
    ("detained", 0, 90), ("detained", 1, 180), ("atd", 0, None),      # no milestones for the ATD unit
])
def test_custody_reviews_fall_due_at_the_milestones_after_the_order(unit, done, due):
    got = found(**final(age=100, unit=unit, custody_review_count=done))
    if due is None:
        assert "custody_review" not in got
    else:
        assert got["custody_review"] == (days(due - 100), due - 100 < 0)


@pytest.mark.parametrize("blocker, blocked", [
    ({"stay_of_removal_until": days(0)}, True),
    ({"stay_of_removal_until": days(30)}, True),
    ({"stay_of_removal_until": days(-1)}, False),     # a stay that ended yesterday blocks nothing
    ({"appeal_pending": True}, True),
    ({"claim_open": True}, True),
    ({}, False),
])
def test_guards_suspend_removal_tasks_but_not_reviews(blocker, blocked):
    got = found(td=td_requests(("interview", days(-200), None)), **final(age=200, custody_review_count=0), **blocker)
    suspended = {"failure_to_depart_warning", "travel_document_request", "travel_document_follow_up"}
    assert suspended.isdisjoint(got) is blocked
    if not blocked:
        assert suspended - {"travel_document_request"} <= set(got)  # a pending request is live: no new request owed
    assert got["custody_review"] == (days(-110), True)


@pytest.mark.parametrize("due, listed", [(14, True), (15, False), (-400, True)])
def test_the_worklist_horizon_keeps_what_falls_due_within_14_days(due, listed):
    assert ("check_in" in found(horizon=RULES.horizon_days, next_report_due=days(due))) is listed


def test_worklist_order_is_overdue_then_priority_then_due_date():
    per_case = [columns(next_report_due=days(n)) for n in (-1, -5, 3, -2)]
    cols = {k: np.concatenate([c[k] for c in per_case]) for k in tasks.CASE_COLUMNS}
    result = derive(cols, as_of=AS_OF, rules=RULES, horizon_days=14)
    check_ins = result.task == RULES.codes.index("check_in")
    result = tasks.Tasks(*(a[check_ins] for a in (result.case_index, result.task, result.due, result.overdue)))
    rank = np.array([2, np.nan, 1, 2])
    order = tasks.worklist_order(result, rank, np.array([10, 11, 12, 13]))
    # Overdue: case 0 (rank 2, due -1), 1 (unclassified, due -5), 3 (rank 2, due -2); then case 2 (due later).
    assert result.case_index[order].tolist() == [3, 0, 1, 2]


def test_no_cases_give_no_tasks():
    empty = {k: np.array([], dtype=object if kind == "str" else float) for k, kind in tasks.CASE_COLUMNS.items()}
    assert len(derive(empty, as_of=AS_OF, rules=RULES)) == 0


# --- the rules file ---------------------------------------------------------------------------

def test_the_rules_file_names_every_known_task_with_a_source():
    assert set(RULES.codes) == set(tasks.KNOWN_TASKS)
    assert all(r.source and r.label for r in RULES.tasks.values())
    assert (RULES.id, RULES.version, RULES.horizon_days, RULES.missed_in_a_row) == ("docket-tasks", 2, 14, 2)


def _raw():
    import tomllib

    with tasks.RULES_FILE.open("rb") as fh:
        return tomllib.load(fh)


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r["tasks"].update(teleport={"label": "x", "assignee": "officer", "source": "x"}), "unknown task 'teleport'"),
    (lambda r: r["tasks"]["stale_no_contact"].pop("grace_days"), "task 'stale_no_contact' lacks grace_days"),
    (lambda r: r["tasks"]["check_in"].update(assignee="clerk"), "assignee 'clerk'"),
    (lambda r: r["tasks"]["records_check"].update(grace_days=-1), "records_check.grace_days"),
    (lambda r: r["tasks"]["custody_review"].update(milestones_days={"detained": [180, 90]}), "ascending"),
    (lambda r: r["guards"].update(suspends=["nothing"]), "unknown tasks ['nothing']"),
    (lambda r: r["worklist"].pop("horizon_days"), "missing or malformed"),
])
def test_a_malformed_rules_file_is_refused_with_the_reason(mutate, message):
    raw = _raw()
    mutate(raw)
    with pytest.raises(RulesError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_rules(raw)
