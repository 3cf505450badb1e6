"""The management report: for a date, the docket against each of OIG-17-51's five
recommendations and its lost-case finding (docs/report.md), as HTML and as PDF from one template.

:func:`build` gathers the figures from the services that own them and :mod:`figures`; every
figure carries a footnote naming the command that reproduces it. :func:`render_html` renders
the document (``standalone=True``: a complete file with its print style, which is what the PDF
is made from; otherwise the page body for the web app), :func:`render_pdf` turns the standalone
HTML into PDF with WeasyPrint.
"""

from __future__ import annotations

import datetime as dt
import time
import tomllib
from pathlib import Path

from django.db import connection
from django.db.models import Count
from django.template.loader import render_to_string

from caseload.core import clock
from caseload.core.errors import CaseloadError
from caseload.docket.models import Case, CaseStatus
from caseload.offices.models import Officer, OfficerStatus, Unit
from caseload.reports import charts, figures, snapshots

DATA_FILE = Path(__file__).with_name("data") / "report.toml"
STYLE_FILE = Path(__file__).with_name("static") / "reports" / "report.css"


def parameters() -> dict:
    with DATA_FILE.open("rb") as fh:
        return tomllib.load(fh)


def _cmd(text: str, as_of: dt.date | None = None, office: str | None = None) -> str:
    """The command line that reproduces a figure."""
    return "caseload " + text + (f" --as-of {as_of}" if as_of else "") + (f" --office {office}" if office else "") \
        + " --format json"


def _priority_shares(office_id: int | None) -> list[dict]:
    """Open non-detained cases by stored priority level and the rule set that set it."""
    scan = "NOT INDEXED" if connection.vendor == "sqlite" else ""
    where, params = "status = %s AND unit = %s", [CaseStatus.OPEN.value, Unit.NON_DETAINED.value]
    if office_id is not None:
        where, params = where + " AND office_id = %s", [*params, office_id]
    with connection.cursor() as cur:
        cur.execute(f"SELECT priority_rule_set, priority, COUNT(*) FROM {Case._meta.db_table} {scan} WHERE {where} "
                    "GROUP BY priority_rule_set, priority", params)
        rows = cur.fetchall()
    total = sum(n for _, _, n in rows) or 1
    return [{"rule_set": rs or "not classified", "level": level or "unclassified", "cases": n,
             "share_pct": round(100 * n / total, 1)} for rs, level, n in sorted(rows, key=lambda r: -r[2])]


def _absent_officers_cases(office_id: int | None) -> list[dict]:
    """Open cases still held by officers on leave or separated, by office and officer status."""
    absent = Officer.objects.filter(status__in=[OfficerStatus.LEAVE, OfficerStatus.SEPARATED])
    if office_id is not None:
        absent = absent.filter(office_id=office_id)
    ids = list(absent.values_list("id", flat=True))
    if not ids:
        return []
    rows = (Case.objects.filter(status=CaseStatus.OPEN, officer_id__in=ids)
            .values_list("office__code", "officer__status").annotate(n=Count("id")).order_by("office__code"))
    return [{"office": code, "officer_status": status, "cases": n} for code, status, n in rows]


def _lost_by_office(overdue: dict | None) -> list[dict]:
    if overdue is None:
        return []
    return [{"office": r["office"], "open_cases": r["open_cases"], "overdue": r["overdue"],
             "records_check": r["by_task"].get("records_check", 0),
             "stale_national_security": overdue["stale_national_security_by_office"].get(r["office"], 0),
             "unassigned": overdue["unassigned_by_office"].get(r["office"], 0)} for r in overdue["by_office"]]


def _workload(plan: dict) -> dict:
    from caseload.staffing import services as staffing

    ws = staffing.latest_weight_set("measured")
    weights = list(ws.weights.order_by("case_type").values("case_type", "minutes_per_case_month", "low", "high",
                                                           "case_months")) if ws else []
    try:
        gap = staffing.weight_gap()
    except CaseloadError as exc:
        gap = {"error": exc.message, "case_types": []}
    return {"weights": weights, "gap": gap, "weight_set": plan["national"]["weights"],
            "year_value": plan["national"]["year_value"]}


def build(*, as_of: dt.date | None = None, office: str | None = None) -> dict:
    """Everything the report shows for ``as_of`` (default today), nationally or for one office."""
    from caseload.countries.services import report as countries_report
    from caseload.offices.services import access_office
    from caseload.policy import manual
    from caseload.policy.services import rule_set_in_force
    from caseload.staffing.services import staffing_plan

    started = time.perf_counter()
    as_of = snapshots.check_as_of(as_of)
    office_obj = access_office(office) if office else None
    code = office_obj.code if office_obj else None
    params = parameters()
    present = as_of >= clock.today()

    head = figures.headline(as_of, office=code)
    plan = staffing_plan(hires=params["hires"])
    plan_rows = [r for r in plan["offices"] if code is None or r["office"] == code]
    rule_set = rule_set_in_force(as_of)
    unack = manual.unacknowledged(office=code, as_of=as_of)["sections"]
    country_rows = countries_report(as_of=as_of)
    recommended = {r["office"]: r["recommended_caseload"] for r in plan["offices"]}
    by_office = [{**r, "recommended_caseload": recommended.get(r["office"])} for r in head["docket"]["by_office"]]
    trend = snapshots.trend(until=as_of, office=code)
    doc = {
        "as_of": as_of.isoformat(), "office": code, "present": present, "generated_at": clock.now().isoformat(),
        "headline": head, "parameters": params,
        "docket": {"by_office": by_office, "trend": trend,
                   "owned": head["docket"]["cases"] - head["unassigned_cases"] if head["unassigned_cases"] is not None else None},
        "lost": {"absent_officers": _absent_officers_cases(office_obj.pk if office_obj else None),
                 "by_office": _lost_by_office(head["overdue"])},
        "staffing": {"offices": plan_rows, "national": plan["national"], "year_value_hours": plan["year_value_hours"],
                     "allocation": plan["national"].get("allocation")},
        "workload": _workload(plan),
        "policy": {"rule_set": {"id": rule_set.id, "title": rule_set.header.title, "source": rule_set.header.source},
                   "shares": _priority_shares(office_obj.pk if office_obj else None),
                   "overdue_sections": manual.review_status(as_of=as_of, overdue_only=True)["sections"],
                   "unacknowledged": [{k: s[k] for k in ("section", "title", "version", "required", "acknowledged")}
                                      for s in unack]},
        "certifications": figures.certifications(as_of, code),
        "countries": {"rows": country_rows[:params["countries_listed"]],
                      "disagreements": [r for r in country_rows if r["suggested_tier"] and r["suggested_tier"] != r["tier"]]},
    }
    doc["charts"] = _charts(doc)
    doc["commands"] = _commands(as_of, code)
    doc["seconds"] = round(time.perf_counter() - started, 2)
    return doc


def _commands(as_of: dt.date, office: str | None) -> dict:
    """The footnote of each figure: the command that reproduces it."""
    return {
        "headline": _cmd("snapshot take", as_of),
        "docket": _cmd("docket summary") if as_of >= clock.today() else _cmd("snapshot take", as_of),
        "trend": "caseload snapshot list --format json",
        "overdue": _cmd("overdue", as_of, office),
        "capacity": _cmd("staffing capacity", None, office),
        "staffing": _cmd(f"staffing plan --hires {parameters()['hires']}"),
        "weights": "caseload workload weights --format json",
        "gap": "caseload workload gap --format json",
        "policy": _cmd("policy compare", as_of),
        "manual": _cmd("manual overdue", as_of),
        "unacknowledged": _cmd("manual unacknowledged", as_of, office),
        "training": _cmd("training compliance", as_of, office),
        "certifications": _cmd("training status --officer ID", as_of),
        "countries": _cmd("countries report", as_of),
        "absent": _cmd("officers list", None, office),
    }


def _charts(doc: dict) -> dict:
    head, as_of, where = doc["headline"], doc["as_of"], doc["office"] or "national"
    out = {}
    rows = doc["docket"]["by_office"]
    if rows:
        out["caseload"] = charts.paired_bars_svg(
            rows, category="office", series={"cases_per_officer": "cases per officer", "recommended_caseload": "recommended"},
            title=f"Cases per officer against the recommended caseload, as of {as_of}", value_title="cases")
    if len(doc["docket"]["trend"]) > 1:
        out["trend"] = charts.trend_svg(doc["docket"]["trend"], x="as_of", value="cases",
                                        title=f"Open cases, {where}, snapshots to {as_of}", value_title="open cases")
    if head["overdue"] is not None:
        by_task = [{"task": k, "overdue": v} for k, v in head["overdue"]["by_task"].items() if v]
        if by_task:
            out["overdue"] = charts.bar_chart_svg(by_task, category="task", value="overdue",
                                                  title=f"Overdue tasks by type, {where}, as of {as_of}",
                                                  value_title="overdue tasks")
    if head["capacity"] is not None and head["capacity"]["officers"]:
        out["capacity"] = charts.bar_chart_svg(head["capacity"]["bands"], category="band", value="officers",
                                               title=f"Officers by capacity %, {where}, as of {clock.today()}",
                                               value_title="officers")
    weights = doc["workload"]["weights"]
    if weights:
        out["weights"] = charts.intervals_svg(weights, category="case_type", value="minutes_per_case_month", low="low",
                                              high="high", title=f"Case weights with 90 % intervals, as of {clock.today()}",
                                              value_title="minutes per case-month")
    staff = doc["staffing"]["offices"]
    if staff:
        out["staffing"] = charts.paired_bars_svg(staff, category="office", series={"fte_need": "FTE need", "on_board": "on board"},
                                                 title=f"FTE need and officers on board, as of {clock.today()}",
                                                 value_title="officers")
    training = head["training"]["by_office"]
    if training:
        out["training"] = charts.paired_bars_svg(
            training, category="office", series={"current": "current", "expiring": "expiring", "overdue": "overdue", "never": "never"},
            title=f"Training status of officers by office, as of {as_of}", value_title="officers")
    tiers = [{"tier": t, "pending": n} for t, n in head["countries"]["pending_by_tier"].items()]
    if any(t["pending"] for t in tiers):
        out["countries"] = charts.bar_chart_svg(tiers, category="tier", value="pending",
                                                title=f"Pending travel-document requests by tier, as of {as_of}",
                                                value_title="pending requests")
    return out


def render_html(doc: dict, *, standalone: bool) -> str:
    """The report as HTML: the page body (``standalone=False``) or a complete document with its
    print style (``standalone=True``), the one the PDF is made from."""
    context = {"report": doc, "h": doc["headline"], "c": doc["commands"], "standalone": standalone,
               "style": STYLE_FILE.read_text(encoding="utf-8") if standalone else ""}
    return render_to_string("reports/document.html" if standalone else "reports/_report.html", context)


def render_pdf(doc: dict) -> bytes:
    from weasyprint import HTML

    return HTML(string=render_html(doc, standalone=True)).write_pdf()
