from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "caseload.reports"
    label = "reports"
    verbose_name = "Snapshots and the management report"
