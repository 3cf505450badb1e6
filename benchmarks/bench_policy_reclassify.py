"""``policy reclassify`` on the generated docket (target ≤ 15 s at scale 1.0 on SQLite).

Three runs on the docket generate_sqlite built (its cases have no priority yet):

1. the rule set in force on the benchmark date (dhs-2021): every open case is written;
2. the same again: nothing changes, only the read and the comparison remain;
3. pep-2014 as of the same date: every case is written again, with the heaviest facts (distinct
   misdemeanour incidents).

Baseline: a plain NumPy pass over the same facts, i.e. evaluating the same rule set with
``engine.evaluate_columns`` on the fact columns already in memory (no database read or write).
The ratio shows what reading the facts from the database and writing the levels back costs on
top of the rule evaluation itself; ``phases`` splits each run into read, compute and write.
"""

from __future__ import annotations

import statistics
import time


def run(ctx) -> dict:
    return bench_policy_reclassify(ctx.sqlite_db)


def bench_policy_reclassify(db, repeat: int = 5) -> dict:
    if not db.exists():
        return {"skipped": "needs the generate_sqlite docket"}
    from django.db import connections

    from benchmarks.run import AS_OF
    from caseload.policy import engine, services
    from caseload.policy.facts import fact_columns

    connections.close_all()
    services.do_load_shipped(actor_label="bench:policy_reclassify")
    doc = services.rule_set_in_force(AS_OF)
    first = services.do_reclassify(as_of=AS_OF, actor_label="bench:policy_reclassify")
    again = services.do_reclassify(as_of=AS_OF, actor_label="bench:policy_reclassify")
    other = services.do_reclassify(as_of=AS_OF, rule_set_id="pep-2014", actor_label="bench:policy_reclassify")

    columns = fact_columns(doc.rule_facts(), as_of=AS_OF)
    numpy_times = []
    for _ in range(repeat):
        started = time.perf_counter()
        level, _ = engine.evaluate_columns(doc, columns.values, len(columns))
        numpy_times.append(time.perf_counter() - started)
    baseline = statistics.median(numpy_times)
    same = dict(zip(doc.level_codes(), [int((level == i).sum()) for i in range(len(doc.levels))], strict=True))
    assert same == first.counts, "the baseline must compute the same levels"
    return {
        "cases": first.cases, "rule_set": first.rule_set, "as_of": first.as_of.isoformat(),
        "seconds": first.seconds, "changed": first.changed, "phases": first.phases, "counts": first.counts,
        "unchanged_rerun_seconds": again.seconds, "unchanged_rerun_changed": again.changed,
        "unchanged_rerun_phases": again.phases,
        "pep_2014_seconds": other.seconds, "pep_2014_changed": other.changed, "pep_2014_phases": other.phases,
        "baseline": "the same rule set evaluated by NumPy (engine.evaluate_columns) over the same fact columns "
                    "already in memory: no database read or write",
        "baseline_seconds": round(baseline, 4), "ratio": round(first.seconds / baseline, 1),
        "unchanged_rerun_ratio": round(again.seconds / baseline, 1),
        "targets": {"seconds": 15.0},
    }
