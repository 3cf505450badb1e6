"""Read-only admin views: training records change through the services (and their audit events)."""

from django.contrib import admin

from caseload.policy.admin import ReadOnly
from caseload.training import models


@admin.register(models.Course)
class CourseAdmin(ReadOnly):
    list_display = ("code", "title", "hours", "recurrence_months", "certification", "active")


@admin.register(models.TrainingSession)
class TrainingSessionAdmin(ReadOnly):
    list_display = ("id", "course", "office", "starts_on", "ends_on", "instructor", "capacity", "status")
    list_filter = ("course", "office", "status")


@admin.register(models.Attendance)
class AttendanceAdmin(ReadOnly):
    list_display = ("session", "officer", "office", "status", "completed_on")
