"""Read-only admin views: policy changes go through the services (and their audit events), never the admin."""

from django.contrib import admin

from caseload.policy import models


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.RuleSet, models.CadenceTable)
class VersionedFileAdmin(ReadOnly):
    list_display = ("id", "effective_from", "effective_to", "title", "loaded_at", "loaded_by")


@admin.register(models.PriorityException)
class PriorityExceptionAdmin(ReadOnly):
    list_display = ("id", "case_id", "office", "rule_set", "level", "approved_by", "decided_on", "revoked_on")
    list_filter = ("rule_set", "office")


@admin.register(models.ManualSectionVersion)
class ManualSectionVersionAdmin(ReadOnly):
    list_display = ("section", "version", "effective_from", "title", "memo", "withdrawn")


@admin.register(models.ManualSection)
class ManualSectionAdmin(ReadOnly):
    list_display = ("number", "owner", "review_interval_days")


@admin.register(models.ManualAcknowledgment)
class ManualAcknowledgmentAdmin(ReadOnly):
    list_display = ("officer", "office", "version", "acknowledged_at")
