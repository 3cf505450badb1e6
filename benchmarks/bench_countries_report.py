"""``countries report`` at scale 1.0 (target ≤ 3 s), against the same figures as hand-written SQL.

Runs the service on the generated docket (as of the generation date). Baseline: the same
aggregates written by hand on a raw sqlite3 connection (open final orders by citizenship with
the same join order the service forces, the per-country request counts, the issued requests'
durations with medians per country in Python).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import statistics
import time
from collections import defaultdict

from benchmarks.run import AS_OF


def run(ctx) -> dict:
    return bench_countries_report(ctx.sqlite_db)


def raw_report(con: sqlite3.Connection, as_of: dt.date) -> int:
    day = as_of.isoformat()
    window = (as_of - dt.timedelta(days=365)).isoformat()
    stalled = (as_of - dt.timedelta(days=90)).isoformat()
    quota_start = dt.date(as_of.year if as_of.month >= 10 else as_of.year - 1, 10, 1).isoformat()
    orders = con.execute(
        "SELECT p.citizenship, COUNT(*) FROM docket_case c NOT INDEXED CROSS JOIN docket_person p ON p.id = c.person_id "
        "WHERE c.status = 'open' AND c.stage = 'final_order' AND c.final_order_date <= ? GROUP BY p.citizenship",
        [day]).fetchall()
    pending = "(decided_on IS NULL OR decided_on > :d) AND (closed_on IS NULL OR closed_on > :d)"
    issued = "status IN ('issued', 'expired') AND decided_on <= :d"
    counts = con.execute(
        f"SELECT country_id, SUM({pending}), SUM({pending} AND requested_on < :s), "
        f"SUM({issued} AND decided_on >= :w), SUM(status = 'refused' AND decided_on <= :d AND decided_on >= :w), "
        f"SUM({issued} AND decided_on >= :q) FROM countries_traveldocumentrequest WHERE requested_on <= :d GROUP BY country_id",
        {"d": day, "s": stalled, "w": window, "q": quota_start}).fetchall()
    durations = defaultdict(list)
    for country, days in con.execute(
            "SELECT country_id, julianday(decided_on) - julianday(requested_on) FROM countries_traveldocumentrequest "
            f"WHERE requested_on <= :d AND {issued} AND decided_on >= :w", {"d": day, "w": window}):
        durations[country].append(days)
    medians = {c: statistics.median(v) for c, v in durations.items()}
    tiers = con.execute("SELECT country_id, tier, annual_document_quota, effective_on FROM countries_cooperationtierchange "
                        "WHERE effective_on <= ? ORDER BY country_id, effective_on", [day]).fetchall()
    return len(orders) + len(counts) + len(medians) + len(tiers)


def bench_countries_report(db, repeat: int = 5) -> dict:
    if not db.exists():
        return {"skipped": "needs the generate_sqlite docket"}
    from django.db import connections

    from caseload.countries.models import TravelDocumentRequest
    from caseload.countries.services import report

    connections.close_all()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        rows = report(as_of=AS_OF)
        times.append(time.perf_counter() - started)
    requests = TravelDocumentRequest.objects.count()
    con = sqlite3.connect(db)
    raw_times = []
    for _ in range(repeat):
        started = time.perf_counter()
        raw_report(con, AS_OF)
        raw_times.append(time.perf_counter() - started)
    con.close()
    median, raw_median = statistics.median(times), statistics.median(raw_times)
    return {
        "countries": len(rows), "travel_document_requests": requests, "as_of": AS_OF.isoformat(),
        "median_seconds": round(median, 3), "max_seconds": round(max(times), 3),
        "baseline": "the same aggregates as hand-written SQL on a raw sqlite3 connection, medians in Python",
        "baseline_seconds": round(raw_median, 3), "ratio": round(median / raw_median, 3),
        "targets": {"median_seconds": 3.0},
        "suggested_differs_from_official": sum(1 for r in rows if r["suggested_tier"] and r["suggested_tier"] != r["tier"]),
    }
