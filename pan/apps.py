from django.apps import AppConfig
from django.db.models.signals import post_delete


def _delete_stored_bytes(sender, instance, **kwargs):
    from .services import shared_file_bytes_delete_on_commit

    shared_file_bytes_delete_on_commit(shared_file=instance)


class PanConfig(AppConfig):
    name = "pan"
    verbose_name = "Shared files"

    def ready(self):
        from .models import SharedFile

        post_delete.connect(_delete_stored_bytes, sender=SharedFile, dispatch_uid="pan-delete-stored-bytes")
        from . import posts  # noqa: F401 - connects the post cache receivers
