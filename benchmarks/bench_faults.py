"""Fault figures: concurrent writers, killed loads and crafted bad files (targets: nothing lost,
no schema damaged, no partial write).

- writers (PostgreSQL): 50 threads, each on its own connection, write to the same 10 cases of
  one office at once (``do_record_contact``: a versioned write with its audit event and time-log
  entry). Every attempt is applied or refused as stale; ``lost`` counts applied writes the
  database does not show (each case's version increments, its audit events and its time-log
  entries are compared with the writes reported applied). Target: lost = 0.
- kills (SQLite and PostgreSQL): ``caseload import ice-extract`` (an extract just over the size
  from which indexes are dropped) and ``caseload generate`` are killed (SIGKILL) at named points
  of the bulk load (``CASELOAD_KILL_AT``), then the same command runs again. A schema is damaged
  when, after that re-run, ``caseload.core.doctor.read_schema`` differs from a freshly
  initialised database's; counts are wrong when the rows differ from an uninterrupted load's.
  Targets: both 0.
- bad files (SQLite and PostgreSQL): crafted extracts that must be refused whole (truncated or
  corrupt gzip, binary, empty, renamed or missing column, no header) or that hold bad rows (NUL
  bytes, malformed dates). A partial write is a refused file that changed any table, or a file of
  bad rows that loaded other than exactly its good rows (or added anything when run again).
  Target: 0.

Each database is new (a SQLite file in the work directory, or a database created on the
server at ``ctx.pg_url``) and every step is a separate ``caseload`` process, as a user runs it.
The writers run in a child process (``python -m benchmarks.bench_faults writers URL``) so that
Django is configured for PostgreSQL there while this process stays on the benchmark's SQLite.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WRITERS = 50
CASES = 10
ATTEMPTS = 20                      # per writer
EXTRACT_ROWS = 50_001              # just over foia.BULK_LOAD_MIN_ROWS: the import drops and restores indexes
IMPORT_POINTS = ("bulk.dropped", "bulk.insert:1", "bulk.insert:2", "bulk.restore", "bulk.restoring:1", "bulk.restored")
GENERATE_POINTS = ("bulk.dropped", "bulk.insert:1", "bulk.insert:40", "bulk.restore", "bulk.restoring:2", "bulk.finish")
GENERATE = ("generate", "--scale", "0.001", "--seed", "3", "--as-of", "2026-06-30")
HEADER = ["Area of Responsibility", "Apprehension Date", "Processing Disposition Code", "Birth Date", "Citizenship",
          "Gender", "RC Threat Level", "Final Charge Section", "Departed Date", "Removal Date"]


def log(message: str) -> None:
    print(f"faults: {message}", file=sys.stderr, flush=True)


# --- databases and processes -------------------------------------------------------------------

class Database:
    def __init__(self, kind: str, workdir: Path, pg_url: str) -> None:
        self.name = f"faults_{uuid.uuid4().hex[:10]}"
        self.kind, self.pg_url = kind, pg_url
        if kind == "postgresql":
            import psycopg

            with psycopg.connect(pg_url, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {self.name}")
            self.url = pg_url.rsplit("/", 1)[0] + "/" + self.name
        else:
            self.path = workdir / f"{self.name}.sqlite3"
            self.url = f"sqlite:///{self.path}"

    def drop(self) -> None:
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(self.pg_url, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        else:
            for path in self.path.parent.glob(self.path.name + "*"):
                path.unlink()


def caseload(db: Database, *args: str, kill: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CASELOAD_KILL_AT"}
    env["CASELOAD_DATABASE_URL"] = db.url
    if kill:
        env["CASELOAD_KILL_AT"] = kill
    return subprocess.run([sys.executable, "-m", "caseload.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=900)


def must(result: subprocess.CompletedProcess) -> str:
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(result.args[3:6])} failed: {result.stderr[-2000:]}")
    return result.stdout


def child(mode: str, url: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_faults", mode, url], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "CASELOAD_DATABASE_URL": url}, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} child failed: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _django(url: str) -> None:
    os.environ["CASELOAD_DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseload.settings")
    import django

    django.setup()


def state(url: str) -> dict:
    """The schema of the database at ``url`` as ``caseload doctor`` reads it, and every table's
    row count (the audit log's aside), through a connection of its own in this process."""
    from django.db import connections
    from django.db.utils import load_backend

    from caseload.core.dburl import database_settings
    from caseload.core.doctor import read_schema

    settings = connections.configure_settings({"default": database_settings(url)})["default"]
    conn = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, alias="faults")
    try:
        schema = read_schema(conn)
        counts = {}
        with conn.cursor() as cur:
            for table in sorted(schema.objects["table"]):
                if table.startswith(("policy_manual_fts", "sqlite_")) or table == "core_auditevent":
                    continue
                cur.execute(f'SELECT count(*) FROM "{table}"')
                counts[table] = cur.fetchone()[0]
    finally:
        conn.close()
    return {"schema": schema.objects, "counts": counts}


# --- 50 concurrent writers ----------------------------------------------------------------------

def writers(url: str) -> dict:
    """Child: the concurrent writers on one office's cases (the database holds a generated docket)."""
    _django(url)
    from django.db import connection, connections

    from caseload.core.errors import Conflict
    from caseload.core.models import AuditEvent
    from caseload.docket.lifecycle import access_case, do_record_contact
    from caseload.docket.models import Case
    from caseload.workload.models import TimeLogEntry

    ids = list(Case.objects.filter(office__code="WAS", status="open", officer__isnull=False)
               .order_by("id").values_list("id", flat=True)[:CASES])
    versions = dict(Case.objects.filter(pk__in=ids).values_list("id", "version"))
    first_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    entries = dict.fromkeys(ids, 0)
    for case_id in TimeLogEntry.objects.filter(case_id__in=ids).values_list("case_id", flat=True):
        entries[case_id] += 1
    connection.close()  # the writers' 50 connections are all the server allows besides

    start = threading.Barrier(WRITERS, timeout=120)
    lock = threading.Lock()
    applied = dict.fromkeys(ids, 0)
    outcomes = {"applied": 0, "stale": 0, "other": 0}
    errors: list[str] = []

    def writer(n: int) -> None:
        rng = random.Random(n)
        try:
            start.wait()
            for _ in range(ATTEMPTS):
                case_id = rng.choice(ids)
                case = access_case(case_id)
                try:
                    do_record_contact(case=case, minutes=5, note=f"writer {n}", actor_label=f"bench:writer-{n}")
                    with lock:
                        applied[case_id] += 1
                        outcomes["applied"] += 1
                except Conflict as exc:
                    with lock:
                        outcomes["stale" if exc.code == "stale_case" else "other"] += 1
        except Exception as exc:  # noqa: BLE001 - counted, the figures say so
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    started = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started

    shown = {cid: v - versions[cid] for cid, v in Case.objects.filter(pk__in=ids).values_list("id", "version")}
    events = dict.fromkeys(ids, 0)
    for object_id in AuditEvent.objects.filter(id__gt=first_event, action="case.contact_recorded").values_list(
            "object_id", flat=True):
        events[int(object_id)] += 1
    logged = dict.fromkeys(ids, 0)
    for case_id in TimeLogEntry.objects.filter(case_id__in=ids).values_list("case_id", flat=True):
        logged[case_id] += 1
    lost = sum(max(0, applied[c] - min(shown[c], events[c], logged[c] - entries[c])) for c in ids)
    phantom = sum(max(0, max(shown[c], events[c], logged[c] - entries[c]) - applied[c]) for c in ids)
    return {"writers": WRITERS, "cases": len(ids), "attempts": WRITERS * ATTEMPTS, **outcomes, "lost": lost,
            "phantom": phantom, "errors": errors[:5], "error_count": len(errors), "seconds": round(seconds, 2)}


# --- killed loads ---------------------------------------------------------------------------------

def _extract(path: Path, n: int) -> Path:
    lines = [f'"ICE Removals FY2016 run {n}"' + "|" * (len(HEADER) - 1), "|".join(f'"{h}"' for h in HEADER)]
    for i in range(EXTRACT_ROWS):
        lines.append(f'"Washington Area of Responsibility"|1/15/2016|"REINST"|"(B)(6)"|"MEXICO"|"Male"|"NA"|"212a9Aii"|'
                     f'3/1/2016|{1 + i % 12}/{1 + i % 28}/2016')
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    return path


def kills(kind: str, workdir: Path, pg_url: str) -> dict:
    fresh, db = Database(kind, workdir, pg_url), Database(kind, workdir, pg_url)
    tried = damaged = wrong_counts = failed_reruns = 0
    try:
        must(caseload(fresh, "init"))
        must(caseload(db, "init"))
        expected = state(fresh.url)["schema"]
        for n, point in enumerate(IMPORT_POINTS):
            path = _extract(workdir / f"faults_{n}.csv.gz", n)
            killed = caseload(db, "import", "ice-extract", str(path), kill=point)
            tried += killed.returncode == -signal.SIGKILL
            rerun = caseload(db, "import", "ice-extract", str(path))
            failed_reruns += rerun.returncode != 0
            now = state(db.url)
            damaged += now["schema"] != expected
            wrong_counts += (now["counts"]["ingest_removalrecord"], now["counts"]["ingest_extractfile"]) != (
                EXTRACT_ROWS * (n + 1), n + 1)
            path.unlink()
        must(caseload(fresh, *GENERATE, "--weights-out", str(workdir / "faults_w.json")))
        reference = state(fresh.url)["counts"]
        for n, point in enumerate(GENERATE_POINTS):
            weights = str(workdir / "faults_w.json")
            killed = caseload(db, *GENERATE, "--replace", "--weights-out", weights, kill=point)
            tried += killed.returncode == -signal.SIGKILL
            rerun = caseload(db, *GENERATE, "--weights-out", weights)  # no --replace: the interrupted one is redone
            failed_reruns += rerun.returncode != 0
            now = state(db.url)
            damaged += now["schema"] != expected
            wrong_counts += {t: c for t, c in now["counts"].items() if not t.startswith("ingest_")} != {
                t: c for t, c in reference.items() if not t.startswith("ingest_")}
    finally:
        fresh.drop()
        db.drop()
    return {"kill_points": tried, "schemas_damaged": damaged, "counts_wrong": wrong_counts, "reruns_failed": failed_reruns}


# --- crafted bad files ----------------------------------------------------------------------------

def _text(rows: list[list[str]], header: list[str] = HEADER, preamble: bool = True) -> str:
    lines = (['"ICE Removals FY2016"' + "|" * (len(header) - 1)] if preamble else []) + ["|".join(f'"{h}"' for h in header)]
    return "\n".join(lines + ["|".join(r) for r in rows]) + "\n"


def _row(day: int, disposition: str = "REINST") -> list[str]:
    return ['"Washington Area of Responsibility"', "1/15/2016", f'"{disposition}"', "", '"MEXICO"', '"Male"', '"NA"',
            '"212a9Aii"', "3/1/2016", f"3/{day}/2016"]


def crafted() -> list[tuple[str, bytes, int | None]]:
    """(name, content, rows that must load; None: the file must be refused whole)."""
    good = [_row(1 + i % 28) for i in range(200)]
    whole = gzip.compress(_text(good).encode(), mtime=0)
    corrupt = bytearray(whole)
    corrupt[-6] ^= 0xFF
    renamed = [h if h != "Gender" else "Sex" for h in HEADER]
    missing = [h for h in HEADER if h != "Citizenship"]
    bad_rows = [*good[:50], _row(1, "RE\x00INST"), _row(45), *good[50:60]]  # a NUL byte; March 45th
    return [
        ("truncated_gzip", whole[: len(whole) // 2], None),
        ("corrupt_gzip", bytes(corrupt), None),
        ("binary", bytes(range(256)) * 40, None),
        ("empty", b"", None),
        ("no_header", b"name,date\nA,1/1/2016\n", None),
        ("renamed_column", _text(good, renamed).encode(), None),
        ("missing_column", _text([r[:4] + r[5:] for r in good], missing).encode(), None),
        ("header_too_late", ("\n" * 25 + _text(good)).encode(), None),
        ("nul_and_bad_date_rows", _text(bad_rows).encode(), 60),
        ("bom_crlf_rows", b"\xef\xbb\xbf" + _text(good[:30], preamble=False).replace("\n", "\r\n").encode(), 30),
    ]


def bad_files(kind: str, workdir: Path, pg_url: str) -> dict:
    db = Database(kind, workdir, pg_url)
    tried = partial = 0
    try:
        must(caseload(db, "init"))
        for name, content, loads in crafted():
            path = workdir / f"faults_{name}.csv"
            path.write_bytes(content)
            before = state(db.url)["counts"]
            first = caseload(db, "import", "ice-extract", str(path), "--format", "json")
            after = state(db.url)["counts"]
            tried += 1
            if loads is None:
                partial += first.returncode != 2 or after != before
            else:
                again = caseload(db, "import", "ice-extract", str(path), "--format", "json")
                final = state(db.url)["counts"]
                loaded = after["ingest_removalrecord"] - before["ingest_removalrecord"]
                partial += first.returncode != 0 or loaded != loads or again.returncode != 0 or final != {
                    **after, "ingest_extractimport": after["ingest_extractimport"] + 1}
            path.unlink()
    finally:
        db.drop()
    return {"files": tried, "partial_writes": partial}


# --- the benchmark --------------------------------------------------------------------------------

def run(ctx) -> dict:
    if not ctx.pg_url.startswith("postgres"):
        raise RuntimeError("needs CASELOAD_DATABASE_URL pointing at PostgreSQL (make bench starts a throwaway server)")
    workdir = ctx.sqlite_db.parent
    log("50 concurrent writers on PostgreSQL …")
    db = Database("postgresql", workdir, ctx.pg_url)
    try:
        must(caseload(db, "init"))
        must(caseload(db, *GENERATE, "--weights-out", str(workdir / "faults_w.json")))
        written = child("writers", db.url)
    finally:
        db.drop()
    killed, crafted_files = {}, {}
    for kind in ("sqlite", "postgresql"):
        log(f"killed loads on {kind} …")
        killed[kind] = kills(kind, workdir, ctx.pg_url)
        log(f"crafted bad files on {kind} …")
        crafted_files[kind] = bad_files(kind, workdir, ctx.pg_url)
    totals = {
        "kill_points": sum(k["kill_points"] for k in killed.values()),
        "schemas_damaged": sum(k["schemas_damaged"] for k in killed.values()),
        "counts_wrong": sum(k["counts_wrong"] for k in killed.values()),
        "reruns_failed": sum(k["reruns_failed"] for k in killed.values()),
        "bad_files": sum(c["files"] for c in crafted_files.values()),
        "partial_writes": sum(c["partial_writes"] for c in crafted_files.values()),
    }
    return {
        "writers": written, "kills": killed, "bad_files": crafted_files, **totals,
        "baseline": "none: the figures are counts of faults, each judged against 0",
        "targets": {
            "writers.lost": 0, "writers.phantom": 0, "writers.error_count": 0, "writers.other": 0,
            "writers.applied": {"min": 1}, "writers.stale": {"min": 1},
            "schemas_damaged": 0, "counts_wrong": 0, "reruns_failed": 0,
            "kill_points": {"min": 2 * (len(IMPORT_POINTS) + len(GENERATE_POINTS))},
            "partial_writes": 0, "bad_files": {"min": 2 * 10},
        },
    }


if __name__ == "__main__":  # the writers' child process
    mode, url = sys.argv[1], sys.argv[2]
    print(json.dumps(writers(url), default=str))
