from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DropoffConfig(AppConfig):
    name = "dropoff"
    verbose_name = _("Drop-off requests")
    default_auto_field = "django.db.models.BigAutoField"
