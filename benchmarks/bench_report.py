"""`caseload report build --format pdf` of the national report at scale 1.0 (target ≤ 60 s).

Measured: gathering the figures (:func:`caseload.reports.report.build`: docket summary, overdue
summary, officer capacity, staffing plan with the allocation of 60 hires, weights, policy shares,
manual, training, countries) and rendering the PDF with WeasyPrint, each timed; the measured
weights and the check-in facts of the freshly generated cases are computed first, outside the
timing (as the staffing benchmark does; `make demo` runs `caseload tasks refresh`). Baseline: the
headline figures alone (what `caseload snapshot take` computes, no report sections, charts or
rendering), in the same run.
"""

from __future__ import annotations

import time


def run(ctx) -> dict:
    from caseload.reports import figures, report
    from caseload.staffing import services

    from caseload.docket.checkins import ensure_derived_current

    services.weights_for("measured")
    ensure_derived_current(actor_label="bench")  # the one-time derivation after a bulk load, as `make demo` runs it
    started = time.perf_counter()
    doc = report.build()
    gathered = time.perf_counter() - started
    started = time.perf_counter()
    pdf = report.render_pdf(doc)
    rendered = time.perf_counter() - started
    started = time.perf_counter()
    figures.headline()
    baseline = time.perf_counter() - started
    total = gathered + rendered
    return {
        "as_of": doc["as_of"],
        "cases": doc["headline"]["docket"]["cases"],
        "seconds": round(total, 2),
        "phases": {"figures": round(gathered, 2), "pdf": round(rendered, 2)},
        "pdf_bytes": len(pdf),
        "charts": len(doc["charts"]),
        "baseline": "the headline figures of the same date alone (what snapshot take computes; no sections, charts or PDF)",
        "baseline_seconds": round(baseline, 2),
        "ratio": round(total / baseline, 2) if baseline else None,
        "targets": {"seconds": 60},
    }
