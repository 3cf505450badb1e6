"""Landing page: the docket's headline figures."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from caseload.docket.services import summary
from caseload.web.charts import bar_chart_svg


@require_GET
def landing(request):
    figures = summary()
    chart = bar_chart_svg(figures["by_office"], category="office", value="cases_per_officer",
                          title="Open non-detained cases per officer, by field office",
                          value_title="cases per officer") if figures["cases"] else ""
    return render(request, "web/landing.html", {"figures": figures, "chart_svg": chart})
