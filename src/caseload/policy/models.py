"""Versioned policy: priority rule sets, reporting-cadence tables, director exceptions, the manual.

Rule sets and cadence tables are stored with the exact file text they were loaded from (and its
SHA-256), so what was in force on any date can be shown and re-run. Effective periods are
half-open: ``effective_from`` is the first day in force, ``effective_to`` the first day *no
longer* in force (None: open-ended). Adjacent versions share the boundary date without overlap.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class VersionedFile(models.Model):
    id = models.CharField(primary_key=True, max_length=64)
    title = models.CharField(max_length=300)
    source = models.TextField(help_text="citation of the document the version implements")
    effective_from = models.DateField(help_text="first day in force")
    effective_to = models.DateField(null=True, blank=True, help_text="first day no longer in force (exclusive); empty: open-ended")
    document = models.TextField(help_text="the TOML file text as loaded")
    sha256 = models.CharField(max_length=64)
    loaded_at = models.DateTimeField()
    loaded_by = models.CharField(max_length=150)

    class Meta:
        abstract = True
        ordering = ["effective_from"]

    def __str__(self) -> str:
        return f"{self.id} ({self.effective_from} → {self.effective_to or 'open'})"


class RuleSet(VersionedFile):
    """A priority rule set (docs/domain.md §5). ``levels`` lists the level codes in rank order."""

    levels = models.JSONField(help_text="[{code, label}] in rank order: rank 1 is the most urgent")
    default_level = models.CharField(max_length=24)

    class Meta(VersionedFile.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gt=F("effective_from")),
                                   name="ruleset_period_not_empty"),
        ]


class CadenceTable(VersionedFile):
    """Reporting rules: days between check-ins by priority level and supervision type."""

    priority_rule_set = models.CharField(max_length=64, help_text="the rule set whose level codes the rules name")

    class Meta(VersionedFile.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gt=F("effective_from")),
                                   name="cadencetable_period_not_empty"),
        ]


class PriorityException(models.Model):
    """A field office director's decision that sets a case's level under one rule set, whatever the rules say."""

    case = models.ForeignKey("docket.Case", on_delete=models.CASCADE, related_name="priority_exceptions")
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT, db_index=False)
    rule_set = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="exceptions")
    level = models.CharField(max_length=24)
    reason = models.TextField()
    approved_by = models.CharField(max_length=150, help_text="the field office director who decided")
    decided_on = models.DateField(help_text="the day the exception takes effect")
    recorded_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=150)
    revoked_on = models.DateField(null=True, blank=True, help_text="first day the exception no longer applies")
    revoked_by = models.CharField(max_length=150, blank=True)
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["office", "rule_set"]), models.Index(fields=["rule_set", "case"])]
        constraints = [
            models.UniqueConstraint(fields=["case", "rule_set"], condition=Q(revoked_on__isnull=True),
                                    name="one_open_exception_per_case_and_rule_set"),
            models.CheckConstraint(condition=Q(revoked_on__isnull=True) | Q(revoked_on__gte=F("decided_on")),
                                   name="exception_revoked_not_before_decided"),
        ]

    def active_on(self, day) -> bool:
        return self.decided_on <= day and (self.revoked_on is None or day < self.revoked_on)


# --------------------------------------------------------------------------------------------
# The procedures manual


class ManualChapter(models.Model):
    number = models.CharField(max_length=16, unique=True)
    title = models.CharField(max_length=200)
    sort_key = models.CharField(max_length=64, db_index=True)

    class Meta:
        ordering = ["sort_key"]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class ManualSection(models.Model):
    """A section; its text lives in versions. Owner and review interval are the section's own."""

    chapter = models.ForeignKey(ManualChapter, on_delete=models.PROTECT, related_name="sections")
    number = models.CharField(max_length=16, unique=True)
    sort_key = models.CharField(max_length=64, db_index=True)
    owner = models.CharField(max_length=150, help_text="who keeps the section current")
    review_interval_days = models.PositiveIntegerField()
    applies_to_units = models.JSONField(default=list, help_text="units whose officers must acknowledge the section")

    class Meta:
        ordering = ["sort_key"]
        constraints = [models.CheckConstraint(condition=Q(review_interval_days__gt=0), name="manual_review_interval_positive")]

    def __str__(self) -> str:
        return self.number


class ManualSectionVersion(models.Model):
    """One version of a section: in force from ``effective_from`` until the next version's date."""

    section = models.ForeignKey(ManualSection, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    effective_from = models.DateField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    memo = models.CharField(max_length=200, blank=True, help_text="the memo or directive that caused the version")
    reason = models.TextField(blank=True)
    withdrawn = models.BooleanField(default=False, help_text="the section is withdrawn from this date")
    source_file = models.CharField(max_length=300, blank=True)
    sha256 = models.CharField(max_length=64)
    imported_at = models.DateTimeField()
    imported_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["section__sort_key", "version"]
        constraints = [
            models.UniqueConstraint(fields=["section", "version"], name="manual_version_number_unique"),
            models.UniqueConstraint(fields=["section", "effective_from"], name="manual_version_date_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.section_id} v{self.version} ({self.effective_from})"


class ManualReview(models.Model):
    """A periodic review of a section by its owner (an amendment also counts as a review)."""

    section = models.ForeignKey(ManualSection, on_delete=models.PROTECT, related_name="reviews")
    reviewed_on = models.DateField()
    reviewed_by = models.CharField(max_length=150)
    note = models.TextField(blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["section", "reviewed_on", "id"]


class ManualAcknowledgment(models.Model):
    """An officer's acknowledgment of one version of a section."""

    officer = models.ForeignKey("offices.Officer", on_delete=models.CASCADE, related_name="manual_acknowledgments")
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT, db_index=False)
    version = models.ForeignKey(ManualSectionVersion, on_delete=models.PROTECT, related_name="acknowledgments")
    acknowledged_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["office", "version"])]
        constraints = [models.UniqueConstraint(fields=["officer", "version"], name="one_acknowledgment_per_version")]
