from django.apps import AppConfig
from django.db.models.signals import post_delete
from django.utils.translation import gettext_lazy as _


def _delete_stored_bytes(sender, instance, **kwargs):
    from .services import item_bytes_delete_on_commit

    item_bytes_delete_on_commit(item=instance)


def _forget_kept_page(sender, instance, **kwargs):
    from .page_cache import share_page_changed

    share_page_changed(unique_name=instance.unique_name)


class PanConfig(AppConfig):
    name = "pan"
    verbose_name = _("Shares")

    def ready(self):
        from accounts.services import PROFILE_FACTS
        from events.services import FOLLOW_CHECKS
        from jobs.services import periodic_register

        from .access import share_follow_group
        from .models import Item, Share
        from .quotas import quota_facts

        # Lower apps offer hooks; pan registers its rules into them.
        if share_follow_group not in FOLLOW_CHECKS:
            FOLLOW_CHECKS.append(share_follow_group)  # who may follow a share (events/consumers.py)
        if quota_facts not in PROFILE_FACTS:
            PROFILE_FACTS.append(quota_facts)  # `/api/me`'s stored bytes and quota (accounts/services.py)
        # The periodic purge, run by the task workers (jobs/services.py).
        periodic_register(
            name="purge_expired", task_path="pan.tasks.purge_expired", interval_setting="PAN_PURGE_INTERVAL"
        )

        # Items removed by a cascade (a deleted share or user) lose their bytes too.
        post_delete.connect(_delete_stored_bytes, sender=Item, dispatch_uid="pan-delete-stored-bytes")
        # However a share goes (share_delete, purge, a deleted owner), its kept page goes (pan/page_cache.py).
        post_delete.connect(_forget_kept_page, sender=Share, dispatch_uid="pan-forget-kept-page")
        from . import posts  # noqa: F401 - connects the post cache receivers
