"""An upload that goes (terminated, expired, its share or request deleted)
takes its stored bytes along once the deletion commits; the periodic purge
(`purge_expired`) removes expired uploads."""

import logging

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from pan.signals import purge_requested

from .models import Upload

logger = logging.getLogger(__name__)


@receiver(post_delete, sender=Upload)
def upload_bytes_delete_on_commit(sender, instance: Upload, **kwargs) -> None:
    from .storage import storage_discard

    key, multipart_id, complete = instance.storage_key, instance.multipart_id, instance.completed_at is not None

    def discard():
        try:
            storage_discard(storage_key=key, multipart_id=multipart_id, complete=complete)
        except Exception:  # noqa: BLE001 - the storage may be down: the leftovers purge tries again
            logger.exception("could not remove the bytes of upload %s", key)

    transaction.on_commit(discard)


@receiver(purge_requested)
def uploads_purge(sender, now, **kwargs) -> list[str]:
    from .services import uploads_purge_expired

    return uploads_purge_expired(now=now)
