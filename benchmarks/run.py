"""Benchmarks (``make bench``): each prints its figures and its ratio to a baseline measured in
the same run, and all results go to ``benchmarks/results/latest.json``.

- generate_sqlite: ``caseload generate`` at --scale (default 1.0) into a new SQLite file:
  wall time and peak RSS (targets ≤ 120 s, ≤ 4 GiB at scale 1.0); its insert phase against a
  raw ``executemany`` of the same rows into the same tables (target ≤ 1.5x).
- generate_postgres: the same into PostgreSQL (COPY), target ≤ 120 s; insert phase against a
  raw ``COPY`` of the same rows into bare copies of the tables. Needs CASELOAD_DATABASE_URL to
  point at PostgreSQL (``make bench`` starts a throwaway server).

Every other benchmark is a module ``benchmarks/bench_<name>.py`` with a function
``run(ctx: Context) -> dict`` that works on the docket generate_sqlite built (``ctx.sqlite_db``,
Django already configured for it) or on PostgreSQL (``ctx.pg_url``); it returns its figures,
including ``baseline``, ``baseline_seconds`` (or another baseline figure) and ``ratio``.

Usage: python -m benchmarks.run [--scale S] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import importlib
import datetime as dt
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
SEED = 1
AS_OF = dt.date(2026, 11, 1)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_generation(url: str, scale: float) -> tuple[dict, float, float]:
    """Generate in a child process; return its result, wall seconds and peak RSS in MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.generate_child", url, str(scale), str(SEED), AS_OF.isoformat()],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"generation failed:\n{proc.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall, max(peak, before) / 1024


def drawn_batches(scale: float):
    """The generator's rows for (scale, SEED, AS_OF), office by office, as the service draws them."""
    from caseload.core import bulk
    from caseload.ingest import generate as gen
    from caseload.ingest import synthetic

    inputs = gen.build_inputs(scale=scale, seed=SEED, as_of=AS_OF)
    plans = synthetic.plan(inputs)
    factors = synthetic.capacity_factor(inputs, plans)
    names = synthetic.NamePools.build(SEED)
    ids, weights = synthetic.IdCounters(), synthetic.TrueWeights()
    for p, f in zip(plans, factors, strict=True):
        batch = synthetic.generate_office(inputs, p, float(f), ids, names, weights)
        yield {t: bulk.rows_from_columns(batch[t], synthetic.COLUMNS[t]) for t in synthetic.TABLES}


def setup_django(url: str) -> None:
    os.environ["CASELOAD_DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseload.settings")
    import django

    django.setup()


def raw_sqlite_insert(schema_from: Path, scale: float) -> float:
    """Seconds for plain executemany of the same rows into empty tables (no indexes, FKs off)."""
    from caseload.ingest import synthetic

    src = sqlite3.connect(schema_from)
    ddl = dict(src.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
    parents = {t: src.execute(f'SELECT * FROM "{t}"').fetchall() for t in ("offices_fieldoffice", "countries_country")}
    src.close()
    with tempfile.TemporaryDirectory() as tmp:
        con = sqlite3.connect(Path(tmp) / "raw.sqlite3", isolation_level=None)
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = OFF")
        for table in (*parents, *synthetic.TABLES):
            con.execute(ddl[table])
        for table, rows in parents.items():
            con.executemany(f'INSERT INTO "{table}" VALUES ({", ".join("?" * len(rows[0]))})', rows)
        seconds = 0.0
        for batch in drawn_batches(scale):
            started = time.perf_counter()
            con.execute("BEGIN")
            for table in synthetic.TABLES:
                cols = synthetic.COLUMNS[table]
                con.executemany(f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})', batch[table])
            con.execute("COMMIT")
            seconds += time.perf_counter() - started
        con.close()
    return seconds


def raw_postgres_copy(url: str, scale: float) -> float:
    """Seconds for plain COPY of the same rows into bare copies of the tables (columns only)."""
    import psycopg

    from caseload.ingest import synthetic

    with psycopg.connect(url, autocommit=True) as con:
        con.execute("DROP SCHEMA IF EXISTS bench_raw CASCADE")
        con.execute("CREATE SCHEMA bench_raw")
        for table in synthetic.TABLES:
            con.execute(f"CREATE TABLE bench_raw.{table} (LIKE public.{table} INCLUDING DEFAULTS)")
        seconds = 0.0
        for batch in drawn_batches(scale):
            started = time.perf_counter()
            with con.transaction():
                for table in synthetic.TABLES:
                    with con.cursor().copy(f"COPY bench_raw.{table} ({', '.join(synthetic.COLUMNS[table])}) FROM STDIN") as copy:
                        for row in batch[table]:
                            copy.write_row(row)
            seconds += time.perf_counter() - started
        con.execute("DROP SCHEMA bench_raw CASCADE")
    return seconds


def bench_generate_sqlite(scale: float, workdir: Path) -> dict:
    db = workdir / "bench.sqlite3"
    log(f"generate_sqlite: scale {scale} into {db} …")
    result, wall, rss = run_generation(f"sqlite:///{db}", scale)
    log("generate_sqlite: raw executemany baseline …")
    setup_django(f"sqlite:///{db}")
    raw = raw_sqlite_insert(db, scale)
    insert = result["timings"]["insert"]
    return {
        "scale": scale, "wall_seconds": round(wall, 2), "peak_rss_mib": round(rss, 1),
        "phases": result["timings"], "rows": {k: v for k, v in result.items() if k != "timings"},
        "baseline": "raw sqlite3 executemany of the same rows into the same tables, no indexes",
        "baseline_seconds": round(raw, 2), "insert_seconds": insert, "ratio": round(insert / raw, 3),
        "targets": {"wall_seconds": 120, "peak_rss_mib": 4096, "ratio": 1.5},
    }


def bench_generate_postgres(scale: float, url: str) -> dict:
    if not url.startswith("postgres"):
        return {"skipped": "CASELOAD_DATABASE_URL does not name a PostgreSQL server"}
    log(f"generate_postgres: scale {scale} …")
    result, wall, rss = run_generation(url, scale)
    log("generate_postgres: raw COPY baseline …")
    raw = raw_postgres_copy(url, scale)
    insert = result["timings"]["insert"]
    return {
        "scale": scale, "wall_seconds": round(wall, 2), "peak_rss_mib": round(rss, 1), "phases": result["timings"],
        "baseline": "raw COPY of the same rows into bare copies of the tables (columns and defaults only)",
        "baseline_seconds": round(raw, 2), "insert_seconds": insert, "ratio": round(insert / raw, 3),
        "targets": {"wall_seconds": 120},
    }


@dataclass
class Context:
    scale: float
    sqlite_db: Path
    pg_url: str


def discovered() -> dict[str, object]:
    """The bench_<name>.py modules beside this file, by name."""
    names = sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))
    return {name: importlib.import_module(f"benchmarks.bench_{name}") for name in names}


def main(argv: list[str] | None = None) -> int:
    modules = discovered()
    choices = ["generate_sqlite", "generate_postgres", *modules]
    parser = argparse.ArgumentParser(description="caseload benchmarks")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", nargs="*", choices=choices)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    for leftover in args.workdir.glob("bench.sqlite3*"):
        leftover.unlink()
    wanted = set(args.only or choices)
    pg_url = os.environ.get("CASELOAD_DATABASE_URL", "")
    ctx = Context(scale=args.scale, sqlite_db=args.workdir / "bench.sqlite3", pg_url=pg_url)
    results: dict = {}

    def measure(name: str, func) -> None:
        """Run one benchmark; a failure is recorded, not fatal, and figures are saved as they come."""
        log(f"{name} …")
        try:
            results[name] = func()
        except Exception as exc:  # noqa: BLE001 - report and go on with the next benchmark
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            log(f"{name} failed: {exc}")
        save(results)
        print(f"{name}: {json.dumps(results[name])}", flush=True)

    if wanted - {"generate_postgres"}:
        measure("generate_sqlite", lambda: bench_generate_sqlite(args.scale, args.workdir))
        for name, module in modules.items():
            if name in wanted:
                measure(name, lambda module=module: module.run(ctx))
    if "generate_postgres" in wanted:
        if "generate_sqlite" not in results:
            setup_django(pg_url)  # reference data for drawing the baseline's rows
        measure("generate_postgres", lambda: bench_generate_postgres(args.scale, pg_url))
    failed = [name for name, figures in results.items() if "error" in figures]
    log(f"written to {RESULTS.relative_to(ROOT)}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def save(results: dict) -> None:
    previous = json.loads(RESULTS.read_text()).get("results", {}) if RESULTS.exists() else {}
    document = {
        "run_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "results": {**previous, **results},  # a partial run (--only) keeps the other figures
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
