"""The forecast page (/planning/forecast/): choose or upload scenarios, run in the background,
fan charts nationally (national roles) or for one office (a supervisor: their own office only).

Without JavaScript the progress block reloads the page every two seconds; with htmx it polls
the status fragment, which asks for a reload when the run is done.
"""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from caseload.core.access import access_office, office_id_of, reads_national, visible_offices
from caseload.core.errors import CaseloadError, UsageError
from caseload.forecast import jobs
from caseload.forecast.charts import fan_chart_svg
from caseload.forecast.scenario import EXAMPLE_FILE
from caseload.web.decorators import require_role

ROLES = ("supervisor", "hq_analyst", "auditor", "administrator")
MONTHS = (12, 24, 60)
REPS = (100, 200, 500, 1000)
MAX_UPLOAD_BYTES = 100_000
CHARTED = (("open_cases", "Open cases", "cases"), ("cases_per_officer", "Cases per officer", "cases per officer"),
           ("capacity_pct", "Capacity %", "capacity %"))
SHIPPED = {"baseline": ("Baseline: today's docket and rates, no changes", None),
           "example": ("Example: hires, more inflow, China cooperative from month 12", EXAMPLE_FILE)}


def _scenario(request, slot: str) -> dict | None:
    """The scenario chosen in slot ``a`` or ``b`` of the form; an uploaded file is checked now."""
    from caseload.forecast import services

    choice = request.POST.get(f"scenario_{slot}", "baseline" if slot == "a" else "none")
    if choice == "none" and slot == "b":
        return None
    if choice in SHIPPED:
        label, path = SHIPPED[choice]
        return {"label": label, "path": str(path) if path else None, "text": None}
    if choice != "upload":
        raise UsageError("invalid_choice", f"unknown scenario choice {choice!r}")
    upload = request.FILES.get(f"file_{slot}")
    if upload is None:
        raise UsageError("missing_upload", f"choose a scenario file to upload for scenario {slot.upper()}")
    if upload.size > MAX_UPLOAD_BYTES:
        raise UsageError("upload_too_large", f"a scenario file is at most {MAX_UPLOAD_BYTES:,} bytes")
    try:
        text = upload.read().decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("unreadable_file", f"{upload.name} is not UTF-8 text") from None
    scenario = services.check_scenario_text(text, file=upload.name)
    return {"label": scenario.title, "path": None, "text": text}


def _choice(request, name: str, allowed: tuple[int, ...], default: int) -> int:
    try:
        value = int(request.POST.get(name, default))
    except ValueError:
        value = -1
    if value not in allowed:
        raise UsageError(f"invalid_{name}", f"{name} must be one of {', '.join(map(str, allowed))}")
    return value


def _office(request):
    """The office shown: a supervisor's own; for national roles the one asked for, or national (None)."""
    code = request.GET.get("office") or ""
    if code:
        return access_office(request.user, code)
    if not reads_national(request.user):
        own = office_id_of(request.user)
        office = visible_offices(request.user).filter(pk=own).first() if own else None
        if office is None:
            raise UsageError("no_office", "your account is not attached to a field office")
        return office
    return None


def _charts(job: jobs.Job, office) -> list[dict]:
    rows = []
    for measure, title, value_title in CHARTED:
        cells = []
        for result in job.results:
            months = result["national"] if office is None else next(
                o["months"] for o in result["by_office"] if o["office"] == office.code)
            where = "national" if office is None else office.code
            cells.append({"scenario": result["scenario"]["title"], "last": months[-1][measure],
                          "svg": fan_chart_svg(months, measure, title=f"{title}, {where}", value_title=value_title)})
        rows.append({"title": title, "cells": cells})
    return rows


@require_http_methods(["GET", "POST"])
@require_role(*ROLES)
def page(request):
    problems, error, status = [], None, 200
    if request.method == "POST":
        try:
            scenarios = [s for s in (_scenario(request, "a"), _scenario(request, "b")) if s is not None]
            job = jobs.start(owner=request.user.pk, scenarios=scenarios, months=_choice(request, "months", MONTHS, 60),
                             reps=_choice(request, "reps", REPS, 200), seed=1)
        except CaseloadError as exc:
            error, status = exc.as_dict(), 400
            problems = exc.details.get("problems", [])
        else:
            office = request.POST.get("office") or ""
            query = f"?job={job.id}" + (f"&office={office}" if office else "")
            return redirect(reverse("forecast:page") + query, permanent=False)
    office = _office(request)
    job = jobs.get(request.GET.get("job"), request.user.pk)
    context = {
        "job": job, "office": office, "error": error, "problems": problems, "months_choices": MONTHS,
        "reps_choices": REPS, "shipped": SHIPPED, "national": reads_national(request.user),
        "offices": list(visible_offices(request.user).order_by("code")) if reads_national(request.user) else [],
        "charts": _charts(job, office) if job is not None and job.status == "done" else [],
    }
    return render(request, "forecast/page.html", context, status=status)


@require_GET
@require_role(*ROLES)
def status(request):
    """The progress fragment htmx polls; when the run has finished it asks the page to reload."""
    job = jobs.get(request.GET.get("job"), request.user.pk)
    response = render(request, "forecast/_progress.html", {"job": job})
    if job is not None and job.status != "running" and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response
