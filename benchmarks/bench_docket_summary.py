"""docket summary at scale 1.0 (target ≤ 2 s), against the same aggregates as raw SQL."""

from __future__ import annotations

import sqlite3
import statistics
import time


def run(ctx) -> dict:
    return bench_docket_summary(ctx.sqlite_db)


def bench_docket_summary(db, repeat: int = 5) -> dict:
    if not db.exists():
        return {"skipped": "needs the generate_sqlite docket"}
    from django.db import connections

    from caseload.docket.services import summary

    connections.close_all()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        doc = summary()
        times.append(time.perf_counter() - started)
    con = sqlite3.connect(db)
    raw_times = []
    for _ in range(repeat):
        started = time.perf_counter()
        con.execute("SELECT office_id, COUNT(*) FROM docket_case WHERE status = 'open' AND unit = 'non_detained' GROUP BY office_id").fetchall()
        con.execute("SELECT office_id, COUNT(*) FROM offices_officer WHERE unit = 'non_detained' AND status != 'separated' GROUP BY office_id").fetchall()
        con.execute("SELECT COUNT(*) FROM docket_person").fetchone()
        con.execute("SELECT COUNT(DISTINCT person_id) FROM docket_conviction").fetchone()
        con.execute("SELECT COUNT(*) FROM docket_case WHERE status = 'open' AND unit = 'non_detained' AND stage = 'final_order'").fetchone()
        raw_times.append(time.perf_counter() - started)
    median, raw_median = statistics.median(times), statistics.median(raw_times)
    return {
        "cases": doc["cases"], "median_seconds": round(median, 3), "max_seconds": round(max(times), 3),
        "baseline": "the same aggregates as hand-written SQL on a raw sqlite3 connection",
        "baseline_seconds": round(raw_median, 3), "ratio": round(median / raw_median, 3),
        "targets": {"median_seconds": 2.0},
        "calibration": {
            "convicted": doc["convicted"], "final_order_share": round(doc["final_orders"] / doc["cases"], 4),
            "cases_per_officer": {o["office"]: o["cases_per_officer"] for o in doc["by_office"]},
        },
    }
