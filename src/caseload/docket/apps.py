from django.apps import AppConfig


class DocketConfig(AppConfig):
    name = "caseload.docket"
    label = "docket"
    verbose_name = "Docket"
