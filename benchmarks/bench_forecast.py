"""`caseload forecast run`: 1,000 repetitions x 60 months x 24 offices on the generated docket.

Target: the simulation with the local executor (two threads) ≤ 10 s on 2 cores; its CPU time
is reported beside the wall time, which other load on the machine inflates. Reported in the same run: the
dask.distributed LocalCluster (2 worker processes) time for the same model and seed, its ratio
to local (the baseline) and how many recorded figures differ between the two (target 0); the time to read the docket
and build the model; peak memory (the recorded figures, one chunk's working arrays measured
with tracemalloc, and the process's peak RSS).
"""

from __future__ import annotations

import resource
import time
import tracemalloc

import numpy as np

REPS, MONTHS, SEED = 1000, 60, 1


def run(ctx) -> dict:
    from caseload.forecast import engine, services

    started = time.perf_counter()
    state = services.read_docket()
    model, _ = services.build_model(state, services.load_scenario(None), MONTHS)
    build_seconds = time.perf_counter() - started

    cpu = time.process_time()
    local = engine.simulate(model, reps=REPS, seed=SEED, executor="local")
    local_cpu = time.process_time() - cpu
    started = time.perf_counter()
    summary = engine.summarise(local)
    summary_seconds = time.perf_counter() - started
    dask = engine.simulate(model, reps=REPS, seed=SEED, executor="dask", workers=2)
    differing = [k for k in engine.RECORDED if not np.array_equal(local.figures[k], dask.figures[k])]

    tracemalloc.start()
    engine.run_chunk(model, engine.CHUNK_REPS, np.random.SeedSequence(SEED).spawn(1)[0])
    _, chunk_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    figures_bytes = sum(v.nbytes for v in local.figures.values())
    last = summary["national"][-1]
    return {
        "reps": REPS, "months": MONTHS, "offices": len(model.offices), "cells_per_repetition": int(model.stock.size),
        "open_cases_today": int(model.stock.sum()),
        "open_cases_month_60_p50": last["open_cases"]["p50"],
        "build_seconds": round(build_seconds, 3),
        "local_seconds": round(local.seconds, 3),
        "local_cpu_seconds": round(local_cpu, 3),
        "summary_seconds": round(summary_seconds, 3),
        "dask_seconds": round(dask.seconds, 3),
        "dask_figures_differing_from_local": len(differing),
        "baseline": "the same simulation with the local executor (one process, two threads)",
        "baseline_seconds": round(local.seconds, 3),
        "ratio": round(dask.seconds / local.seconds, 3),
        "peak_memory_mib": {"recorded_figures": round(figures_bytes / 2**20, 1),
                            "one_chunk_working": round(chunk_peak / 2**20, 1),
                            "process_peak_rss": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)},
        "targets": {"local_seconds": 10, "dask_figures_differing_from_local": 0},
    }
