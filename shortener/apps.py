from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShortenerConfig(AppConfig):
    name = "shortener"
    verbose_name = _("Short links")

    def ready(self):
        from jobs.services import periodic_register

        from . import signals  # noqa: F401 - connects the cache receivers

        # link.expired for links whose time passed (used-up links are announced on their last visit).
        periodic_register(
            name="short_links_expired",
            task_path="shortener.tasks.short_links_announce_expired",
            interval_setting="SHORT_LINK_EXPIRY_SCAN_INTERVAL",
        )
