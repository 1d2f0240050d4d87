from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DropoffConfig(AppConfig):
    name = "dropoff"
    verbose_name = _("Drop-off requests")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from pan.access import PICKUP_OTHER_CODES

        from .services import request_for_pickup

        # The home page's code box opens requests too (SPEC §4.6).
        if request_for_pickup not in PICKUP_OTHER_CODES:
            PICKUP_OTHER_CODES.append(request_for_pickup)
