"""Pages: the country cooperation report and a country's escalation package (read-only)."""

from __future__ import annotations

from csp.decorators import csp_update
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from caseload.core import clock
from caseload.core.access import reads_national, visible_cases
from caseload.core.errors import NotFound
from caseload.countries.escalation import (
    PACKAGE_CASE_COLUMNS,
    escalation_package,
    package_csv,
    package_html,
    record_package_export,
)
from caseload.countries.services import access_country, report
from caseload.web.decorators import ALL_ROLES, require_role


@require_GET
@require_role(*ALL_ROLES)
def report_page(request):
    as_of = clock.today()
    return render(request, "countries/report.html", {"rows": report(as_of=as_of), "as_of": as_of})


@require_GET
@require_role(*ALL_ROLES)
@csp_update({"style-src": ["'unsafe-inline'"]})  # the stand-alone HTML package carries its own <style>
def escalation_page(request, code: str):
    """The package lists people by A-number: every view is an audited read. The counts are the
    country's; the listed cases are those the reader may see (an officer: their own)."""
    try:
        country = access_country(code)
    except NotFound as exc:
        raise Http404(exc.message) from None
    package = escalation_package(country=country,
                                 cases_in=None if reads_national(request.user) else visible_cases(request.user))
    fmt = request.GET.get("format", "page")
    fmt = fmt if fmt in ("csv", "html") else "page"
    record_package_export(package, fmt=fmt, via=request.get_full_path(), actor=request.user)
    if fmt == "csv":
        response = HttpResponse(package_csv(package), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="travel-documents-{country.code}-{package["as_of"]}.csv"'
        return response
    if fmt == "html":
        return HttpResponse(package_html(package))
    return render(request, "countries/escalation.html", {"package": package, "columns": PACKAGE_CASE_COLUMNS})
