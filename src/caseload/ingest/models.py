"""Records imported from ICE ERO-LESA statistical extracts (docs/foia-import.md).

The extracts carry no row identifier, and many rows are identical yet distinct events
(different people). A row's identity is therefore its file and line: ``(file, line)`` is
unique, and a file is identified by the SHA-256 of its decompressed content, so importing the
same extract again (under any name, compressed or not) adds nothing.

Redacted values (``(B)(6);(B)(7)(C)``, ``(B)(7)(E)``) are stored as NULL; blank values as
blank text or NULL dates. Rows with a blank, "HQ" or unknown Area of Responsibility are kept
with ``office`` NULL and ``office_flag`` saying why.
"""

from __future__ import annotations

from django.db import models


class ExtractKind(models.TextChoices):
    REMOVALS = "removals", "ICE removals"
    ARRESTS = "arrests", "ERO administrative arrests"
    ENCOUNTERS = "encounters", "ERO encounters"


class OfficeFlag(models.TextChoices):
    NONE = "", "A field office"
    BLANK = "blank", "Blank area of responsibility"
    HQ = "hq", "Headquarters (HQ)"
    UNKNOWN = "unknown", "Label that names no known field office"


class ExtractFile(models.Model):
    """One extract, identified by the SHA-256 of its decompressed content."""

    sha256 = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255, help_text="file name when first imported")
    kind = models.CharField(max_length=12, choices=ExtractKind.choices)
    fiscal_year = models.SmallIntegerField(null=True, blank=True)
    title = models.CharField(max_length=300, blank=True, help_text="the preamble's last line, e.g. 'ICE Removals for FY2016'")
    header = models.JSONField(default=list)
    header_line = models.IntegerField(help_text="line number of the header row")
    rows = models.IntegerField(help_text="data rows in the file")
    first_imported_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, FY{self.fiscal_year})"


class ExtractImport(models.Model):
    """One run of the importer over one file: what it found and what it wrote."""

    file = models.ForeignKey(ExtractFile, on_delete=models.PROTECT, related_name="imports")
    path = models.CharField(max_length=1000)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    actor_label = models.CharField(max_length=150)
    rows = models.IntegerField()
    imported = models.IntegerField()
    duplicates = models.IntegerField()
    rejected = models.IntegerField()
    errors = models.JSONField(default=list, help_text="the first 100 rejected rows: [{line, reason}]")

    class Meta:
        ordering = ["id"]


class ExtractRow(models.Model):
    """Columns every extract kind shares."""

    file = models.ForeignKey(ExtractFile, on_delete=models.PROTECT, db_index=False, related_name="+")
    line = models.IntegerField(help_text="line number in the file (1 = the first line, preamble included)")
    office = models.ForeignKey("offices.FieldOffice", null=True, blank=True, on_delete=models.PROTECT, db_index=False,
                               related_name="+")
    office_flag = models.CharField(max_length=8, choices=OfficeFlag.choices, blank=True)
    office_label = models.CharField(max_length=120, blank=True, help_text="the extract's label when it names no field office")
    citizenship = models.CharField(max_length=2, null=True, blank=True, help_text="ISO 3166-1 alpha-2; NULL when unmapped")
    citizenship_raw = models.CharField(max_length=120, null=True, blank=True, help_text="the name as written in the extract")
    gender = models.CharField(max_length=16, null=True, blank=True)
    birth_date = models.DateField(null=True, blank=True, help_text="redacted in released extracts")
    disposition = models.CharField(max_length=80, null=True, blank=True)

    class Meta:
        abstract = True


class RemovalRecord(ExtractRow):
    apprehension_date = models.DateField(null=True, blank=True)
    threat_level = models.CharField(max_length=40, null=True, blank=True)
    final_charge_section = models.CharField(max_length=40, null=True, blank=True)
    departed_date = models.DateField(null=True, blank=True)
    removal_date = models.DateField()
    days_to_removal = models.IntegerField(null=True, blank=True,
                                          help_text="removal date minus apprehension date, when both are known")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "line"], name="removal_record_file_line")]
        indexes = [models.Index(fields=["removal_date"])]


class ArrestRecord(ExtractRow):
    apprehension_date = models.DateField()
    apprehension_method = models.CharField(max_length=80, null=True, blank=True)
    landmark = models.CharField(max_length=120, null=True, blank=True)
    operation = models.CharField(max_length=80, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "line"], name="arrest_record_file_line")]
        indexes = [models.Index(fields=["apprehension_date"])]


class EncounterRecord(ExtractRow):
    event_date = models.DateField()
    landmark = models.CharField(max_length=120, null=True, blank=True)
    operation = models.CharField(max_length=80, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "line"], name="encounter_record_file_line")]
        indexes = [models.Index(fields=["event_date"])]
