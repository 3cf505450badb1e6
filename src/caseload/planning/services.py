"""Headquarters planning: the computations behind the planning pages and saved staffing scenarios.

The figures come from the services that own them (``staffing.services.staffing_plan``, the
weight sets and ``weight_gap``, ``workload.services.timelog_summary``, the country report and
escalation package, training compliance, the manual's review status and acknowledgments); this
module checks the page's inputs, selects the rows a reader may see and adds the per-office
shortfall ratios the charts show.
"""

from __future__ import annotations

import tomllib

from django.db import IntegrityError, transaction

from caseload.core import audit, clock
from caseload.core.access import role_of
from caseload.core.errors import Conflict, Forbidden, NotFound, UsageError
from caseload.planning import jobs
from caseload.planning.models import JobStatus, PlanningJob, StaffingScenario

MAX_HIRES = 10_000
MAX_NAME = 120
SCENARIO_OWNERS = ("hq_analyst", "administrator")    # who may save scenarios
SCENARIO_READERS_ALL = ("auditor", "administrator")  # who reads everyone's scenarios


# --- Inputs ------------------------------------------------------------------------------

def _int(value: str, name: str, *, minimum: int, maximum: int) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or not minimum <= int(value) <= maximum:
        raise UsageError(f"invalid_{name}", f"{name.replace('_', ' ')} must be a whole number from {minimum} to {maximum}, got {value!r}")
    return int(value)


def check_staffing_inputs(data) -> dict:
    """The staffing form's fields as the inputs of ``staffing_plan`` (a bad value: UsageError, 400)."""
    weights = (data.get("weights") or "measured").strip()
    if weights not in ("measured", "adjusted"):
        raise UsageError("invalid_weights", f"weights must be measured or adjusted, got {weights!r}")
    budget_text = (data.get("budget") or "").strip()
    budget = None
    if budget_text:
        try:
            budget = float(budget_text)
        except ValueError:
            budget = -1.0
        if not 0 <= budget <= 1e9:
            raise UsageError("invalid_budget", f"budget must be a number from 0 to 1e9, got {budget_text!r}")
    limits_text = (data.get("limits") or "").strip()
    limits = None
    if limits_text:
        try:
            limits = tomllib.loads(limits_text).get("offices", {})
        except tomllib.TOMLDecodeError as exc:
            raise UsageError("invalid_limits", f"office limits: {exc}") from None
        if not isinstance(limits, dict) or not all(isinstance(v, dict) for v in limits.values()):
            raise UsageError("invalid_limits", "office limits: write [offices.CODE] tables with max_hires and cost")
        limits = {code.upper(): spec for code, spec in limits.items()}
        _check_limits(limits)
    return {"hires": _int(data.get("hires"), "hires", minimum=0, maximum=MAX_HIRES) or 0, "weights": weights,
            "max_hires_per_office": _int(data.get("max_hires_per_office"), "max_hires_per_office", minimum=0, maximum=MAX_HIRES),
            "limits": limits, "budget": budget}


def _check_limits(limits: dict) -> None:
    """Every office named exists; ``max_hires`` a whole number ≥ 0, ``cost`` a number > 0, nothing else."""
    from caseload.offices.models import FieldOffice

    known = set(FieldOffice.objects.values_list("code", flat=True))
    problems = []
    for code, spec in sorted(limits.items()):
        if code not in known:
            problems.append(f"unknown office {code}")
        for key, value in spec.items():
            if key == "max_hires" and not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_HIRES):
                problems.append(f"{code}.max_hires must be a whole number from 0 to {MAX_HIRES}")
            elif key == "cost" and not (isinstance(value, int | float) and not isinstance(value, bool) and value > 0):
                problems.append(f"{code}.cost must be a number above 0")
            elif key not in ("max_hires", "cost"):
                problems.append(f"{code}: unknown key {key!r} (max_hires, cost)")
    if problems:
        raise UsageError("invalid_limits", "office limits: " + "; ".join(problems))


# --- Computations (run as jobs) ------------------------------------------------------------

@jobs.kind("staffing")
def staffing(*, hires: int, weights: str, max_hires_per_office: int | None, limits: dict | None,
             budget: float | None) -> dict:
    """``caseload staffing plan`` with these inputs, plus each office's shortfall ratio before the
    hires, after the optimal hires and after the proportional rule's."""
    from caseload.staffing.services import staffing_plan

    plan = staffing_plan(hires=hires or None, weights_kind=weights, max_hires_per_office=max_hires_per_office,
                         office_limits=limits, budget=budget)
    proportional = (plan["national"].get("allocation") or {}).get("proportional", {}).get("hires", {})
    for row in plan["offices"]:
        need, board = row["fte_need"], row["on_board"]
        row["proportional_hires"] = proportional.get(row["office"], 0)
        row["shortfall_before"] = shortfall_ratio(need, board)
        row["shortfall_after"] = shortfall_ratio(need, board + row["hires"])
        row["shortfall_after_proportional"] = shortfall_ratio(need, board + row["proportional_hires"])
    return plan


def shortfall_ratio(need: float, staffed: float) -> float:
    """The share of an office's FTE need left uncovered (0 when covered), as the hiring model counts it."""
    return round(max(0.0, need - staffed) / need, 4) if need > 0 else 0.0


@jobs.kind("workload")
def workload() -> dict:
    """The measured weight set in use (measured from the time log when none is stored), the gap
    to the adjusted set, and the collateral share of the study period's time log."""
    import datetime as dt

    from caseload.core.errors import CaseloadError
    from caseload.staffing import services as staffing_services
    from caseload.workload.services import timelog_summary

    ws = staffing_services.weights_for("measured", actor_label="system:planning")
    weights = list(ws.weights.order_by("case_type").values("case_type", "minutes_per_case_month", "low", "high", "case_months"))
    try:
        gap = staffing_services.weight_gap()
    except CaseloadError as exc:
        gap = {"error": exc.message, "case_types": []}
    period = ({"from": ws.period_from.isoformat(), "to": ws.period_to.isoformat()}
              if ws.period_from and ws.period_to else None)
    summary = timelog_summary(date_from=ws.period_from, date_to=ws.period_to - dt.timedelta(days=1)) \
        if period else timelog_summary()
    return {"weight_set": staffing_services.weights_used(staffing_services.weight_table(ws)), "period": period,
            "weights": weights, "gap": gap,
            "collateral_minutes_per_officer_month": ws.collateral_minutes_per_officer_month,
            "time_log": {k: summary[k] for k in ("entries", "minutes", "case_minutes", "collateral_minutes",
                                                  "case_share", "collateral_share")},
            "collateral_by_activity": [a for a in summary["by_activity"] if a["collateral"]]}


@jobs.kind("report")
def management_report(*, as_of: str, office: str | None) -> dict:
    import datetime as dt

    from caseload.reports import report

    return report.build(as_of=dt.date.fromisoformat(as_of), office=office)


# --- Scenarios -----------------------------------------------------------------------------

def scenarios_visible(actor):
    """Everyone's scenarios for auditors and administrators; one's own for everyone else."""
    qs = StaffingScenario.objects.select_related("owner")
    return qs if role_of(actor) in SCENARIO_READERS_ALL else qs.filter(owner=actor)


def access_scenario(actor, scenario_id) -> StaffingScenario:
    try:
        pk = int(scenario_id)
    except (TypeError, ValueError):
        raise NotFound("unknown_scenario", f"no scenario {scenario_id!r}") from None
    found = scenarios_visible(actor).filter(pk=pk).first()
    if found is None:
        raise NotFound("unknown_scenario", f"no scenario {scenario_id!r}")
    return found


def do_save_scenario(*, actor, name: str, job: PlanningJob) -> StaffingScenario:
    """Save a finished staffing job as the actor's named scenario (its inputs and plan). Audited."""
    if role_of(actor) not in SCENARIO_OWNERS:
        raise Forbidden("role_not_allowed", "only headquarters analysts and administrators save scenarios")
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        raise UsageError("invalid_name", f"a scenario needs a name of 1 to {MAX_NAME} characters")
    if job.kind != "staffing" or job.owner_id != actor.pk or job.status != JobStatus.DONE:
        raise Conflict("job_not_done", "only a finished staffing plan of your own can be saved")
    try:
        with transaction.atomic():
            scenario = StaffingScenario.objects.create(name=name, owner=actor, created_at=clock.now(),
                                                       inputs=job.inputs, outputs=job.result)
            audit.record(action="planning.scenario_saved", actor=actor, object_type="staffing_scenario",
                         object_id=scenario.pk, details={"name": name, "inputs": job.inputs})
    except IntegrityError:
        raise Conflict("scenario_exists", f"you already have a scenario named {name!r}") from None
    return scenario


def compare(a: StaffingScenario, b: StaffingScenario, *, office: str | None = None) -> dict:
    """Two scenarios side by side: per office hires and capacity % after, and the national figures."""
    rows_b = {r["office"]: r for r in b.outputs["offices"]}
    rows = []
    for ra in a.outputs["offices"]:
        if office is not None and ra["office"] != office:
            continue
        rb = rows_b.get(ra["office"], {})
        rows.append({"office": ra["office"], "fte_need_a": ra["fte_need"], "fte_need_b": rb.get("fte_need"),
                     "hires_a": ra["hires"], "hires_b": rb.get("hires"),
                     "capacity_after_a": ra["capacity_pct_after"], "capacity_after_b": rb.get("capacity_pct_after")})

    def national(s: StaffingScenario) -> dict:
        n = s.outputs["national"]
        alloc = n.get("allocation") or {}
        return {"hires": n["hires"], "fte_need": n["fte_need"], "on_board": n["on_board"], "gap": n["gap"],
                "max_shortfall_ratio": alloc.get("max_shortfall_ratio"), "total_shortfall": alloc.get("total_shortfall"),
                "max_capacity_pct_after": alloc.get("max_capacity_pct_after"), "weights": n["weights"]["kind"]}

    return {"a": {"id": a.pk, "name": a.name, "national": national(a), "inputs": a.inputs},
            "b": {"id": b.pk, "name": b.name, "national": national(b), "inputs": b.inputs}, "offices": rows}


def office_rows(rows: list[dict], office: str | None) -> list[dict]:
    """The rows of one office (a supervisor's), or all of them."""
    return rows if office is None else [r for r in rows if r["office"] == office]


