from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "caseload.training"
    label = "training"
