from django.apps import AppConfig


class ForecastConfig(AppConfig):
    name = "caseload.forecast"
    label = "forecast"
