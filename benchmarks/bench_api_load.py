"""The JSON API under load: gunicorn on PostgreSQL with a scale-0.1 docket, 200 concurrent
clients for 60 s (locust, headless), against the same requests sent one at a time.

Set-up (a database of its own on the run's PostgreSQL server): ``caseload init``, ``caseload
generate --scale 0.1``, the derived check-in facts; one officer user with an API token for each
of the ``TOKENS`` officers with the most open cases. The app is served by ``caseload serve
--production --workers WORKERS`` (gunicorn, sync workers, 2 × cores + 1, as ``caseload serve``
chooses by default) on 127.0.0.1 with CASELOAD_DEBUG=0, CASELOAD_SSL_REDIRECT=0,
CASELOAD_MFA_ROLES=none and a rate limit above the offered load (the limit is not what is
measured here).

Each locust client acts as one officer (tokens are shared round-robin: 200 clients over
``TOKENS`` tokens) and works a disjoint slice of that officer's cases, so no two clients write
the same case and no write is refused as stale. Each client waits 2–8 s between requests (an
officer reading and typing, or a system polling), so 200 clients offer about 40 requests per
second. The mix (task weights, out of 100):

- reads (70): one case 30, a keyset page of the officer's cases 20, the officer's worklist 10
  (thousands of tasks for the busiest officers), the docket summary in the officer's scope 10;
- writes (30): a check-in (appeared, records check clear) 15, a contact 15, each with the
  ``expected_version`` the client last saw for that case.

Reported: requests per second, p50/p95/p99 (ms) and errors (must be 0) of the load; the same mix
sent one at a time (``SEQUENTIAL`` requests, one client, no think time) gives the baseline p99;
``ratio`` is the load's p99 over that baseline. Only loopback addresses are used.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# CASELOAD_BENCH_API_SCALE / _SECONDS shrink a trial run while developing; results use the defaults.
SCALE = float(os.environ.get("CASELOAD_BENCH_API_SCALE", "0.1"))
SEED = 1
CLIENTS = 200
SECONDS = int(os.environ.get("CASELOAD_BENCH_API_SECONDS", "60"))
TOKENS = 40
SEQUENTIAL = 300
WORKERS = min(2 * (os.cpu_count() or 1) + 1, 8)
MIX = {"worklist": 10, "case": 30, "cases": 20, "summary": 10, "check_in": 15, "contact": 15}
THINK = (2.0, 8.0)  # seconds between one client's requests: 200 clients offer about 40 requests/s
TARGETS = {"errors": {"max": 0}, "baseline_errors": {"max": 0}, "p99_ms": {"max": 2000},
           "requests_per_second": {"min": 25}}


# --- the locust clients (this file is also the locustfile: ``locust -f bench_api_load.py``) ----

if os.environ.get("CASELOAD_LOCUST_PLAN"):
    from locust import HttpUser, between, task

    _PLAN = json.loads(Path(os.environ["CASELOAD_LOCUST_PLAN"]).read_text())
    _INDEX = itertools.count()

    class Officer(HttpUser):
        wait_time = between(*THINK)

        def on_start(self) -> None:
            me = next(_INDEX)
            slot = _PLAN["tokens"][me % len(_PLAN["tokens"])]
            share = me // len(_PLAN["tokens"])
            sharers = -(-CLIENTS // len(_PLAN["tokens"]))
            self.officer = slot["officer"]
            self.headers = {"Authorization": f"Bearer {slot['token']}"}
            self.versions = dict(slot["cases"][share::sharers])
            self.case_ids = list(self.versions)

        def _case(self) -> int:
            return random.choice(self.case_ids)

        @task(MIX["worklist"])
        def worklist(self) -> None:
            self.client.get(f"/api/v1/officers/{self.officer}/worklist", headers=self.headers, name="worklist")

        @task(MIX["case"])
        def case(self) -> None:
            self.client.get(f"/api/v1/cases/{self._case()}", headers=self.headers, name="case")

        @task(MIX["cases"])
        def cases(self) -> None:
            self.client.get("/api/v1/cases", params={"limit": 50, "after": min(self.case_ids) - 1},
                            headers=self.headers, name="cases")

        @task(MIX["summary"])
        def summary(self) -> None:
            self.client.get("/api/v1/docket/summary", headers=self.headers, name="summary")

        def _write(self, kind: str, body: dict) -> None:
            case_id = self._case()
            path = f"/api/v1/cases/{case_id}/{kind}"
            with self.client.post(path, json={**body, "expected_version": self.versions[case_id]},
                                  headers=self.headers, name=kind, catch_response=True) as response:
                if response.status_code == 201:
                    self.versions[case_id] = response.json()["version"]
                else:
                    response.failure(f"{response.status_code}: {response.text[:200]}")

        @task(MIX["check_in"])
        def check_in(self) -> None:
            self._write("check-ins", {"outcome": "appeared", "records_check": "clear"})

        @task(MIX["contact"])
        def contact(self) -> None:
            self._write("contacts", {"note": "home visit"})


# --- the benchmark -------------------------------------------------------------------------------

def run(ctx) -> dict:
    if not ctx.pg_url.startswith("postgres"):
        return {"skipped": "needs PostgreSQL (CASELOAD_DATABASE_URL)"}
    database = _create_database(ctx.pg_url)
    env = _env(database)
    try:
        started = time.perf_counter()
        for args in (["init"], ["generate", "--scale", str(SCALE), "--seed", str(SEED)], ["tasks", "refresh"]):
            _must(subprocess.run([sys.executable, "-m", "caseload.cli", *args], cwd=ROOT, env=env, capture_output=True,
                                 text=True, timeout=1800))
        plan = json.loads(_must(subprocess.run([sys.executable, "-m", "benchmarks.bench_api_load", "setup"], cwd=ROOT,
                                               env=env, capture_output=True, text=True, timeout=600)).splitlines()[-1])
        setup_seconds = time.perf_counter() - started
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "caseload.cli", "serve", "--production", "--host", "127.0.0.1",
                                   "--port", str(port), "--workers", str(WORKERS)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(base, server)
            sequential = _sequential(base, plan)
            load = _locust(base, plan, env)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    finally:
        _drop_database(ctx.pg_url, database)
    return {
        "scale": SCALE, "clients": CLIENTS, "seconds": SECONDS, "workers": WORKERS, "tokens": TOKENS, "mix": MIX,
        "think_time_seconds": list(THINK), "setup_seconds": round(setup_seconds, 1),
        **load,
        "baseline": "the same mix sent one at a time (one client, no think time)",
        "baseline_p99_ms": sequential["p99_ms"], "baseline_p50_ms": sequential["p50_ms"],
        "baseline_requests": sequential["requests"], "baseline_errors": sequential["errors"],
        "baseline_first_errors": sequential["first_errors"],
        "ratio": round(load["p99_ms"] / sequential["p99_ms"], 2) if sequential["p99_ms"] else None,
        "targets": TARGETS,
    }


def _env(url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELOAD_LOCUST")}
    env.update({"CASELOAD_DATABASE_URL": url, "CASELOAD_DEBUG": "0", "CASELOAD_SSL_REDIRECT": "0",
                "CASELOAD_MFA_ROLES": "none", "CASELOAD_REQUEST_LOG": "0", "CASELOAD_ALLOWED_HOSTS": "127.0.0.1",
                "CASELOAD_API_RATE_LIMIT": "1000000/m", "CASELOAD_WEB_TIMEOUT": "120"})
    env.setdefault("CASELOAD_SECRET_KEY", "benchmarks-only-secret-key-not-for-production")
    env.setdefault("CASELOAD_AUDIT_KEY", "benchmarks-only-audit-key-not-for-production")
    return env


def _create_database(pg_url: str) -> str:
    import psycopg

    name = f"api_load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return pg_url.rsplit("/", 1)[0] + "/" + name


def _drop_database(pg_url: str, url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


def _must(proc: subprocess.CompletedProcess) -> str:
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, proc.args[2:5]))} failed: {proc.stderr[-2000:]}")
    return proc.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"caseload serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise RuntimeError("the server did not answer /healthz within 60 s")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _sequential(base: str, plan: dict) -> dict:
    """The mix, one request at a time, from one client with no think time."""
    rng = random.Random(SEED)
    kinds = [k for k, weight in MIX.items() for _ in range(weight)]
    versions = {slot["token"]: dict(slot["cases"]) for slot in plan["tokens"]}
    latencies, errors, first_errors = [], 0, []
    for i in range(SEQUENTIAL):
        slot = plan["tokens"][i % len(plan["tokens"])]
        headers = {"Authorization": f"Bearer {slot['token']}", "Content-Type": "application/json"}
        own = versions[slot["token"]]
        case_id = rng.choice(list(own))
        kind = rng.choice(kinds)
        body = None
        match kind:
            case "worklist":
                path = f"/api/v1/officers/{slot['officer']}/worklist"
            case "case":
                path = f"/api/v1/cases/{case_id}"
            case "cases":
                path = f"/api/v1/cases?limit=50&after={min(own) - 1}"
            case "summary":
                path = "/api/v1/docket/summary"
            case "check_in":
                path, body = f"/api/v1/cases/{case_id}/check-ins", {"outcome": "appeared", "records_check": "clear"}
            case _:
                path, body = f"/api/v1/cases/{case_id}/contacts", {"note": "home visit"}
        data = json.dumps({**body, "expected_version": own[case_id]}).encode() if body is not None else None
        request = urllib.request.Request(base + path, data=data, headers=headers, method="POST" if data else "GET")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                payload = response.read()
                if data:
                    own[case_id] = json.loads(payload)["version"]
        except urllib.error.HTTPError as exc:
            errors += 1
            if len(first_errors) < 5:
                first_errors.append(f"{kind} {exc.code}: {exc.read()[:200].decode(errors='replace')}")
        latencies.append((time.perf_counter() - started) * 1000)
    for slot in plan["tokens"]:  # the load starts from the versions the sequential run left
        slot["cases"] = [[c, v] for c, v in versions[slot["token"]].items()]
    return {"requests": SEQUENTIAL, "errors": errors, "first_errors": first_errors, "p50_ms": round(_percentile(latencies, 0.5), 1),
            "p99_ms": round(_percentile(latencies, 0.99), 1)}


def _locust(base: str, plan: dict, env: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="api-load-") as tmp:
        plan_path = Path(tmp) / "plan.json"
        plan_path.write_text(json.dumps(plan))
        prefix = Path(tmp) / "load"
        proc = subprocess.run(
            [sys.executable, "-m", "locust", "-f", __file__, "--headless", "--users", str(CLIENTS),
             "--spawn-rate", str(CLIENTS), "--run-time", f"{SECONDS}s", "--host", base, "--csv", str(prefix),
             "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10"],
            cwd=ROOT, env={**env, "CASELOAD_LOCUST_PLAN": str(plan_path)}, capture_output=True, text=True,
            timeout=SECONDS + 300)
        stats_file = Path(f"{prefix}_stats.csv")
        if not stats_file.exists():
            raise RuntimeError(f"locust wrote no statistics (exit {proc.returncode}): {proc.stderr[-2000:]}")
        with stats_file.open() as fh:
            rows = {row["Name"]: row for row in csv.DictReader(fh)}
        failures = Path(f"{prefix}_failures.csv")
        failure_lines = failures.read_text().splitlines()[1:6] if failures.exists() else []
    total = rows["Aggregated"]

    def figures(row: dict) -> dict:
        return {"requests": int(row["Request Count"]), "errors": int(row["Failure Count"]),
                "p50_ms": float(row["50%"]), "p95_ms": float(row["95%"]), "p99_ms": float(row["99%"])}

    return {"requests": int(total["Request Count"]), "errors": int(total["Failure Count"]),
            "requests_per_second": round(float(total["Requests/s"]), 1),
            "p50_ms": float(total["50%"]), "p95_ms": float(total["95%"]), "p99_ms": float(total["99%"]),
            "by_request": {name: figures(row) for name, row in rows.items() if name != "Aggregated"},
            "first_failures": failure_lines}


# --- set-up child: officer users with tokens, and the cases each token's clients work ------------

def _setup() -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseload.settings")
    import django

    django.setup()
    from django.db.models import Count

    from caseload.core.tokens import do_issue_token
    from caseload.core.users import do_add_user
    from caseload.docket.models import Case

    busiest = (Case.objects.filter(status="open", officer__isnull=False).values("officer_id")
               .annotate(n=Count("id")).order_by("-n", "officer_id")[:TOKENS])
    slots = []
    for row in busiest:
        officer_id = row["officer_id"]
        user, _ = do_add_user(username=f"load-{officer_id}", role="officer", officer_id=officer_id,
                              actor_label="bench:api_load")
        token = do_issue_token(username=user.username, actor_label="bench:api_load")["token"]
        cases = list(Case.objects.filter(officer_id=officer_id, status="open").order_by("id")
                     .values_list("id", "version")[:600])
        slots.append({"officer": officer_id, "token": token, "cases": cases})
    return {"tokens": slots}


if __name__ == "__main__" and sys.argv[1:] == ["setup"]:
    print(json.dumps(_setup()))
