"""The supervisor's office page: panels to read, decisions posted back to it (POST-redirect-GET).

Readers of the page: the office's supervisor and the national roles; an administrator or the
supervisor may take its decisions (``pages.ACTING_ROLES``). Every decision goes to its service
with the signed-in user as actor; a refused one shows the page again with the user's input in
its form and the reason (a stale case names who changed it and when).
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from caseload.core.access import access_office
from caseload.core.errors import CaseloadError, Conflict, Forbidden, NotFound, UsageError
from caseload.offices import forms, pages
from caseload.web.decorators import NATIONAL_READERS, require_role
from caseload.web.params import int_param

READERS = ("supervisor", *NATIONAL_READERS)


@require_http_methods(["GET", "POST"])
@require_role(*READERS)
def office(request, code: str):
    office = access_office(request.user, code)
    if request.method == "POST":
        return _decide(request, office)
    return _page(request, office)


def _page(request, office, posted: pages.Posted | None = None, status: int = 200):
    doc = pages.office_page(request.user, office, posted)
    pages.record_page_read(request, doc)
    return render(request, "offices/office.html", doc, status=status)


def _decide(request, office):
    pages.check_can_act(request.user, office)
    action = request.POST.get("action", "")
    if action not in pages.DECISIONS:
        raise UsageError("unknown_action", f"unknown decision {action!r}")
    form_class, decide, key_field, anchor = pages.DECISIONS[action]
    key = request.POST.get(key_field, "") if key_field else ""
    kwargs = {"auto_id": forms.auto_id(action, key), **pages.form_kwargs(action, request.user, office)}
    form = form_class(request.POST, **kwargs)
    if not form.is_valid():
        return _page(request, office, pages.Posted(action, key, form, "Check the fields marked below."), status=400)
    try:
        message = decide(request.user, office, form.cleaned_data)
    except (NotFound, Forbidden):
        raise
    except Conflict as exc:
        if exc.code != "stale_case":
            return _page(request, office, pages.Posted(action, key, form, exc.message), status=exc.http_status)
        version, changed = pages.stale_notice(request.user, exc)
        data = request.POST.copy()
        if version is not None:
            data["version"] = str(version)
        kept = form_class(data, **kwargs)
        kept.is_valid()
        return _page(request, office, pages.Posted(action, key, kept, "stale", changed), status=exc.http_status)
    except CaseloadError as exc:
        return _page(request, office, pages.Posted(action, key, form, exc.message), status=exc.http_status)
    messages.success(request, message)
    return redirect(reverse("offices:office", args=[office.code]) + f"#{anchor}")


@require_GET
@require_role(*READERS)
def overdue(request, code: str):
    office = access_office(request.user, code)
    officer = int_param(request, "officer")
    if officer is None:  # no officer named: the office's officers to choose from
        return render(request, "offices/overdue.html", {"office": office, "officers": pages.officer_choices(request.user, office)})
    doc = pages.overdue_list(request.user, office, officer_id=officer, task=request.GET.get("task", "").strip() or None)
    pages.record_page_read(request, doc)
    return render(request, "offices/overdue.html", doc)


@require_GET
@require_role(*READERS)
def balance(request, code: str):
    """The balancing proposal for at most ``max_moves`` moves: a fragment for htmx, else a page."""
    office = access_office(request.user, code)
    max_moves = int_param(request, "max_moves", forms.DEFAULT_MAX_MOVES, maximum=forms.MAX_MOVES_LIMIT)
    try:
        preview = pages.balance_preview(request.user, office, max_moves=max_moves)
        error = ""
    except CaseloadError as exc:
        if isinstance(exc, (NotFound, Forbidden)):
            raise
        preview, error = None, exc.message
    doc = {"office": office, "preview": preview, "error": error, "max_moves": max_moves, "acting": pages.can_act(request.user),
           "balance_apply": {"form": forms.BalanceForm(initial={"max_moves": max_moves}, auto_id=forms.auto_id("balance", ""))},
           "_read": preview.pop("_read") if preview else {"case_ids": [], "a_numbers": []}}
    pages.record_page_read(request, doc)
    template = "offices/_balance_preview.html" if request.htmx else "offices/balance.html"
    return render(request, template, doc)
