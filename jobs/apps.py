from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Background tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import services

        services.periodic_register(
            name="tasks_prune", task_path="jobs.tasks.tasks_prune", interval_setting="PAN_PURGE_INTERVAL"
        )
