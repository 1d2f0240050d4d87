from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "project"
    verbose_name = "Pan"

    def ready(self):
        from django.core.signals import request_finished

        from . import checks  # noqa: F401 - registers the secrets' system checks
        from .lib import native  # noqa: F401 - registers the standard middleware's security checks
        from .lib.metrics import database_connections_observe

        # After Django's close_old_connections (connected when django.db was
        # imported): the finished request's connection is back by then.
        request_finished.connect(database_connections_observe, dispatch_uid="pan.database_connections")
