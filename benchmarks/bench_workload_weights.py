"""`caseload workload weights` over 12 months of time log at scale 1.0 (target ≤ 30 s).

Baseline: the same point estimates (Σ minutes ÷ Σ case-months by case type) as two plain SQL
aggregates on the same connection, without intervals; the ratio shows what the per-case
columns and the bootstrap add.
"""

from __future__ import annotations

import datetime as dt
import time


def run(ctx) -> dict:
    from django.db import connection

    from caseload.core import clock
    from caseload.staffing import services

    end = clock.today()
    start = end - dt.timedelta(days=365)
    started = time.perf_counter()
    doc = services.measure_weights(start=start, end=end, group_by=("supervision_type", "stage", "priority"))
    seconds = time.perf_counter() - started

    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.supervision_type, c.stage, SUM(t.minutes) FROM workload_timelogentry t "
            "JOIN docket_case c ON c.id = t.case_id WHERE t.started_at >= %s AND t.started_at < %s "
            "GROUP BY c.supervision_type, c.stage",
            [services._day_start(start), services._day_start(end)],
        )
        cur.fetchall()
        cur.execute(
            "SELECT supervision_type, stage, SUM(julianday(%s) - julianday(MAX(opened_on, %s))) FROM docket_case "
            "WHERE opened_on < %s GROUP BY supervision_type, stage" if connection.vendor == "sqlite" else
            "SELECT supervision_type, stage, SUM(%s::date - GREATEST(opened_on, %s::date)) FROM docket_case "
            "WHERE opened_on < %s GROUP BY supervision_type, stage",
            [end, start, end],
        )
        cur.fetchall()
    baseline = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2), "case_types": len(doc["weights"]),
        "case_months": round(sum(w["case_months"] for w in doc["weights"])),
        "baseline": "point estimates only, as two SQL aggregates (no per-case columns, no bootstrap)",
        "baseline_seconds": round(baseline, 2), "ratio": round(seconds / baseline, 2),
        "targets": {"seconds": 30},
    }
