"""Pages of the training app: compliance by office (read-only, every signed-in user)."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from caseload.core import clock
from caseload.core.errors import CaseloadError
from caseload.training.services import compliance, list_courses
from caseload.web.decorators import ALL_ROLES, require_role
from caseload.web.params import date_param


@require_GET
@require_role(*ALL_ROLES)
def compliance_page(request):
    try:
        as_of = date_param(request, "as_of", clock.today())
        course = request.GET.get("course") or None
        rows = compliance(as_of=as_of, course=course)["offices"]
    except CaseloadError as exc:
        message = exc.message
        return render(request, "training/compliance.html", {"error": message, "rows": [], "courses": list_courses()},
                      status=400)
    totals = {k: sum(r[k] for r in rows) for k in ("officers", "current", "expiring", "overdue", "never")}
    return render(request, "training/compliance.html", {"rows": rows, "totals": totals, "as_of": as_of, "course": course,
                                                        "courses": list_courses()})
