"""Forms of the officer's pages: input parsing only (the services hold the rules)."""

from __future__ import annotations

from django import forms

from caseload.docket.models import CheckInMethod, CheckInOutcome, RecordsCheck, Stage, SupervisionType
from caseload.offices.models import Unit


def _default_minutes(activity: str) -> int | None:
    from caseload.workload.activities import activities

    spec = activities().get(activity)
    return spec.default_minutes if spec else None


class DateInput(forms.DateInput):
    input_type = "date"


class CaseActionForm(forms.Form):
    """Every case action carries the version of the case the page showed."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    minutes_activity: str | None = None
    minutes = forms.IntegerField(required=False, min_value=1, max_value=24 * 60, label="Minutes",
                                 help_text="Time spent, for the time log (the activity's usual time is filled in).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.minutes_activity and not self.is_bound:
            self.fields["minutes"].initial = _default_minutes(self.minutes_activity)
        self.order_fields([name for name in self.fields if name != "minutes"] + ["minutes"])


class CheckInForm(CaseActionForm):
    minutes_activity = "check_in"
    outcome = forms.ChoiceField(choices=[c for c in CheckInOutcome.choices if c[0] != "scheduled"],
                                widget=forms.RadioSelect, label="Outcome")
    method = forms.ChoiceField(choices=CheckInMethod.choices, label="How", required=False)
    records_check = forms.ChoiceField(choices=[("", "— not run yet —"), *RecordsCheck.choices], required=False,
                                      label="Records check result",
                                      help_text="Required to complete an appearance.")
    records_check_detail = forms.CharField(required=False, max_length=500, label="Records check details",
                                           help_text="The hit's details, or why the system was unavailable.")
    reschedule_to = forms.DateField(required=False, widget=DateInput, label="New date (rescheduled)")
    note = forms.CharField(required=False, max_length=500, label="Note (the reason, when rescheduled)")
    records_check_minutes = forms.IntegerField(required=False, min_value=1, max_value=600, label="Records check minutes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["records_check_minutes"].initial = _default_minutes("records_check")


class ContactForm(CaseActionForm):
    minutes_activity = "home_visit"
    activity = forms.ChoiceField(label="Kind of contact", choices=[("home_visit", "Home or employment visit"),
                                                                   ("case_review", "Other contact or case file work")])
    on = forms.DateField(required=False, widget=DateInput, label="Date (today if empty)")
    note = forms.CharField(required=False, max_length=500, label="Note")


class WarningForm(CaseActionForm):
    minutes_activity = "warning_service"
    on = forms.DateField(required=False, widget=DateInput, label="Served on (today if empty)")


class ReviewForm(CaseActionForm):
    minutes_activity = "case_review"
    kind = forms.ChoiceField(choices=[("national_security", "National-security review"),
                                      ("custody", "Post-order custody review")], label="Review")
    on = forms.DateField(required=False, widget=DateInput, label="Date (today if empty)")
    note = forms.CharField(required=False, max_length=500, label="Note")


class TravelDocumentForm(CaseActionForm):
    minutes_activity = "travel_document"
    action = forms.ChoiceField(choices=[("request", "Request a travel document"), ("follow_up", "Record a follow-up")],
                               label="Action")
    note = forms.CharField(required=False, max_length=500, label="Note")


class StayForm(CaseActionForm):
    minutes_activity = "case_review"
    until = forms.DateField(widget=DateInput, label="Stay in effect through")
    reason = forms.CharField(max_length=500, label="Reason (the order granting the stay)")


class ClaimForm(CaseActionForm):
    minutes_activity = "case_review"
    reason = forms.CharField(max_length=500, label="What the person states")


class TransitionForm(CaseActionForm):
    minutes_activity = "case_review"
    to = forms.CharField(max_length=24, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500, label="Reason")
    on = forms.DateField(required=False, widget=DateInput, label="Date (today if empty)")


ACTION_FORMS = {
    "check-in": CheckInForm, "contact": ContactForm, "warning": WarningForm, "review": ReviewForm,
    "travel-document": TravelDocumentForm, "stay": StayForm, "claim": ClaimForm, "transition": TransitionForm,
}


class OpenCaseForm(forms.Form):
    a_number = forms.CharField(max_length=20, label="A-number", help_text="A123-456-789 or nine digits")
    family_name = forms.CharField(max_length=80, label="Family name")
    given_name = forms.CharField(max_length=80, label="Given name")
    birth_date = forms.DateField(required=False, widget=DateInput, label="Date of birth")
    citizenship = forms.CharField(max_length=80, label="Country of citizenship", help_text="Name or ISO code, e.g. Honduras or HN")
    office = forms.ChoiceField(label="Field office")
    unit = forms.ChoiceField(choices=[(Unit.NON_DETAINED, "Non-detained"), (Unit.DETAINED, "Detained")], label="Unit")
    supervision_type = forms.ChoiceField(choices=SupervisionType.choices, label="Supervision")
    stage = forms.ChoiceField(choices=[(s, label) for s, label in Stage.choices if s in ("pending", "appeal", "final_order")],
                              label="Proceedings stage")
    final_order_date = forms.DateField(required=False, widget=DateInput, label="Final order date")
    entry_date = forms.DateField(required=False, widget=DateInput, label="Entry date")
    apprehended_on = forms.DateField(required=False, widget=DateInput, label="Apprehended on")
    apprehended_at_border = forms.BooleanField(required=False, label="Apprehended at the border or a port of entry")
    national_security = forms.BooleanField(required=False, label="National-security case")
    convictions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Convictions",
                                  help_text="One a line: CATEGORY:DATE[:felony][:custody_days], e.g. dui:2019-04-02")

    def __init__(self, *args, offices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].choices = [(o.code, f"{o.name} ({o.code})") for o in offices]

    def service_fields(self) -> dict:
        from caseload.docket.intake import parse_conviction

        data = dict(self.cleaned_data)
        lines = [line.strip() for line in data.pop("convictions", "").splitlines() if line.strip()]
        data["convictions"] = [parse_conviction(line) for line in lines]
        return data
