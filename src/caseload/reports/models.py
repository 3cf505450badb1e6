"""Snapshots: the headline figures of one date, stored so the management report can show trends."""

from __future__ import annotations

from django.db import models


class Snapshot(models.Model):
    """The headline figures of the docket as of one date (one row per date; see docs/report.md)."""

    as_of = models.DateField(unique=True)
    figures = models.JSONField(help_text="the document `caseload snapshot take --format json` prints, less the row's own fields")
    taken_at = models.DateTimeField()
    taken_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["as_of"]

    def __str__(self) -> str:
        return f"snapshot {self.as_of}"
