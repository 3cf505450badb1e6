from django.contrib import admin

from caseload.countries.models import CooperationTierChange, Country


class TierHistoryInline(admin.TabularInline):
    model = CooperationTierChange
    extra = 0
    readonly_fields = ("tier", "effective_on", "source", "recorded_at")
    can_delete = False


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "cooperation_tier", "annual_document_quota")
    list_filter = ("cooperation_tier",)
    search_fields = ("code", "name")
    inlines = [TierHistoryInline]
