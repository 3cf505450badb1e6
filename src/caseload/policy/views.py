"""Pages: the procedures manual (as of a date, a section with its history, the diff, search) and the rule sets.

Read-only and open to every signed-in user; no page shows a person's record.
"""

from __future__ import annotations

import datetime as dt
import re

from django.http import Http404
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from caseload.core import clock
from caseload.core.errors import CaseloadError, NotFound, UsageError
from caseload.policy import manual, services
from caseload.web.decorators import ALL_ROLES, require_role
from caseload.web.params import date_param


class BadParameter(Exception):
    pass


def _date(request, name: str, default: dt.date | None) -> dt.date | None:
    try:
        return date_param(request, name, default)
    except UsageError as exc:
        raise BadParameter(exc.message) from None


def _marked(snippet: str) -> str:
    """Escape a search snippet, then turn its **matches** into <mark> elements."""
    return mark_safe(re.sub(r"\*\*(.+?)\*\*", r"<mark>\1</mark>", str(escape(snippet))))


def _bad_request(request, message: str):
    return render(request, "policy/bad_request.html", {"message": message}, status=400)


@require_GET
@require_role(*ALL_ROLES)
def manual_index(request):
    try:
        as_of = _date(request, "as_of", clock.today())
    except BadParameter as exc:
        return _bad_request(request, str(exc))
    query = request.GET.get("q", "").strip()
    results, search_error = None, ""
    if query:
        try:
            results = manual.search(query, as_of=as_of)["results"]
            for r in results:
                r["snippet_html"] = _marked(r["snippet"])
        except CaseloadError as exc:
            search_error = exc.message
    return render(request, "policy/manual_index.html", {
        "toc": manual.table_of_contents(as_of=as_of), "as_of": as_of, "query": query, "results": results,
        "search_error": search_error, "overdue": manual.review_status(as_of=as_of, overdue_only=True)["sections"]})


@require_GET
@require_role(*ALL_ROLES)
def manual_section(request, number: str):
    try:
        as_of = _date(request, "as_of", clock.today())
    except BadParameter as exc:
        return _bad_request(request, str(exc))
    try:
        history = manual.section_history(number)
        section = manual.show_section(number, as_of=as_of)
    except NotFound as exc:
        if exc.code == "unknown_section":
            raise Http404(exc.message) from None
        section, history = None, {**history, "message": exc.message}
    return render(request, "policy/manual_section.html", {"number": number, "as_of": as_of, "section": section,
                                                          "history": history})


@require_GET
@require_role(*ALL_ROLES)
def manual_diff(request):
    try:
        end = _date(request, "to", clock.today())
        start = _date(request, "from", end - dt.timedelta(days=365))
        doc = manual.diff(start=start, end=end, section=request.GET.get("section") or None)
    except BadParameter as exc:
        return _bad_request(request, str(exc))
    except CaseloadError as exc:
        return _bad_request(request, exc.message)
    for change in doc["changes"]:
        change["lines"] = [("add" if line.startswith("+") and not line.startswith("+++") else
                            "del" if line.startswith("-") and not line.startswith("---") else "", line)
                           for line in change["diff"].splitlines()]
    return render(request, "policy/manual_diff.html", {"doc": doc})


@require_GET
@require_role(*ALL_ROLES)
def rule_sets(request):
    today = clock.today()
    rows = services.list_rule_sets()
    for r in rows:
        r["in_force"] = r["effective_from"] <= today.isoformat() and (r["effective_to"] is None or today.isoformat() < r["effective_to"])
    return render(request, "policy/rule_sets.html", {"rows": rows, "today": today,
                                                      "cadence": services.list_cadence_tables()})
