"""The time log: what officers actually spend their minutes on (the workload study's input)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from caseload.workload import activities


class TimeLogEntry(models.Model):
    # officer and office lookups use the composite indexes below
    officer = models.ForeignKey("offices.Officer", on_delete=models.PROTECT, related_name="time_log", db_index=False)
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT, db_index=False)
    case = models.ForeignKey("docket.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             help_text="empty for collateral duties", db_index=False)
    activity = models.CharField(max_length=24, choices=activities.choices)
    started_at = models.DateTimeField()
    minutes = models.IntegerField()
    default_minutes_used = models.BooleanField(
        default=False, db_default=False,
        help_text="true when the officer kept the activity's default duration instead of entering the time spent")

    class Meta:
        verbose_name_plural = "time log entries"
        indexes = [
            models.Index(fields=["officer", "started_at"]),
            models.Index(fields=["office", "started_at"]),
            models.Index(fields=["case", "started_at"]),
        ]
        constraints = [models.CheckConstraint(condition=Q(minutes__gt=0, minutes__lte=1440), name="timelog_minutes_range")]
