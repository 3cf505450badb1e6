"""Pages: officer capacity and outliers of one office, for supervisors and analysts."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from caseload.core.access import access_office
from caseload.staffing import services
from caseload.web.charts import bar_chart_svg
from caseload.web.decorators import require_role


@require_GET
@require_role("supervisor", "hq_analyst", "auditor", "administrator")
def office_capacity(request, code: str):
    office = access_office(request.user, code)
    rows = services.officer_capacity(office=office.code)
    active = [r for r in rows if r["capacity_pct"] is not None and r["status"] == "active"]
    chart = bar_chart_svg(active, category="name", value="capacity_pct", title=f"Capacity % by officer, {office.code}",
                          value_title="capacity %") if active else ""
    return render(request, "staffing/office.html", {
        "office": office, "rows": rows, "chart_svg": chart, "outliers": services.outliers(office=office.code, capacity=rows),
    })
