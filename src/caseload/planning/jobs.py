"""Background computations of the planning pages and the management report.

A page that needs a computation longer than a request should take (a staffing plan, measuring
the case weights, the report at scale 1.0) creates a :class:`PlanningJob` row and starts a
thread of the web process that computes and writes the result into the row; the page polls
the row (htmx every second; without JavaScript a ``<meta refresh>``) and shows the result when
it is there. The row is the only state, so any worker process of the server can answer the
poll, on SQLite and on PostgreSQL alike; the thread opens its own database connection.

A job's result is reused for the same owner, kind and inputs for :data:`REUSE_SECONDS`
(compute once, read many); a job still "running" after :data:`STALE_SECONDS` (its process
ended) is reported as failed and a new one may start; an owner's finished jobs older than
:data:`KEEP_DAYS` are deleted when they start a new one (a saved scenario keeps its own copy).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from django.db import close_old_connections, connection, transaction

from caseload.core import clock
from caseload.core.errors import CaseloadError
from caseload.planning.models import JobStatus, PlanningJob

REUSE_SECONDS = 600
STALE_SECONDS = 900
KEEP_DAYS = 7  # an owner's finished jobs older than this are deleted when they start a new one
RUN_INLINE = False  # the test suite computes in the calling thread (its database is a transaction)

KINDS: dict[str, Callable[..., dict]] = {}


def kind(name: str):
    """Register a computation: ``fn(**inputs) -> dict`` (JSON-serialisable)."""
    def register(fn):
        KINDS[name] = fn
        return fn
    return register


def _registry() -> dict[str, Callable[..., dict]]:
    """The registered kinds (the computations live in ``planning.services``, imported here so a
    caller that never imported it still finds them)."""
    from caseload.planning import services  # noqa: F401

    return KINDS


def _expire_stale() -> None:
    cutoff = clock.now() - dt.timedelta(seconds=STALE_SECONDS)
    PlanningJob.objects.filter(status=JobStatus.RUNNING, started_at__lt=cutoff).update(
        status=JobStatus.FAILED, finished_at=clock.now(),
        error={"code": "job_lost", "message": "the computation did not finish (the server may have restarted); start it again"})


def access_job(job_id, owner) -> PlanningJob | None:
    """The owner's job with this id, or None (another user's job is as good as missing)."""
    try:
        pk = int(job_id)
    except (TypeError, ValueError):
        return None
    _expire_stale()
    return PlanningJob.objects.filter(pk=pk, owner=owner).first()


def start(name: str, *, owner, inputs: dict, reuse: bool = False) -> PlanningJob:
    """A new job (or, with ``reuse``, a recent finished or running one of the same inputs)."""
    if name not in _registry():
        raise ValueError(f"unknown job kind {name!r}")
    _expire_stale()
    if reuse:
        recent = _recent(owner, name, inputs)
        if recent is not None:
            return recent
    PlanningJob.objects.filter(owner=owner, started_at__lt=clock.now() - dt.timedelta(days=KEEP_DAYS)).exclude(
        status=JobStatus.RUNNING).delete()
    job = PlanningJob.objects.create(kind=name, owner=owner, inputs=inputs, started_at=clock.now())
    if RUN_INLINE:
        _run(job.pk)
        job.refresh_from_db()
    else:
        transaction.on_commit(lambda: threading.Thread(target=_run_in_thread, args=(job.pk,), daemon=True,
                                                       name=f"planning-job-{job.pk}").start())
    return job


def _recent(owner, name: str, inputs: dict) -> PlanningJob | None:
    """The owner's recent job of these inputs (compared in Python: JSON equality differs between databases)."""
    since = clock.now() - dt.timedelta(seconds=REUSE_SECONDS)
    for job in (PlanningJob.objects.filter(owner=owner, kind=name, started_at__gte=since)
                .exclude(status=JobStatus.FAILED).order_by("-started_at")[:20]):
        if job.inputs == inputs:
            return job
    return None


def _run_in_thread(pk: int) -> None:
    close_old_connections()
    try:
        _run(pk)
    finally:
        connection.close()


def _run(pk: int) -> None:
    job = PlanningJob.objects.get(pk=pk)
    try:
        result, status, error = _registry()[job.kind](**job.inputs), JobStatus.DONE, None
    except CaseloadError as exc:
        result, status, error = None, JobStatus.FAILED, exc.as_dict()
    except Exception as exc:  # noqa: BLE001 - a failure is shown on the page, not lost in a thread
        result, status, error = None, JobStatus.FAILED, {"code": "job_failed", "message": f"{type(exc).__name__}: {exc}"}
    PlanningJob.objects.filter(pk=pk).update(status=status, result=result, error=error, finished_at=clock.now())
