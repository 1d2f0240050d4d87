"""Holders of the admin role are staff and superusers, and only they are.

The flags follow the group membership however it changes: the role
services, Django admin's user form, or `group.user_set` edits.
"""

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from .models import ROLE_ADMIN

User = get_user_model()


def user_sync_admin_flags(user) -> None:
    is_admin = user.groups.filter(name=ROLE_ADMIN).exists()
    if user.is_staff != is_admin or user.is_superuser != is_admin:
        User.objects.filter(pk=user.pk).update(is_staff=is_admin, is_superuser=is_admin)
        user.is_staff = user.is_superuser = is_admin


@receiver(m2m_changed, sender=User.groups.through)
def _groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action == "pre_clear" and reverse:
        instance._pan_cleared_users = list(instance.user_set.all())
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        user_sync_admin_flags(instance)
        return
    if action == "post_clear":
        users = getattr(instance, "_pan_cleared_users", [])
    else:
        users = User.objects.filter(pk__in=pk_set)
    for user in users:
        user_sync_admin_flags(user)
