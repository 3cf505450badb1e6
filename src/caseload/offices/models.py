"""Field offices (Areas of Responsibility) and the officers who work in them."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FieldOffice(models.Model):
    code = models.CharField(max_length=3, unique=True, help_text="three-letter AOR code, e.g. WAS")
    name = models.CharField(max_length=80)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Unit(models.TextChoices):
    NON_DETAINED = "non_detained", "Non-detained"
    DETAINED = "detained", "Detained"
    ATD = "atd", "Alternatives to Detention"
    FUGITIVE_OPERATIONS = "fugitive_operations", "Fugitive operations"


class OfficerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    LEAVE = "leave", "On leave"
    DETAIL = "detail", "On detail elsewhere"
    SEPARATED = "separated", "Separated"


class Officer(models.Model):
    """A deportation officer. ``open_cases`` is the denormalised load, kept in step by assignment."""

    office = models.ForeignKey(FieldOffice, on_delete=models.PROTECT, related_name="officers")
    unit = models.CharField(max_length=24, choices=Unit.choices, default=Unit.NON_DETAINED)
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    status = models.CharField(max_length=12, choices=OfficerStatus.choices, default=OfficerStatus.ACTIVE)
    weekly_hours = models.DecimalField(max_digits=4, decimal_places=1, default=40)
    entered_on_duty = models.DateField(null=True, blank=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    open_cases = models.IntegerField(default=0)
    external_id = models.CharField(max_length=64, null=True, blank=True, unique=True,
                                   help_text="the officer's identifier in the agency's own systems (docket files name officers by it)")
    leave_from = models.DateField(null=True, blank=True, help_text="first day of the current leave")
    leave_until = models.DateField(null=True, blank=True, help_text="expected last day of the current leave, if known")
    departed_on = models.DateField(null=True, blank=True, help_text="the day the officer left the agency")

    class Meta:
        ordering = ["office_id", "last_name", "first_name", "id"]
        indexes = [models.Index(fields=["office", "unit", "status"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(weekly_hours__gt=0, weekly_hours__lte=80), name="officer_weekly_hours_range"),
            models.CheckConstraint(condition=models.Q(open_cases__gte=0), name="officer_open_cases_nonnegative"),
            models.CheckConstraint(condition=models.Q(leave_until__isnull=True) | models.Q(leave_from__isnull=False,
                                                                                            leave_until__gte=models.F("leave_from")),
                                   name="officer_leave_until_after_from"),
        ]

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def __str__(self) -> str:
        return f"{self.name} ({self.office_id})"
