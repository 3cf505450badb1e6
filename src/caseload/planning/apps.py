from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "caseload.planning"
    label = "planning"
    verbose_name = "Headquarters planning"
