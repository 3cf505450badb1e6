from django.apps import AppConfig


class OfficesConfig(AppConfig):
    name = "caseload.offices"
    label = "offices"
    verbose_name = "Field offices and officers"
