"""Forecast runs started from the page, computed in a background thread of the web process.

A run is held in memory with its progress and, when done, its summaries; it belongs to the user
who started it. Only the latest :data:`KEEP` runs are kept. A run computes figures only (it
changes nothing in the database), so nothing is lost when the process restarts but the run.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

KEEP = 20
RUN_INLINE = False  # tests run jobs in the calling thread (the test database is not shared with threads)


@dataclass
class Job:
    id: str
    owner: int
    scenarios: list[dict]               # [{"label", "path" or None, "text" or None}]
    months: int
    reps: int
    seed: int
    done_reps: int = 0
    status: str = "running"             # running | done | failed
    results: list[dict] = field(default_factory=list)
    error: dict | None = None
    started: float = field(default_factory=time.time)
    seconds: float | None = None

    @property
    def total_reps(self) -> int:
        return self.reps * len(self.scenarios)

    @property
    def percent(self) -> int:
        return int(100 * self.done_reps / self.total_reps) if self.total_reps else 0


_jobs: dict[str, Job] = {}
_lock = threading.Lock()


def get(job_id: str | None, owner: int) -> Job | None:
    with _lock:
        job = _jobs.get(job_id or "")
    return job if job is not None and job.owner == owner else None


def start(*, owner: int, scenarios: list[dict], months: int, reps: int, seed: int) -> Job:
    job = Job(id=secrets.token_urlsafe(9), owner=owner, scenarios=scenarios, months=months, reps=reps, seed=seed)
    with _lock:
        _jobs[job.id] = job
        for old in sorted(_jobs.values(), key=lambda j: j.started)[:-KEEP]:
            del _jobs[old.id]
    if RUN_INLINE:
        _run(job)
    else:
        threading.Thread(target=_run, args=(job,), name=f"forecast-{job.id}", daemon=True).start()
    return job


def _run(job: Job) -> None:
    from django.db import connection

    from caseload.core.errors import CaseloadError
    from caseload.forecast import engine, services

    started = time.perf_counter()

    def advance(n: int) -> None:
        job.done_reps += n

    try:
        state = services.read_docket()
        for spec in job.scenarios:
            scenario = (services.check_scenario_text(spec["text"], file=spec["label"]) if spec.get("text") is not None
                        else services.load_scenario(spec.get("path")))
            result, info = services.simulate(state, scenario, months=job.months, reps=job.reps, seed=job.seed,
                                             progress=advance)
            job.results.append({"scenario": {"id": scenario.id, "title": scenario.title}, "parameters": info,
                                **engine.summarise(result)})
        job.status = "done"
    except CaseloadError as exc:
        job.error, job.status = exc.as_dict(), "failed"
    except Exception as exc:  # noqa: BLE001 - a failed run is reported on the page, not lost in a thread
        job.error, job.status = {"code": "forecast_failed", "message": f"{type(exc).__name__}: {exc}"}, "failed"
    finally:
        job.seconds = round(time.perf_counter() - started, 1)
        if not RUN_INLINE:
            connection.close()
