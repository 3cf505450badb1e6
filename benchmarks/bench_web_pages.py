"""The officer's pages at scale 1.0 (targets: the worklist page's server time p95 ≤ 300 ms for
the busiest officer of the docket; the case page's p95 ≤ 300 ms), on the generated SQLite docket.

Each page is requested through Django's test client (URL routing, middleware, the view, the
template, the read audit), signed in as an officer user linked to the officer with the most open
cases. The first request is reported on its own (``cold_seconds``); median and p95 are over the
requests after it. The baseline is the same service call without rendering, in the same run:
``officer_worklist`` for the worklist page, ``case_page`` (the page service, audit included)
for the case page, so the ratio is the cost of the web layer and the template.
"""

from __future__ import annotations

import statistics
import time

RUNS = 30
TARGET_SECONDS = 0.300


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _timed(fn, runs: int) -> tuple[float, list[float]]:
    t0 = time.perf_counter()
    fn()
    cold = time.perf_counter() - t0
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return cold, times


def run(ctx) -> dict:
    if not ctx.sqlite_db.exists():
        return {"skipped": "needs the generate_sqlite docket"}
    from django.db import connection, connections
    from django.db.models import Count, Q
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from caseload.core.access import officer_of
    from caseload.core.users import do_add_user
    from caseload.docket.casework import case_page
    from caseload.docket.checkins import ensure_derived_current
    from caseload.docket.models import CaseStatus
    from caseload.docket.worklist import officer_worklist
    from caseload.offices.models import Officer

    connections.close_all()
    ensure_derived_current(actor_label="bench:web_pages")
    busiest = (Officer.objects.annotate(n=Count("cases", filter=Q(cases__status=CaseStatus.OPEN)))
               .order_by("-n", "id").first())
    user = officer_of_user = None
    if busiest.user_id is None:
        user, _ = do_add_user(username=f"bench-officer-{busiest.pk}", role="officer", officer_id=busiest.pk,
                              password="bench-password-123456", actor_label="bench:web_pages")
    else:
        user = busiest.user
    officer_of_user = officer_of(user)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    def worklist_page():
        response = client.get("/worklist/")
        assert response.status_code == 200, response.status_code

    doc = officer_worklist(officer=busiest.pk)
    case_id = doc["tasks"][0]["case_id"]

    def case_view():
        response = client.get(f"/cases/{case_id}/")
        assert response.status_code == 200, response.status_code

    with CaptureQueriesContext(connection) as queries:
        worklist_page()
    worklist_queries = len(queries)
    w_cold, w_times = _timed(worklist_page, RUNS)
    s_cold, s_times = _timed(lambda: officer_worklist(officer=busiest.pk), RUNS)
    c_cold, c_times = _timed(case_view, RUNS)
    p_cold, p_times = _timed(lambda: case_page(user, case_id, via="bench"), RUNS)

    def figures(cold, times, base):
        median, p95 = statistics.median(times), _percentile(times, 0.95)
        return {"cold_seconds": round(cold, 4), "median_seconds": round(median, 4), "p95_seconds": round(p95, 4),
                "baseline_median_seconds": round(statistics.median(base), 4),
                "ratio": round(median / statistics.median(base), 2)}

    return {
        "officer": busiest.pk, "open_cases": busiest.n, "tasks": doc["counts"]["tasks"], "runs": RUNS,
        "chosen_as": "the busiest officer of the docket", "linked_user": officer_of_user.pk == busiest.pk,
        "worklist_page": {**figures(w_cold, w_times, s_times), "queries": worklist_queries,
                          "baseline": "officer_worklist(), the same service call without rendering"},
        "case_page": {**figures(c_cold, c_times, p_times), "case": case_id,
                      "baseline": "case_page(), the page service without the view and template"},
        "baseline": "the same service calls without rendering",
        "targets": {"worklist_page.p95_seconds": TARGET_SECONDS, "case_page.p95_seconds": TARGET_SECONDS},
    }
