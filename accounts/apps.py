from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from jobs.services import periodic_register

        from . import openapi, signals  # noqa: F401

        # Old second-step challenges go (docs/second-factor.md), run by the task workers.
        periodic_register(
            name="login_challenges_purge",
            task_path="accounts.tasks.login_challenges_purge",
            interval_setting="PAN_PURGE_INTERVAL",
        )
