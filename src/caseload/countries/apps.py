from django.apps import AppConfig


class CountriesConfig(AppConfig):
    name = "caseload.countries"
    label = "countries"
    verbose_name = "Countries and travel documents"
