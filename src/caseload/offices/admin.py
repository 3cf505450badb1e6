from django.contrib import admin

from caseload.offices.models import FieldOffice, Officer


@admin.register(FieldOffice)
class FieldOfficeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "active")
    search_fields = ("code", "name")


@admin.register(Officer)
class OfficerAdmin(admin.ModelAdmin):
    list_display = ("id", "last_name", "first_name", "office", "unit", "status", "open_cases")
    list_filter = ("office", "unit", "status")
    search_fields = ("last_name", "first_name")
    readonly_fields = ("open_cases",)  # kept in step by assignment services
    list_select_related = ("office",)
