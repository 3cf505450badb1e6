"""Training records: the curriculum (courses), sessions, and attendance (docs/training.md)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class Course(models.Model):
    """A course of the standard curriculum.

    An officer must take the course when their unit is in ``units`` or one of their roles is in
    ``roles`` (both empty: nobody must, e.g. a certification held by selected officers). A
    completion stays current for ``recurrence_months`` (None: it never expires).
    """

    code = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    curriculum = models.TextField(help_text="what the course covers")
    hours = models.DecimalField(max_digits=5, decimal_places=1)
    recurrence_months = models.PositiveSmallIntegerField(null=True, blank=True, help_text="empty: taken once")
    units = models.JSONField(default=list, help_text="units whose officers must take the course")
    roles = models.JSONField(default=list, help_text="roles (groups) whose officers must take the course")
    certification = models.BooleanField(default=False, help_text="completion certifies the officer for gated work")
    gates = models.CharField(max_length=64, blank=True, help_text="the work a current certification is required for")
    source = models.TextField(help_text="citation, or the assumption the requirement rests on")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(hours__gt=0), name="course_hours_positive"),
            models.CheckConstraint(condition=Q(recurrence_months__isnull=True) | Q(recurrence_months__gt=0),
                                   name="course_recurrence_positive"),
        ]

    def __str__(self) -> str:
        return self.code


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"


class TrainingSession(models.Model):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT, db_index=False)
    starts_on = models.DateField()
    ends_on = models.DateField()
    instructor = models.CharField(max_length=150)
    capacity = models.PositiveIntegerField()
    hours = models.DecimalField(max_digits=5, decimal_places=1, help_text="hours per attendee over the whole session")
    status = models.CharField(max_length=12, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED)
    cancel_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["starts_on", "id"]
        indexes = [models.Index(fields=["office", "starts_on"]), models.Index(fields=["course", "starts_on"])]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="session_ends_after_start"),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="session_capacity_positive"),
            models.CheckConstraint(condition=Q(hours__gt=0), name="session_hours_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.course_id} {self.starts_on} ({self.office_id})"


class AttendanceStatus(models.TextChoices):
    ENROLLED = "enrolled", "Enrolled"
    PRESENT = "present", "Present"
    ABSENT = "absent", "Absent"


class Attendance(models.Model):
    session = models.ForeignKey(TrainingSession, on_delete=models.PROTECT, related_name="attendance")
    officer = models.ForeignKey("offices.Officer", on_delete=models.CASCADE, related_name="training_attendance",
                                db_index=False)
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT, db_index=False)
    status = models.CharField(max_length=12, choices=AttendanceStatus.choices, default=AttendanceStatus.ENROLLED)
    completed_on = models.DateField(null=True, blank=True, help_text="set when the officer completed the course")
    recorded_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=150)

    class Meta:
        indexes = [models.Index(fields=["officer", "status"]), models.Index(fields=["office", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["session", "officer"], name="one_attendance_per_session_officer"),
            models.CheckConstraint(condition=Q(completed_on__isnull=True) | Q(status="present"),
                                   name="attendance_completed_only_if_present"),
        ]
