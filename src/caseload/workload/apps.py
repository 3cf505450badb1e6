from django.apps import AppConfig


class WorkloadConfig(AppConfig):
    name = "caseload.workload"
    label = "workload"
    verbose_name = "Workload"
