from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "project"
    verbose_name = "Pan"

    def ready(self):
        from . import checks  # noqa: F401 - registers the secrets' system checks
        from .lib import native  # noqa: F401 - registers the standard middleware's security checks
