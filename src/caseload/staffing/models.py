"""Stored case weights (measured and adjusted, with provenance) and case assignments."""

from __future__ import annotations

from django.db import models


class WeightKind(models.TextChoices):
    MEASURED = "measured", "Measured from the time log (what is)"
    ADJUSTED = "adjusted", "Set by an adjustment panel (what should be)"


class CaseWeightSet(models.Model):
    kind = models.CharField(max_length=10, choices=WeightKind.choices)
    name = models.CharField(max_length=120)
    group_by = models.CharField(max_length=120, help_text="comma-separated case facts that define a case type")
    period_from = models.DateField(null=True, blank=True)
    period_to = models.DateField(null=True, blank=True)
    provenance = models.TextField(help_text="how the weights were obtained: time study period, or panel, members, source")
    collateral_minutes_per_officer_month = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} weights #{self.pk} {self.name}"


class CaseWeight(models.Model):
    weight_set = models.ForeignKey(CaseWeightSet, on_delete=models.CASCADE, related_name="weights")
    case_type = models.CharField(max_length=120)
    minutes_per_case_month = models.FloatField()
    low = models.FloatField(null=True, blank=True)
    high = models.FloatField(null=True, blank=True)
    case_months = models.FloatField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True, help_text="for adjusted weights: the panel's reason")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["weight_set", "case_type"], name="one_weight_per_type_and_set"),
            models.CheckConstraint(condition=models.Q(minutes_per_case_month__gte=0), name="weight_nonnegative"),
        ]


class AssignmentMethod(models.TextChoices):
    AUTOMATIC = "automatic", "Automatic (lowest capacity)"
    BALANCING = "balancing", "Caseload balancing"
    MANUAL = "manual", "Manual"


class AssignmentRecord(models.Model):
    """Why a case went to an officer: the explanation a supervisor can read."""

    case = models.ForeignKey("docket.Case", on_delete=models.CASCADE, related_name="assignments")
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT)
    from_officer = models.ForeignKey("offices.Officer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_officer = models.ForeignKey("offices.Officer", on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=10, choices=AssignmentMethod.choices)
    explanation = models.TextField()
    assigned_at = models.DateTimeField()
    actor_label = models.CharField(max_length=150)

    class Meta:
        indexes = [models.Index(fields=["office", "assigned_at"]), models.Index(fields=["case", "assigned_at"])]
