"""Admin pages: countries and their tier history, read-only: tier changes go through
``caseload countries tier set`` so each is versioned and audited. Travel-document records,
escalations and reviews identify people, so they are read through the audited pages only."""

from django.contrib import admin

from caseload.countries.models import CooperationTierChange, Country


class TierHistoryInline(admin.TabularInline):
    model = CooperationTierChange
    extra = 0
    fields = readonly_fields = ("tier", "annual_document_quota", "effective_on", "source", "recorded_at", "recorded_by")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "cooperation_tier", "annual_document_quota")
    list_filter = ("cooperation_tier",)
    search_fields = ("code", "name")
    readonly_fields = ("cooperation_tier", "annual_document_quota")
    inlines = [TierHistoryInline]
