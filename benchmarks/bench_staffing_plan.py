"""`caseload staffing plan --hires 60` at scale 1.0 (target ≤ 5 s for each weight set), against the
proportional rule.

The measured weights are computed first, outside the timing (the plan reads stored weights).
Baseline: the same plan with the hires split in proportion to docket size; reported are both
times and both allocations' largest shortfall ratio and total shortfall.
"""

from __future__ import annotations

import time


def run(ctx) -> dict:
    from caseload.staffing import services

    services.weights_for("measured")
    panel = services.PARAMETERS_FILE.with_name("panel_example.toml")
    services.do_load_adjusted_weights(panel, actor_label="bench")
    timings = {}
    docs = {}
    for kind in ("measured", "adjusted"):
        started = time.perf_counter()
        docs[kind] = services.staffing_plan(hires=60, weights_kind=kind)
        timings[kind] = time.perf_counter() - started
    alloc = docs["adjusted"]["national"]["allocation"]
    started = time.perf_counter()
    services.staffing_plan(weights_kind="adjusted")  # without the integer programme
    without = time.perf_counter() - started
    return {
        "seconds_measured_weights": round(timings["measured"], 3),
        "seconds_adjusted_weights": round(timings["adjusted"], 3),
        "fte_need_measured": docs["measured"]["national"]["fte_need"],
        "fte_need_adjusted": docs["adjusted"]["national"]["fte_need"],
        "on_board": docs["adjusted"]["national"]["on_board"],
        "max_shortfall_ratio": alloc["max_shortfall_ratio"],
        "total_shortfall": alloc["total_shortfall"],
        "baseline": "hires in proportion to docket size (the naive rule), same plan",
        "baseline_max_shortfall_ratio": alloc["proportional"]["max_shortfall_ratio"],
        "baseline_total_shortfall": alloc["proportional"]["total_shortfall"],
        "ratio": round(alloc["max_shortfall_ratio"] / alloc["proportional"]["max_shortfall_ratio"], 4)
        if alloc["proportional"]["max_shortfall_ratio"] else None,
        "seconds_without_allocation": round(without, 3),
        "max_capacity_pct_after": alloc["max_capacity_pct_after"],
        "baseline_max_capacity_pct_after": alloc["proportional"]["max_capacity_pct_after"],
        "most_hires_in_one_office": max(o["hires"] for o in docs["adjusted"]["offices"]),
        "weights_used": {kind: docs[kind]["national"]["weights"]["period"] or docs[kind]["national"]["weights"]["name"]
                         for kind in docs},
        "targets": {"seconds_measured_weights": 5, "seconds_adjusted_weights": 5},
    }
