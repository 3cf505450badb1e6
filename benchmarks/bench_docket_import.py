"""Import of the national docket from its own export into an empty SQLite database: ≤ 150 s at scale 1.0.

The docket generate_sqlite built is exported (``caseload export docket``, with the convictions
file; not timed) after giving its officers external ids, so the rows name their officers as an
agency's file would. A new SQLite database gets the schema, the reference data and the same
officers (not timed); then ``caseload import docket`` runs as a separate process, so the figure
is what a user waits for, start-up and the file check included. The target scales with the
docket: 150 s × scale.

Baseline, in the same run: the least work that gets the same rows into SQLite: decompress,
split with ``csv.reader`` and ``executemany`` the raw text cells of both files into bare tables
with no conversion, validation, keys or indexes, in this process.
"""

from __future__ import annotations

import csv
import gzip
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS_AT_SCALE_1 = 150


def _cli(db: Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "caseload.cli", "--database", f"sqlite:///{db}", *args],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"caseload {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return proc, seconds


def _raw_load(files: list[Path], db: Path) -> float:
    started = time.perf_counter()
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    for n, path in enumerate(files):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            con.execute(f"CREATE TABLE raw{n} ({', '.join(f'c{i} TEXT' for i in range(len(header)))})")
            con.execute("BEGIN")
            con.executemany(f"INSERT INTO raw{n} VALUES ({', '.join('?' * len(header))})", reader)
            con.execute("COMMIT")
    con.close()
    return time.perf_counter() - started


def _clean(workdir: Path) -> None:
    for pattern in ("docket_import.sqlite3*", "docket_raw.sqlite3*", "docket_export*.csv.gz*"):
        for leftover in workdir.glob(pattern):
            leftover.unlink()


def run(ctx) -> dict:
    workdir = ctx.sqlite_db.parent
    _clean(workdir)
    db, raw_db = workdir / "docket_import.sqlite3", workdir / "docket_raw.sqlite3"
    docket, convictions = workdir / "docket_export.csv.gz", workdir / "docket_export_convictions.csv.gz"
    src = sqlite3.connect(ctx.sqlite_db, isolation_level=None)
    src.execute("UPDATE offices_officer SET external_id = 'DO-' || id WHERE external_id IS NULL")
    src.close()
    _, export_seconds = _cli(ctx.sqlite_db, "export", "docket", "--out", str(docket), "--convictions-out", str(convictions))
    _cli(db, "init")
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("ATTACH DATABASE ? AS src", [str(ctx.sqlite_db)])
    con.execute("INSERT INTO offices_officer SELECT * FROM src.offices_officer")
    con.execute("UPDATE offices_officer SET open_cases = 0")
    con.execute("DETACH DATABASE src")
    con.close()
    proc, seconds = _cli(db, "import", "docket", str(docket), "--convictions", str(convictions), "--format", "json")
    result = json.loads(proc.stdout)
    expected = sqlite3.connect(ctx.sqlite_db).execute("SELECT COUNT(*) FROM docket_case WHERE status = 'open'").fetchone()[0]
    if (result["rows"], result["imported"], result["rejected"]) != (expected, expected, 0):
        raise RuntimeError(f"unexpected import result: {result}")
    baseline = _raw_load([docket, convictions], raw_db)
    _clean(workdir)
    return {
        "file": docket.name, "rows": result["rows"], "imported": result["imported"], "convictions": result["convictions"],
        "unassigned": result["unassigned"], "seconds": round(seconds, 2), "import_seconds": result["seconds"],
        "export_seconds": round(export_seconds, 2),
        "baseline": "csv.reader + executemany of the raw text cells of both files into bare SQLite tables "
                    "(no conversion, validation, keys or indexes)",
        "baseline_seconds": round(baseline, 2), "ratio": round(seconds / baseline, 2),
        "targets": {"seconds": round(TARGET_SECONDS_AT_SCALE_1 * ctx.scale, 1)},
    }
