from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        from jobs.services import periodic_register

        periodic_register(
            name="webhook_deliveries_prune",
            task_path="webhooks.tasks.deliveries_prune",
            interval_setting="PAN_PURGE_INTERVAL",
        )
