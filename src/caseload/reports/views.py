"""The management report in the browser (/reports/management/) and as a PDF download (?format=pdf).

National roles read the national report or one office's; a supervisor reads their own office's
only (another office is a 404, as for every scoped page). The page shows counts, never a
person's record, so it is not an audited read.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from caseload.core import clock
from caseload.core.access import access_office, office_id_of, reads_national, visible_offices
from caseload.core.errors import UsageError
from caseload.reports import report
from caseload.web.decorators import require_role
from caseload.web.params import date_param

ROLES = ("supervisor", "hq_analyst", "auditor", "administrator")


def scoped_office(request, name: str = "office") -> str | None:
    """The office code a page shows: a supervisor's own (another named office is a 404); for
    national roles the one asked for, or None (national)."""
    code = (request.GET.get(name) or "").strip()
    if code:
        return access_office(request.user, code).code
    if reads_national(request.user):
        return None
    office = visible_offices(request.user).filter(pk=office_id_of(request.user)).first()
    if office is None:
        raise UsageError("no_office", "your account is not attached to a field office")
    return office.code


@require_GET
@require_role(*ROLES)
def management(request):
    """The report is gathered by a background job (reused for ten minutes for the same date and
    office); the page polls it, and ``?format=pdf`` answers the PDF once it is there."""
    from caseload.planning import jobs
    from caseload.planning.models import JobStatus

    as_of = date_param(request, "as_of", clock.today())
    office = scoped_office(request)
    fmt = request.GET.get("format", "page")
    if fmt not in ("page", "pdf"):
        raise UsageError("invalid_format", f"format must be page or pdf, got {fmt!r}")
    job = jobs.start("report", owner=request.user, inputs={"as_of": as_of.isoformat(), "office": office}, reuse=True)
    doc = job.result if job.status == JobStatus.DONE else None
    if fmt == "pdf" and doc is not None:
        response = HttpResponse(report.render_pdf(doc), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="management-report-{office or "national"}-{doc["as_of"]}.pdf"'
        return response
    offices = list(visible_offices(request.user).filter(active=True).order_by("code").values_list("code", flat=True)) \
        if reads_national(request.user) else []
    query = request.GET.copy()
    query.pop("format", None)
    return render(request, "reports/management.html", {
        "report": doc, "h": doc["headline"] if doc else None, "c": doc["commands"] if doc else None, "job": job,
        "poll_url": reverse("planning:status") + f"?job={job.pk}", "page_url": request.path + "?" + query.urlencode(),
        "offices": offices, "office": office, "as_of": as_of})
