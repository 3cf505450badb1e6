"""docket summary at scale 1.0 (target ≤ 2 s), against the same aggregates as raw SQL.

Also reports the docket's calibration, split honestly: ``pinned`` are figures the generator is
given as inputs (Washington's and Atlanta's cases per officer, the final-order and convicted
shares as per-case probabilities), so matching them shows only that the inputs were applied;
``emergent`` are figures that the inputs do not fix directly (the other offices' caseloads, how
far each office's share of the docket is from its share of the FY2016 arrests and encounters,
the stage mix).
"""

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
        "calibration": calibration(doc),
    }


def calibration(doc: dict) -> dict:
    from django.db.models import Count

    from caseload.docket.models import Case
    from caseload.ingest import synthetic

    cal = synthetic.load_toml("calibration.toml")
    pinned_offices = cal["officers"]["pinned_cases_per_officer"]
    per_officer = {o["office"]: o["cases_per_officer"] for o in doc["by_office"]}
    aggregates = synthetic.load_aggregates()["files"]
    foia = {o["office"]: aggregates["arrests"]["by_office"].get(o["office"], 0)
            + aggregates["encounters"]["by_office"].get(o["office"], 0) for o in doc["by_office"]}
    free = [o for o in doc["by_office"] if o["office"] not in pinned_offices]
    free_cases, free_foia = sum(o["cases"] for o in free), sum(foia[o["office"]] for o in free)
    share_gap = max(abs(o["cases"] / free_cases - foia[o["office"]] / free_foia) for o in free) if free_cases else None
    stages = dict(Case.objects.filter(status="open", unit="non_detained").values_list("stage").annotate(n=Count("id")))
    d = cal["docket"]
    return {
        "pinned": {
            **{f"cases_per_officer.{code}": {"input": value, "realized": per_officer.get(code)}
               for code, value in pinned_offices.items()},
            "final_order_share": {"input": round(d["final_orders"] / d["open_cases"], 4),
                                  "realized": round(doc["final_orders"] / doc["cases"], 4)},
            "convicted_share": {"input": round(d["convicted"] / d["open_cases"], 4),
                                "realized": round(doc["convicted"] / doc["cases"], 4)},
        },
        "emergent": {
            "cases_per_officer_other_offices": {o["office"]: o["cases_per_officer"] for o in free},
            "office_share_max_abs_gap_vs_foia_arrests_encounters": round(share_gap, 5) if share_gap is not None else None,
            "stage_mix": {k: round(v / doc["cases"], 4) for k, v in sorted(stages.items())},
        },
    }

