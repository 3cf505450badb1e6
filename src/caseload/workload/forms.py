"""Forms of the time-log page (parsing only)."""

from django import forms

from caseload.workload.pages import collateral_choices


class CollateralForm(forms.Form):
    activity = forms.ChoiceField(label="Duty")
    minutes = forms.IntegerField(required=False, min_value=1, max_value=24 * 60, label="Minutes",
                                 help_text="Empty: the duty's usual time.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["activity"].choices = collateral_choices()


class CorrectionForm(forms.Form):
    entry = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    minutes = forms.IntegerField(min_value=1, max_value=24 * 60, label="Minutes")
    reason = forms.CharField(max_length=300, label="Reason")
