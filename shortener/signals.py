"""Drop a link's cache entry whenever its row changes or goes away.

The services do this themselves; these receivers also cover writes that do
not pass through them, above all the cascade when an owner is deleted.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import ShortLink
from .services import short_link_forget


@receiver(post_save, sender=ShortLink)
@receiver(post_delete, sender=ShortLink)
def _forget_cached_link(sender, instance, **kwargs):
    short_link_forget(key=instance.key)
