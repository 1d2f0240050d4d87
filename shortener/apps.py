from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShortenerConfig(AppConfig):
    name = "shortener"
    verbose_name = _("Short links")

    def ready(self):
        from . import signals  # noqa: F401 - connects the cache receivers
