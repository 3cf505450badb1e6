"""Headquarters planning pages (/planning/…): staffing with saved scenarios, workload, countries,
training and the manual. National roles read every office; a supervisor reads their own office's
rows (another office is a 404); officers are refused (403). Long computations run as
background jobs (``planning.jobs``) that the page polls."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from caseload.core import clock
from caseload.core.access import access_office, reads_national, role_of, visible_cases
from caseload.core.errors import CaseloadError, UsageError
from caseload.planning import jobs, services
from caseload.planning.models import JobStatus
from caseload.reports import charts
from caseload.reports.views import scoped_office
from caseload.web.decorators import require_role
from caseload.web.params import date_param

ROLES = ("supervisor", "hq_analyst", "auditor", "administrator")


def _job_context(request, job, page: str) -> dict:
    return {"job": job, "poll_url": reverse("planning:status") + f"?job={job.pk}" if job else "",
            "page_url": reverse(page) + f"?job={job.pk}" if job else reverse(page)}


@require_GET
@require_role(*ROLES)
def status(request):
    """The progress fragment htmx polls; when the job has finished it asks the page to reload."""
    job = jobs.access_job(request.GET.get("job"), request.user)
    response = render(request, "planning/_job.html", {"job": job, "poll_url": reverse("planning:status") + f"?job={job.pk}" if job else ""})
    if job is not None and job.status != JobStatus.RUNNING and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


# --- Staffing -------------------------------------------------------------------------------

def _staffing_charts(plan: dict, rows: list[dict]) -> dict:
    today = clock.today()
    if not rows:
        return {}
    return {
        "need": charts.paired_bars_svg(rows, category="office", series={"fte_need": "FTE need", "on_board": "on board"},
                                       title=f"FTE need and officers on board, as of {today}", value_title="officers"),
        "shortfall": charts.paired_bars_svg(
            rows, category="office", series={"shortfall_before": "before hires", "shortfall_after": "after optimal hires",
                                             "shortfall_after_proportional": "after proportional hires"},
            title=f"Shortfall ratio before and after {plan['national']['hires']} hires, as of {today}",
            value_title="share of FTE need uncovered"),
    }


@require_http_methods(["GET", "POST"])
@require_role(*ROLES)
def staffing(request):
    office = scoped_office(request)
    error, status_code = None, 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "save":
                job = jobs.access_job(request.POST.get("job"), request.user)
                if job is None:
                    raise UsageError("unknown_job", "no such staffing plan to save")
                scenario = services.do_save_scenario(actor=request.user, name=request.POST.get("name", ""), job=job)
                return redirect(reverse("planning:staffing") + f"?job={job.pk}&saved={scenario.pk}")
            job = jobs.start("staffing", owner=request.user, inputs=services.check_staffing_inputs(request.POST))
            return redirect(reverse("planning:staffing") + f"?job={job.pk}")
        except CaseloadError as exc:
            error, status_code = exc.as_dict(), exc.http_status
    job = jobs.access_job(request.GET.get("job"), request.user)
    plan = job.result if job is not None and job.status == JobStatus.DONE else None
    rows = services.office_rows(plan["offices"], office) if plan else []
    scenarios = list(services.scenarios_visible(request.user).order_by("-created_at")[:50])
    comparison = None
    if request.GET.get("a") and request.GET.get("b"):
        comparison = services.compare(services.access_scenario(request.user, request.GET["a"]),
                                      services.access_scenario(request.user, request.GET["b"]), office=office)
    inputs = job.inputs if job is not None else {"hires": 60, "weights": "measured"}
    values = {k: "" if inputs.get(k) is None else str(inputs[k]) for k in ("hires", "weights", "max_hires_per_office", "budget")}
    values["limits"] = ""
    if request.method == "POST":
        values.update({k: request.POST.get(k, "") for k in values})
    return render(request, "planning/staffing.html", {
        **_job_context(request, job, "planning:staffing"), "plan": plan, "rows": rows, "office": office,
        "national": reads_national(request.user), "charts": _staffing_charts(plan, rows) if plan else {},
        "scenarios": scenarios, "comparison": comparison, "error": error,
        "values": values,
        "can_save": role_of(request.user) in services.SCENARIO_OWNERS, "saved": request.GET.get("saved"),
    }, status=status_code)


# --- Workload -------------------------------------------------------------------------------

@require_GET
@require_role(*ROLES)
def workload(request):
    job = jobs.start("workload", owner=request.user, inputs={}, reuse=True)
    doc = job.result if job.status == JobStatus.DONE else None
    chart = ""
    if doc and doc["weights"]:
        chart = charts.intervals_svg(doc["weights"], category="case_type", value="minutes_per_case_month", low="low",
                                     high="high", title=f"Case weights with 90 % intervals, as of {clock.today()}",
                                     value_title="minutes per case-month")
    return render(request, "planning/workload.html", {**_job_context(request, job, "planning:workload"), "doc": doc,
                                                      "chart": chart})


# --- Countries ------------------------------------------------------------------------------

def _held_back(row: dict) -> str:
    """Why no tier is suggested, or why the suggestion is not the official tier."""
    from caseload.countries import config as cfgmod

    cfg = cfgmod.config()
    if row["suggested_tier"] is None:
        return (f"too little evidence: fewer than {cfg.min_decisions} decisions in the last {cfg.window_days} days "
                f"and fewer than {cfg.min_pending} pending requests")
    if row["suggested_tier"] != row["tier"]:
        return "the official tier changes only when a tier change is recorded with its source (caseload countries tier)"
    return ""


@require_GET
@require_role(*ROLES)
def countries(request):
    from caseload.countries.models import Country
    from caseload.countries.services import report

    as_of = date_param(request, "as_of", clock.today())
    rows = report(as_of=as_of)
    names = dict(Country.objects.filter(code__in=[r["country"] for r in rows]).values_list("code", "name"))
    for r in rows:
        r["name"] = names.get(r["country"], r["country"])
        r["held_back"] = _held_back(r)
    return render(request, "planning/countries.html", {"rows": rows, "as_of": as_of})


@require_GET
@require_role(*ROLES)
def country(request, code: str):
    """A country's escalation package: the counts are the country's; the cases listed are those
    the reader may see (a supervisor: their office's). Listing A-numbers is an audited read."""
    from caseload.countries.escalation import PACKAGE_CASE_COLUMNS, escalation_package, record_package_export
    from caseload.countries.services import access_country

    country_obj = access_country(code)
    package = escalation_package(country=country_obj,
                                 cases_in=None if reads_national(request.user) else visible_cases(request.user))
    record_package_export(package, fmt="page", via=request.get_full_path(), actor=request.user)
    return render(request, "planning/country.html", {"package": package, "columns": PACKAGE_CASE_COLUMNS})


# --- Training and the manual ------------------------------------------------------------------

@require_GET
@require_role(*ROLES)
def training(request):
    """Compliance by office (a supervisor: their own); with ?office=CODE, that office's officers."""
    from caseload.offices.models import Officer, OfficerStatus
    from caseload.training.services import compliance, officer_status

    as_of = date_param(request, "as_of", clock.today())
    own = None if reads_national(request.user) else scoped_office(request)
    rows = compliance(office=own, as_of=as_of)["offices"]
    drill = request.GET.get("office")
    officers = []
    if drill:
        office = access_office(request.user, drill)
        for o in Officer.objects.filter(office=office).exclude(status=OfficerStatus.SEPARATED).order_by("last_name", "first_name", "id"):
            st = officer_status(o.pk, as_of=as_of)
            required = [c for c in st["courses"] if c["required"]]
            officers.append({"id": o.pk, "name": o.name, "unit": o.unit, "status": o.status, "courses": required,
                             "missing": sum(1 for c in required if c["status"] in ("overdue", "never"))})
        drill = office.code
    return render(request, "planning/training.html", {"rows": rows, "as_of": as_of, "drill": drill, "officers": officers})


@require_GET
@require_role(*ROLES)
def manual(request):
    from caseload.policy import manual as manual_mod

    as_of = date_param(request, "as_of", clock.today())
    office = scoped_office(request)
    overdue = manual_mod.review_status(as_of=as_of, overdue_only=True)["sections"]
    sections = manual_mod.unacknowledged(office=office, as_of=as_of)["sections"]
    offices = sorted({m["office"] for s in sections for m in s["missing"]})
    matrix = [{"section": s["section"], "title": s["title"], "version": s["version"], "required": s["required"],
               "acknowledged": s["acknowledged"],
               "missing": [sum(1 for m in s["missing"] if m["office"] == o) for o in offices]} for s in sections]
    return render(request, "planning/manual.html", {"overdue": overdue, "matrix": matrix, "offices": offices,
                                                    "as_of": as_of, "office": office})
