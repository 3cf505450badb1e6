from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "caseload.policy"
    label = "policy"
