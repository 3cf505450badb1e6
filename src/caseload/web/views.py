"""Landing page (the docket's headline figures within the user's scope) and the error pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from caseload.core.access import reads_national, role_of
from caseload.core.errors import CaseloadError
from caseload.docket.services import summary
from caseload.web.charts import bar_chart_svg
from caseload.web.decorators import ALL_ROLES, require_role


@require_GET
@require_role(*ALL_ROLES)
def landing(request):
    figures = summary(actor=request.user)
    chart = bar_chart_svg(figures["by_office"], category="office", value="cases_per_officer",
                          title="Open non-detained cases per officer, by field office",
                          value_title="cases per officer") if figures["cases"] and len(figures["by_office"]) > 1 else ""
    return render(request, "web/landing.html", {"figures": figures, "chart_svg": chart,
                                                "capacity_links": role_of(request.user) != "officer",
                                                "national": reads_national(request.user)})


def _error(request, status: int, code: str, message: str):
    return render(request, "web/error.html", {"error": CaseloadError(code, message), "status": status}, status=status)


def forbidden(request, exception=None):
    return _error(request, 403, "forbidden", "This page is not available to your role.")


def not_found(request, exception=None):
    return _error(request, 404, "not_found", "There is no such page, or it is outside what your account may see.")


def server_error(request):
    return _error(request, 500, "server_error", "The server could not answer. The error has been logged; try again, "
                                                 "and tell an administrator if it happens again.")


@login_not_required
@require_GET
def healthz(request):
    """For a load balancer: 200 when the database answers and every migration is applied, else 503."""
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor
    from django.db.utils import Error as DatabaseError

    try:
        connection = connections[DEFAULT_DB_ALIAS]
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return JsonResponse({"ok": False, "database": "unreachable", "error": str(exc).splitlines()[0][:200]}, status=503)
    if pending:
        return JsonResponse({"ok": False, "database": "reachable", "migrations_pending": len(pending)}, status=503)
    return JsonResponse({"ok": True, "database": "reachable", "migrations_pending": 0})
