"""`caseload workload weights` over the 12 months ending at the docket's as-of date, scale 1.0
(target ≤ 30 s).

The window is [as-of − 12 months, as-of), the generation date of the benchmark docket
(benchmarks.run.AS_OF), so the figure does not depend on the day the benchmark runs. Baseline:
the same point estimates (Σ minutes ÷ Σ case-months by supervision type, stage and priority, the
service's grouping, with the same days-open-in-the-window exposure) as two plain SQL aggregates
on the same connection, without intervals; the ratio shows what the per-case columns and the
bootstrap add.
"""

from __future__ import annotations

import time

GROUP_BY = ("supervision_type", "stage", "priority")


def run(ctx) -> dict:
    from django.db import connection

    from benchmarks.run import AS_OF
    from caseload.staffing import services

    start, end = services.default_period(None, AS_OF)
    started = time.perf_counter()
    doc = services.measure_weights(start=start, end=end, group_by=GROUP_BY)
    seconds = time.perf_counter() - started

    dims = ", ".join(services.DIMENSIONS[d] for d in GROUP_BY)
    scan = "docket_case c NOT INDEXED" if connection.vendor == "sqlite" else "docket_case c"
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT {dims}, SUM(t.minutes) FROM workload_timelogentry t "
            "JOIN docket_case c ON c.id = t.case_id WHERE t.started_at >= %s AND t.started_at < %s "
            f"GROUP BY {dims}",
            [services._day_start(start), services._day_start(end)],
        )
        minutes = cur.fetchall()
        cur.execute(
            f"SELECT {dims}, SUM({services._overlap_days_sql()}) FROM {scan} "
            f"WHERE c.opened_on < %s AND (c.closed_on IS NULL OR c.closed_on > %s) GROUP BY {dims}",
            [end, end, start, end, start],
        )
        months = cur.fetchall()
    baseline = time.perf_counter() - started
    return {
        "period": doc["period"], "seconds": round(seconds, 2), "case_types": len(doc["weights"]),
        "case_months": round(sum(w["case_months"] for w in doc["weights"])),
        "baseline": "point estimates only, as two SQL aggregates grouped by supervision type, stage and priority "
                    "(no per-case columns, no bootstrap)",
        "baseline_case_types": len(months), "baseline_types_with_minutes": len(minutes),
        "baseline_seconds": round(baseline, 2), "ratio": round(seconds / baseline, 2),
        "targets": {"seconds": 30},
    }
