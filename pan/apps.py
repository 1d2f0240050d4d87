from django.apps import AppConfig
from django.db.models.signals import post_delete
from django.utils.translation import gettext_lazy as _


def _delete_stored_bytes(sender, instance, **kwargs):
    from .services import item_bytes_delete_on_commit

    item_bytes_delete_on_commit(item=instance)


class PanConfig(AppConfig):
    name = "pan"
    verbose_name = _("Shares")

    def ready(self):
        from .models import Item

        # Items removed by a cascade (a deleted share or user) lose their bytes too.
        post_delete.connect(_delete_stored_bytes, sender=Item, dispatch_uid="pan-delete-stored-bytes")
        from . import posts  # noqa: F401 - connects the post cache receivers
