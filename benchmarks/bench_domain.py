"""Domain figures of the generated docket at the benchmark date (docs/worklist.md, docs/policy.md).

- Priority shares: the national share of open cases per level under each shipped rule set,
  evaluated as of the benchmark date (``policy compare``'s classification, nothing stored).
- Worklist targets (docs/worklist.md, "Backlog by office"): per office the overdue share of all
  tasks of its open cases and its capacity %; across offices the Spearman rank correlation of
  the two (target ≥ 0.8), Washington's overdue share against El Paso's (target ≥ 2x) and the
  national overdue share (target 20–60 %).

Capacity % is the generator's required case minutes ÷ available minutes per office on the
full-scale plan (``synthetic.load_ratio``): the load the docket's officers face.
"""

from __future__ import annotations

import time

TARGETS = {"spearman_min": 0.8, "was_over_elp_min": 2.0, "national_share_range": (0.20, 0.60)}


def run(ctx) -> dict:
    if not ctx.sqlite_db.exists():
        return {"skipped": "needs the generate_sqlite docket"}
    from django.db import connections

    from benchmarks.run import AS_OF

    connections.close_all()
    started = time.perf_counter()
    from caseload.docket.checkins import ensure_derived_current

    ensure_derived_current(actor_label="bench:domain")
    doc = {"as_of": AS_OF.isoformat(), "priority_shares": priority_shares(AS_OF), **worklist_targets(AS_OF)}
    doc["seconds"] = round(time.perf_counter() - started, 1)
    return doc


def priority_shares(as_of) -> dict:
    """{rule set: {level: share of open cases}} as of ``as_of`` (nothing stored)."""
    from caseload.policy import services

    services.do_load_shipped(actor_label="bench:domain")
    out = {}
    for row in services.list_rule_sets():
        found = services.classify_open_cases(services.access_rule_set(row["id"]), as_of=as_of)
        counts = found.counts()
        total = sum(counts.values()) or 1
        out[row["id"]] = {level: round(n / total, 4) for level, n in counts.items()}
    return out


def spearman(x, y) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def plan_capacity_pct(as_of) -> dict[str, float]:
    """Office code -> capacity % (required ÷ available case minutes) on the generator's full-scale plan."""
    from caseload.ingest import generate as gen
    from caseload.ingest import synthetic

    inputs = gen.build_inputs(scale=1.0, seed=1, as_of=as_of)
    plans = synthetic.plan(inputs)
    return {p.code: round(100 * float(r), 1) for p, r in zip(plans, synthetic.load_ratio(inputs, plans), strict=True)}


def worklist_targets(as_of) -> dict:
    from caseload.docket.worklist import task_shares_by_office

    offices = task_shares_by_office(as_of=as_of)
    capacity = plan_capacity_pct(as_of)
    for o in offices:
        o["capacity_pct"] = capacity.get(o["office"])
    rows = [o for o in offices if o["overdue_share"] is not None and o["capacity_pct"] is not None]
    rho = spearman([o["capacity_pct"] for o in rows], [o["overdue_share"] for o in rows])
    share = {o["office"]: o["overdue_share"] for o in rows}
    ratio = share["WAS"] / share["ELP"] if share.get("ELP") else None
    national = sum(o["overdue"] for o in rows) / max(1, sum(o["tasks"] for o in rows))
    low, high = TARGETS["national_share_range"]
    targets = {
        "spearman_capacity_vs_overdue": {"value": round(rho, 3), "target": f">= {TARGETS['spearman_min']}",
                                         "met": rho >= TARGETS["spearman_min"]},
        "was_over_elp_overdue_share": {"value": round(ratio, 2) if ratio else None,
                                       "target": f">= {TARGETS['was_over_elp_min']}",
                                       "met": bool(ratio and ratio >= TARGETS["was_over_elp_min"])},
        "national_overdue_share": {"value": round(national, 4), "target": f"{low} to {high}",
                                   "met": low <= national <= high},
    }
    return {"offices": offices, "targets": targets}
