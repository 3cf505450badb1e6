"""The auditor's pages: the audit log with filters, chain verification, who read a person."""

from __future__ import annotations

import json

from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from caseload.core import audit
from caseload.web.decorators import require_role
from caseload.web.params import date_param, int_param

AUDIT_ROLES = ("auditor", "administrator")


@require_GET
@require_role(*AUDIT_ROLES)
def events_page(request):
    filters = {k: request.GET.get(k, "").strip() for k in ("actor", "action", "a_number")}
    page = audit.search_events(**filters, start=date_param(request, "from"), end=date_param(request, "to"),
                               before=int_param(request, "before", minimum=1))
    query = request.GET.copy()
    query.pop("before", None)
    return render(request, "audit/events.html", {
        "page": page, "filters": filters, "from": request.GET.get("from", ""), "to": request.GET.get("to", ""),
        "query": query.urlencode(), "actions": audit.known_actions()})


@require_http_methods(["GET", "POST"])
@require_role(*AUDIT_ROLES)
def verify_page(request):
    result = checkpoint_error = None
    if request.method == "POST":
        checkpoint = None
        upload = request.FILES.get("checkpoint")
        if upload is not None:
            try:
                checkpoint = json.loads(upload.read(65536).decode("utf-8"))
                if not isinstance(checkpoint, dict) or not {"events", "last_id", "head", "at", "signature"} <= checkpoint.keys():
                    raise ValueError("not an audit checkpoint")
            except (ValueError, UnicodeDecodeError) as exc:
                checkpoint_error = f"That file is not an audit checkpoint ({exc})."
                checkpoint = None
        if checkpoint_error is None:
            result = audit.verify(checkpoint=checkpoint)
            audit.record(action="audit.verified", actor=request.user, details={
                "ok": result.ok, "events": result.events, "problems": len(result.problems),
                "checkpoint": checkpoint.get("last_id") if checkpoint else None})
    return render(request, "audit/verify.html", {"result": result, "checkpoint_error": checkpoint_error})


@require_GET
@require_role(*AUDIT_ROLES)
def who_read_page(request):
    a_number = request.GET.get("a_number", "").strip()
    rows = None
    if a_number:
        from caseload.docket import anumber

        digits = anumber.check(a_number)
        rows = audit.who_read(digits, start=date_param(request, "from"), end=date_param(request, "to"))
        audit.record_read(action="case.read", via=request.path, actor=request.user, a_numbers=[digits])
        a_number = anumber.display(digits)
    return render(request, "audit/who_read.html", {"a_number": a_number, "rows": rows,
                                                   "from": request.GET.get("from", ""), "to": request.GET.get("to", "")})
