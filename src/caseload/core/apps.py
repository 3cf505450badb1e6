from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "caseload.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from caseload.core import signals  # noqa: F401  (connects the audit receivers)
