from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "caseload.ingest"
    label = "ingest"
