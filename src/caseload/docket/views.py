"""The officer's pages: the worklist, finding a person, the case page with its actions, opening a case.

Views parse (forms), call one service of :mod:`caseload.docket.casework`, and render. A case
action that fails keeps what the user typed on the page: a stale form (someone changed the case
since the page was shown) says who changed it and when.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caseload.core.access import visible_offices
from caseload.core.errors import CaseloadError, Conflict, Forbidden, NotFound
from caseload.docket import casework
from caseload.docket.forms import ACTION_FORMS, OpenCaseForm, TransitionForm
from caseload.web.decorators import ALL_ROLES, require_role
from caseload.web.params import int_param

CHANGING = casework.CHANGING_ROLES

ACTIONS = {
    "check-in": casework.do_check_in, "contact": casework.do_contact, "warning": casework.do_warning,
    "review": casework.do_review, "travel-document": casework.do_travel_document, "stay": casework.do_stay,
    "claim": casework.do_claim, "transition": casework.do_case_transition,
}


@require_GET
@require_role("officer")
def worklist(request):
    """The officer's home: counts first, then the due tasks, national-security cases on top."""
    priority = request.GET.get("priority", "").strip() or None
    page = casework.worklist_page(request.user, task=request.GET.get("task", "").strip() or None,
                                  overdue_only=request.GET.get("overdue") == "1", priority=priority,
                                  after=request.GET.get("after", "").strip() or None, via=request.path)
    query = request.GET.copy()
    query.pop("after", None)
    return render(request, "docket/worklist.html", {"page": page, "query": query.urlencode()})


@require_GET
@require_role(*ALL_ROLES)
def case_search(request):
    """Find a person by A-number or name within the user's scope; an exact A-number opens the case."""
    from caseload.docket.intake import search

    text = request.GET.get("q", "").strip()
    results, error = [], ""
    if text:
        try:
            results = search(text, actor=request.user, limit=int_param(request, "limit", 25, minimum=1, maximum=200),
                             via=request.path)
        except CaseloadError as exc:
            if isinstance(exc, (NotFound, Forbidden)):
                raise
            error = exc.message
        digits = "".join(c for c in text if c.isdigit())
        if len(results) == 1 and len(digits) == 9 and results[0]["a_number"].replace("A", "").replace("-", "") == digits:
            return redirect("docket:case", case_id=results[0]["case_id"])
    return render(request, "docket/search.html", {"q": text, "results": results, "error": error},
                  status=400 if error else 200)


ACTION_TITLES = {
    "check-in": "Record a check-in", "contact": "Record a contact", "warning": "Serve the I-229(a) warning",
    "review": "Record a review", "travel-document": "Travel document: request or follow up",
    "stay": "Record a stay of removal", "claim": "Record a claim to U.S. citizenship",
}
FINAL_ORDER_ACTIONS = {"warning", "travel-document"}


def _forms_for(doc: dict, failed: tuple[str, object] | None) -> dict:
    """A fresh form per action (carrying the case's version), or the failed one as submitted.
    Actions that concern final orders are offered on final-order cases only."""
    case = doc["case"]
    names = [n for n in ACTION_TITLES if n not in FINAL_ORDER_ACTIONS or case.stage == "final_order"]
    forms = {name: ACTION_FORMS[name](initial={"version": case.version}, prefix=name) for name in names}
    transitions = [{**t, "form": TransitionForm(initial={"version": case.version, "to": t["to"]}, prefix=f"to-{t['to']}")}
                   for t in doc["transitions"]]
    if failed:
        name, form = failed
        if name == "transition":
            for t in transitions:
                if form.prefix == f"to-{t['to']}":
                    t["form"] = form
        else:
            forms[name] = form
    return {"action_forms": [(n, ACTION_TITLES[n], forms[n]) for n in ACTION_TITLES if n in forms],
            "transition_forms": transitions, "failed_action": failed[0] if failed else None}


def _render_case(request, case_id, *, failed=None, error=None, stale=None, status=200):
    doc = casework.case_page(request.user, case_id, via=request.path)
    return render(request, "docket/case.html", {"doc": doc, **_forms_for(doc, failed), "action_error": error,
                                                "stale": stale}, status=status)


@require_GET
@require_role(*ALL_ROLES)
def case_detail(request, case_id: int):
    return _render_case(request, case_id)


@require_POST
@require_role(*CHANGING)
def case_action(request, case_id: int, action: str):
    form_class = ACTION_FORMS.get(action)
    if form_class is None:
        raise Http404("no such action")
    prefix = f"to-{request.POST.get('transition_to', '')}" if action == "transition" else action
    form = form_class(request.POST, prefix=prefix)
    if not form.is_valid():
        return _render_case(request, case_id, failed=(action, form), status=400)
    fields = {k: v for k, v in form.cleaned_data.items() if k != "version"}
    if "records_check" in fields:
        fields["records_check"] = fields["records_check"] or None
    if "method" in fields:
        fields["method"] = fields["method"] or None
    try:
        case = casework.access_case_for_change(request.user, case_id, version=form.cleaned_data["version"])
        done = ACTIONS[action](actor=request.user, case=case, **fields)
    except (NotFound, Forbidden):
        raise
    except Conflict as exc:
        stale = casework.last_change(case_id) if exc.code == "stale_case" else None
        return _render_case(request, case_id, failed=(action, form), error=exc, stale=stale, status=409)
    except CaseloadError as exc:
        return _render_case(request, case_id, failed=(action, form), error=exc, status=exc.http_status)
    messages.success(request, done.message)
    return redirect(reverse("docket:case", args=[done.case_id]) + "#top")


@require_http_methods(["GET", "POST"])
@require_role(*CHANGING)
def case_new(request):
    offices = list(visible_offices(request.user).filter(active=True).order_by("name"))
    form = OpenCaseForm(request.POST or None, offices=offices)
    error = opened = None
    if request.method == "POST" and form.is_valid():
        try:
            data = form.service_fields()
            opened = casework.open_case(request.user, **data)
        except (NotFound, Forbidden):
            raise
        except CaseloadError as exc:
            error = exc
    status = 200 if request.method == "GET" or opened else (error.http_status if error else 400)
    return render(request, "docket/case_new.html", {"form": form, "error": error, "opened": opened}, status=status)
