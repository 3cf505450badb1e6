"""Input parsing for the supervisor's office page (the rules are the services')."""

from __future__ import annotations

from django import forms

from caseload.countries.models import ReviewDecision
from caseload.docket.models import ClaimDecision

DEFAULT_MAX_MOVES = 5
MAX_MOVES_LIMIT = 10_000


def auto_id(action: str, key) -> str:
    """Field ids unique on the page, one form per row: ``id_<action>_<key>_<field>``."""
    return f"id_{action}_{key}_%s" if key != "" else f"id_{action}_%s"


def _reason(label: str = "Reason", help_text: str = "Recorded with the decision in the audit log.") -> forms.CharField:
    return forms.CharField(label=label, max_length=250, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": 2, "cols": 30}))


class _Decision(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


HIT_OUTCOMES = (
    ("no_action", "No change to supervision"),
    ("conditions_changed", "Conditions of supervision changed"),
    ("referred", "Referred for enforcement action"),
)


class ReviewHitForm(_Decision):
    check_in = forms.IntegerField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)
    outcome = forms.ChoiceField(label="Outcome", choices=HIT_OUTCOMES)
    notes = _reason("Notes", "What the hit is and why this outcome; recorded as the review's decision.")

    @staticmethod
    def decision_text(data: dict) -> str:
        return f"{dict(HIT_OUTCOMES)[data['outcome']]}: {data['notes'].strip()}"


class ClaimDecisionForm(_Decision):
    case = forms.IntegerField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(label="Decision", choices=ClaimDecision.choices)
    reason = _reason()


class ReviewDecisionForm(_Decision):
    review = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(label="Decision", choices=ReviewDecision.choices)
    criminal_history_reviewed = forms.BooleanField(label="Criminal history reviewed", required=False)
    consulate_contacted_on = forms.DateField(label="Consulate contacted on", required=False,
                                             widget=forms.DateInput(attrs={"type": "date"}))
    escalation_level = forms.ChoiceField(label="Escalation level reached", required=False)
    risk_assessment = forms.ChoiceField(label="Risk assessment", required=False)
    rationale = forms.CharField(label="Rationale", max_length=4000, required=False,
                                widget=forms.Textarea(attrs={"rows": 4, "cols": 30}))

    def __init__(self, *args, steps: tuple[str, ...] = ("none",), risk_levels: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["escalation_level"].choices = [("", "—")] + [(s, s.replace("_", " ")) for s in steps]
        self.fields["risk_assessment"].choices = [("", "—")] + [(r, r.capitalize()) for r in risk_levels]


class AssignForm(_Decision):
    case = forms.IntegerField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)
    officer = forms.TypedChoiceField(label="Officer", coerce=int)
    reason = _reason()

    def __init__(self, *args, officers: list[tuple[int, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["officer"].choices = [("", "Choose an officer")] + list(officers)


class AutoAssignForm(_Decision):
    reason = _reason()


class BalanceForm(_Decision):
    max_moves = forms.IntegerField(label="Most cases to move", min_value=0, max_value=MAX_MOVES_LIMIT,
                                   initial=DEFAULT_MAX_MOVES, widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    reason = _reason()


class PreviewForm(forms.Form):
    """The balancing preview's query string (no reason: nothing changes)."""

    max_moves = forms.IntegerField(min_value=0, max_value=MAX_MOVES_LIMIT, required=False)


class LeaveForm(_Decision):
    officer = forms.IntegerField(widget=forms.HiddenInput)
    leave_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    leave_until = forms.DateField(label="Until (expected)", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    reason = _reason()


class ReturnForm(_Decision):
    officer = forms.IntegerField(widget=forms.HiddenInput)
    reason = _reason()
