"""The officer's time log: the day and the week, collateral duties, corrections."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from caseload.core.errors import CaseloadError, Forbidden, NotFound
from caseload.web.decorators import require_role
from caseload.web.params import date_param
from caseload.workload import pages
from caseload.workload.forms import CollateralForm, CorrectionForm


@require_http_methods(["GET", "POST"])
@require_role("officer")
def timelog(request):
    day = date_param(request, "day")
    add, correct, error, status = CollateralForm(prefix="add"), None, None, 200
    if request.method == "POST":
        kind = request.POST.get("form")
        form = CorrectionForm(request.POST, prefix="fix") if kind == "correct" else CollateralForm(request.POST, prefix="add")
        if form.is_valid():
            try:
                if kind == "correct":
                    pages.do_correct_own_entry(request.user, entry_id=form.cleaned_data["entry"],
                                               minutes=form.cleaned_data["minutes"], reason=form.cleaned_data["reason"])
                    messages.success(request, "Entry corrected.")
                else:
                    entry = pages.do_record_collateral(request.user, activity=form.cleaned_data["activity"],
                                                       minutes=form.cleaned_data["minutes"])
                    messages.success(request, f"Recorded: {entry.minutes} minutes.")
                return redirect(request.get_full_path())
            except (NotFound, Forbidden):
                raise
            except CaseloadError as exc:
                error, status = exc, exc.http_status
        else:
            status = 400
        if kind == "correct":
            correct = form
        else:
            add = form
    doc = pages.timelog_page(request.user, day=day)
    return render(request, "workload/timelog.html", {"doc": doc, "add": add, "correct": correct, "error": error},
                  status=status)
