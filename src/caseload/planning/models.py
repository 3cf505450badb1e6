"""Saved staffing scenarios and the background computations of the planning pages."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class StaffingScenario(models.Model):
    """A named staffing plan: who saved it, when, the inputs and the plan they gave (read-only once saved)."""

    name = models.CharField(max_length=120)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staffing_scenarios")
    created_at = models.DateTimeField()
    inputs = models.JSONField(help_text="hires, weights, max_hires_per_office, office limits, budget")
    outputs = models.JSONField(help_text="the staffing plan document (as `caseload staffing plan --format json`)")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="one_scenario_name_per_owner")]

    def __str__(self) -> str:
        return f"scenario {self.name!r} of {self.owner_id}"


class JobStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class PlanningJob(models.Model):
    """One computation started from a planning page, run in a background thread of the web
    process; the page polls this row. The row is the only state: any worker process can answer."""

    kind = models.CharField(max_length=24)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="planning_jobs")
    inputs = models.JSONField()
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.RUNNING)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "started_at"])]
