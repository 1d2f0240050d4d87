from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = _("Background tasks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.utils.module_loading import autodiscover_modules

        from . import services

        # Every app's tasks.py, so that each task's tries are known before a worker
        # reclaims or retries one it has not run yet (jobs.services.ATTEMPTS).
        autodiscover_modules("tasks")

        services.periodic_register(
            name="tasks_prune", task_path="jobs.tasks.tasks_prune", interval_setting="PAN_PURGE_INTERVAL"
        )
