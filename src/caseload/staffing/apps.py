from django.apps import AppConfig


class StaffingConfig(AppConfig):
    name = "caseload.staffing"
    label = "staffing"
