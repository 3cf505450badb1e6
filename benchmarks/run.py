"""Benchmarks (``make bench``): each measures its stated case, reports its figures, a baseline
measured in the same run, its targets and whether it met them; all results of one run go to
``benchmarks/results/latest.json`` (see docs/benchmarks.md).

- generate_sqlite: ``caseload generate`` at --scale (default 1.0) into a new SQLite file:
  wall time and peak RSS of that generation's own process (targets ≤ 120 s, ≤ 4 GiB at scale
  1.0); its insert phase against a raw ``executemany`` of the same rows into the same tables
  (target ≤ 1.5x).
- generate_postgres: the same into PostgreSQL (COPY), target ≤ 120 s; insert phase against a
  raw ``COPY`` of the same rows into tables with the same primary keys, unique and check
  constraints as the loader keeps during its insert phase. Needs CASELOAD_DATABASE_URL to point
  at PostgreSQL (``make bench`` starts a throwaway server).

Every other benchmark is a module ``benchmarks/bench_<name>.py`` with a function
``run(ctx: Context) -> dict`` that works on the docket generate_sqlite built (``ctx.sqlite_db``,
Django already configured for it) or on PostgreSQL (``ctx.pg_url``); it returns its figures,
including ``baseline``, ``baseline_seconds`` (or another baseline figure), ``ratio`` and
``targets``: ``{"figure": limit}`` (an upper bound) or ``{"figure": {"max": x} | {"min": x}}``,
where a figure may be a dotted path into the result (``"worklist.p95_seconds"``). This runner
turns them into ``"target"`` and ``"met"`` (true only when every bound holds) and exits 1 naming
every target missed, every benchmark that failed and every result without a target.

Usage: python -m benchmarks.run [--scale S] [--only NAME ...] [--out PATH]
"""

from __future__ import annotations

import argparse
import importlib
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
# The benchmarks measure production settings (CASELOAD_DEBUG=0), which require these keys; a run
# outside production uses throwaway ones (inherited by the child processes it starts).
os.environ.setdefault("CASELOAD_SECRET_KEY", "benchmarks-only-secret-key-not-for-production")
os.environ.setdefault("CASELOAD_AUDIT_KEY", "benchmarks-only-audit-key-not-for-production")
os.environ.setdefault("CASELOAD_SSL_REDIRECT", "0")  # page benchmarks talk plain HTTP to 127.0.0.1
SEED = 1
AS_OF = dt.date(2026, 11, 1)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_generation(url: str, scale: float) -> tuple[dict, float, float]:
    """Generate in a child process; return its result, wall seconds and that process's own peak
    RSS in MiB (reported by the child itself: ``RUSAGE_CHILDREN`` here would be the maximum over
    every child so far, e.g. the SQLite generation's peak reported again for PostgreSQL)."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.generate_child", url, str(scale), str(SEED), AS_OF.isoformat()],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"generation failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result, wall, result.pop("peak_rss_kib") / 1024


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
    """Seconds for plain COPY of the same rows into copies of the tables that have what the
    loader keeps while it inserts: columns, defaults, check constraints, and the primary-key and
    unique constraints with their indexes (the loader drops only secondary indexes and foreign
    keys, see caseload.core.bulk)."""
    import psycopg

    from caseload.ingest import synthetic

    with psycopg.connect(url, autocommit=True) as con:
        con.execute("DROP SCHEMA IF EXISTS bench_raw CASCADE")
        con.execute("CREATE SCHEMA bench_raw")
        for table in synthetic.TABLES:
            con.execute(f"CREATE TABLE bench_raw.{table} (LIKE public.{table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            keys = con.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                               "WHERE conrelid = %s::regclass AND contype IN ('p', 'u') ORDER BY conname",
                               [f"public.{table}"]).fetchall()
            for name, definition in keys:
                con.execute(f'ALTER TABLE bench_raw.{table} ADD CONSTRAINT "raw_{name}" {definition}')
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
        raise RuntimeError("CASELOAD_DATABASE_URL does not name a PostgreSQL server (make bench starts one)")
    log(f"generate_postgres: scale {scale} …")
    result, wall, rss = run_generation(url, scale)
    log("generate_postgres: raw COPY baseline …")
    raw = raw_postgres_copy(url, scale)
    insert = result["timings"]["insert"]
    return {
        "scale": scale, "wall_seconds": round(wall, 2), "peak_rss_mib": round(rss, 1), "phases": result["timings"],
        "baseline": "raw COPY of the same rows into copies of the tables with the primary-key, unique and check "
                    "constraints the loader keeps while inserting (no secondary indexes, no foreign keys)",
        "baseline_seconds": round(raw, 2), "insert_seconds": insert, "ratio": round(insert / raw, 3),
        "targets": {"wall_seconds": 120, "peak_rss_mib": 4096},
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


def _figure(result: dict, path: str):
    value = result
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def judge(result: dict) -> dict:
    """Add ``target`` (each bound as {"max": x} or {"min": x}) and ``met`` to one result, plus
    ``missed``: the figures outside their bound (a figure that is absent counts as missed).

    A module may also judge a check itself: a ``targets`` entry ``{"value", "target", "met"}`` is
    kept as it is, and a result that has ``met`` but no ``targets`` keeps its own verdict."""
    if "error" in result:
        return {**result, "met": False}
    if "targets" not in result and "met" in result:
        return {**result, "target": result.get("target") or {"stated by the module": True},
                "met": bool(result["met"]), "missed": [] if result["met"] else ["met"]}
    bounds, missed = {}, []
    for path, limit in result.pop("targets", {}).items():
        if isinstance(limit, dict) and "met" in limit:          # judged by the module itself
            bounds[path] = {k: limit[k] for k in ("target", "value") if k in limit}
            ok = bool(limit["met"])
        else:
            bounds[path] = bound = limit if isinstance(limit, dict) else {"max": limit}
            value = _figure(result, path)
            ok = isinstance(value, int | float) and not isinstance(value, bool) and (
                value <= bound["max"] if "max" in bound else value >= bound["min"])
        if not ok:
            missed.append(path)
    return {**result, "target": bounds, "met": bool(bounds) and not missed, "missed": missed}


def main(argv: list[str] | None = None) -> int:
    modules = discovered()
    choices = ["generate_sqlite", "generate_postgres", *modules]
    parser = argparse.ArgumentParser(description="caseload benchmarks")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", nargs="*", choices=choices)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="directory for the run's databases (default: a new one under var/bench, removed at the end)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file (default benchmarks/results/latest.json)")
    args = parser.parse_args(argv)
    # Each run works in a directory of its own: two runs at once (another --only run, say) must not
    # delete or replace each other's docket.
    own_workdir = args.workdir is None
    if own_workdir:
        (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
        args.workdir = Path(tempfile.mkdtemp(prefix="run-", dir=ROOT / "var" / "bench"))
    args.workdir.mkdir(parents=True, exist_ok=True)
    for leftover in args.workdir.glob("bench.sqlite3*"):
        leftover.unlink()
    wanted = set(args.only or choices)
    pg_url = os.environ.get("CASELOAD_DATABASE_URL", "")
    ctx = Context(scale=args.scale, sqlite_db=args.workdir / "bench.sqlite3", pg_url=pg_url)
    run = Run(out=args.out, scale=args.scale, wanted=[c for c in choices if c in wanted], partial=wanted != set(choices))

    def measure(name: str, func) -> None:
        """Run one benchmark; a failure is recorded, not fatal, and figures are saved as they come."""
        log(f"{name} …")
        try:
            run.results[name] = judge(func())
        except Exception as exc:  # noqa: BLE001 - report and go on with the next benchmark
            run.results[name] = judge({"error": f"{type(exc).__name__}: {exc}"})
            log(f"{name} failed: {exc}")
        run.save(finished=False)
        print(f"{name}: {json.dumps(run.results[name])}", flush=True)

    if wanted - {"generate_postgres"}:
        measure("generate_sqlite", lambda: bench_generate_sqlite(args.scale, args.workdir))
        for name, module in modules.items():
            if name in wanted:
                measure(name, lambda module=module: module.run(ctx))
    if "generate_postgres" in wanted:
        if "generate_sqlite" not in run.results:
            setup_django(pg_url)  # reference data for drawing the baseline's rows
        measure("generate_postgres", lambda: bench_generate_postgres(args.scale, pg_url))
    run.save(finished=True)
    if own_workdir:
        shutil.rmtree(args.workdir, ignore_errors=True)
    problems = run.problems()
    where = args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out
    log(f"written to {where}" + ("" if problems else "; every target met"))
    for line in problems:
        log(f"NOT MET: {line}")
    return 1 if problems else 0


@dataclass
class Run:
    """One run of the benchmarks and its results file: never merged with an earlier run."""

    out: Path
    scale: float
    wanted: list[str]
    partial: bool
    results: dict = field(default_factory=dict)
    started: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    # Read when the run starts, leaving out the results file (each save rewrites it).
    uncommitted_changes: bool = field(default_factory=lambda: any(
        not line.endswith("benchmarks/results/latest.json")
        for line in (_git("status", "--porcelain", "--untracked-files=no") or "").splitlines()))

    def problems(self) -> list[str]:
        lines = []
        for name, r in self.results.items():
            if "error" in r:
                lines.append(f"{name}: failed ({r['error'].splitlines()[0][:200]})")
            elif not r["target"]:
                lines.append(f"{name}: declares no target")
            for path in r.get("missed", []):
                bound = r["target"].get(path, {}) if isinstance(r["target"], dict) else {}
                value = bound.get("value", _figure(r, path)) if isinstance(bound, dict) else _figure(r, path)
                lines.append(f"{name}: {path} = {value} (target {_bound_text(bound) if isinstance(bound, dict) else bound})")
        return lines

    def save(self, *, finished: bool) -> None:
        document = {
            "commit": _git("rev-parse", "HEAD"),
            "uncommitted_changes": self.uncommitted_changes,
            "date": self.started,
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds") if finished else None,
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                        "memory_gib": _memory_gib()},
            "scale": self.scale,
            # partial: only some benchmarks were asked for, or the run has not finished (yet)
            "partial": self.partial or not finished,
            "benchmarks": self.wanted,
            "all_met": all(r.get("met") for r in self.results.values()) and not self.problems(),
            "results": self.results,
        }
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.out.write_text(json.dumps(document, indent=1) + "\n")


def _bound_text(bound: dict) -> str:
    if "max" in bound:
        return f"≤ {bound['max']}"
    return f"≥ {bound['min']}" if "min" in bound else str(bound.get("target"))


def _git(*args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


if __name__ == "__main__":
    sys.exit(main())
