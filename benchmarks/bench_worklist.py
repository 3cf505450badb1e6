"""Officer worklist (target: warm p95 ≤ 150 ms for the busiest officer of the docket) and the
national overdue summary (target ≤ 3 s), at scale 1.0 on the generated SQLite docket.

The generated docket is bulk-loaded, so the check-in facts are derived first (timed and
reported as ``refresh_seconds``; a one-off after each load). The worklist is measured for the
officer with the most open cases in the whole docket: the worst case, not a typical one. The
first call on a fresh database connection is reported on its own (``cold_seconds``); the median
and 95th percentile are over the calls after it. Baselines are measured in the same run on a
raw sqlite3 connection:

- worklist: the same officer's open cases joined to their people, fetched with the columns the
  rules read (the I/O floor: no derivation, no ordering, no output);
- overdue: one scan grouping the open cases by officer and office (count only, no rules).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import statistics
import time

AS_OF = dt.date(2026, 11, 1)  # the generated docket's reference date (benchmarks.run.AS_OF)
WORKLIST_RUNS = 40
OVERDUE_RUNS = 5


def run(ctx) -> dict:
    if not ctx.sqlite_db.exists():
        return {"skipped": "needs the generate_sqlite docket"}
    from django.db import connections

    connections.close_all()
    return bench_worklist(ctx.sqlite_db)


def _pick_officer(con: sqlite3.Connection) -> tuple[int, str, int]:
    """The officer with the most open cases (lowest id among equals), their office and count."""
    return con.execute(
        "SELECT c.officer_id, f.code, COUNT(*) FROM docket_case c JOIN offices_officer o ON o.id = c.officer_id "
        "JOIN offices_fieldoffice f ON f.id = o.office_id WHERE c.status = 'open' "
        "GROUP BY c.officer_id, f.code ORDER BY 3 DESC, 1 LIMIT 1").fetchone()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_worklist(db) -> dict:
    from caseload.docket.checkins import refresh_derived
    from caseload.docket.worklist import officer_worklist, overdue_summary

    started = time.perf_counter()
    refreshed = refresh_derived(all_cases=False, actor_label="bench:worklist")
    refresh_seconds = time.perf_counter() - started

    con = sqlite3.connect(db)
    officer, office, cases = _pick_officer(con)
    from django.db import connections

    connections.close_all()
    t0 = time.perf_counter()
    officer_worklist(officer=officer, as_of=AS_OF)  # the first call, on a new connection
    cold = time.perf_counter() - t0
    times, doc = [], None
    for _ in range(WORKLIST_RUNS):
        t0 = time.perf_counter()
        doc = officer_worklist(officer=officer, as_of=AS_OF)
        times.append(time.perf_counter() - t0)
    floor_sql = (
        "SELECT c.id, c.unit, c.stage, c.opened_on, c.next_report_due, c.last_contact_on, c.final_order_date, "
        "c.stay_of_removal_until, c.appeal_pending, c.warning_served_on, c.custody_review_count, c.ns_reviewed_on, "
        "c.td_followed_up_on, c.records_check_owed_since, c.hit_review_owed_since, c.priority, c.priority_rank, "
        "p.a_number, p.national_security_flag, p.citizenship_claim, p.citizenship_claim_raised_on, p.failed_to_report_on "
        "FROM docket_case c JOIN docket_person p ON p.id = c.person_id WHERE c.officer_id = ? AND c.status = 'open'")
    floor = []
    for _ in range(WORKLIST_RUNS):
        t0 = time.perf_counter()
        con.execute(floor_sql, (officer,)).fetchall()
        floor.append(time.perf_counter() - t0)

    overdue_summary(as_of=AS_OF)  # warm
    national, summary = [], None
    for _ in range(OVERDUE_RUNS):
        t0 = time.perf_counter()
        summary = overdue_summary(as_of=AS_OF)
        national.append(time.perf_counter() - t0)
    scan = []
    for _ in range(OVERDUE_RUNS):
        t0 = time.perf_counter()
        con.execute("SELECT officer_id, office_id, COUNT(*) FROM docket_case WHERE status = 'open' "
                    "GROUP BY officer_id, office_id").fetchall()
        scan.append(time.perf_counter() - t0)
    con.close()

    wl_median, wl_p95, floor_median = statistics.median(times), _percentile(times, 0.95), statistics.median(floor)
    od_median, scan_median = statistics.median(national), statistics.median(scan)
    return {
        "as_of": AS_OF.isoformat(),
        "refresh_seconds": round(refresh_seconds, 2),
        "refreshed_cases": refreshed["cases"],
        "worklist": {
            "officer": officer, "office": office, "open_cases": cases, "chosen_as": "the busiest officer of the docket",
            "tasks": doc["counts"]["tasks"], "overdue": doc["counts"]["overdue"],
            "cold_seconds": round(cold, 4), "runs": WORKLIST_RUNS,
            "median_seconds": round(wl_median, 4), "p95_seconds": round(wl_p95, 4), "max_seconds": round(max(times), 4),
            "baseline": "the same officer's open cases joined to their people with the rule columns, raw sqlite3 "
                        "(fetch only: no derivation, ordering or output)",
            "baseline_seconds": round(floor_median, 4), "ratio": round(wl_median / floor_median, 2),
        },
        "overdue": {
            "overdue_tasks": summary["totals"]["overdue"], "unassigned_cases": len(summary["unassigned_cases"]),
            "stale_national_security_cases": len(summary["stale_national_security_cases"]), "runs": OVERDUE_RUNS,
            "median_seconds": round(od_median, 3), "max_seconds": round(max(national), 3),
            "baseline": "one raw sqlite3 scan counting open cases by officer and office (no rules)",
            "baseline_seconds": round(scan_median, 3), "ratio": round(od_median / scan_median, 2),
        },
        "targets": {"worklist.p95_seconds": 0.150, "overdue.max_seconds": 3.0},
    }
