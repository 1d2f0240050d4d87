"""Holders of the admin role are staff and superusers, and only they are.

The flags follow the group membership however it changes: the role
services, Django admin's user form, or `group.user_set` edits. Each role
given or taken, by whichever of those, is also one audit row.
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


def _roles_audit(action: str, pairs) -> None:
    from audit.models import Action
    from audit.services import audit_record

    kind = Action.ROLE_GRANT if action == "post_add" else Action.ROLE_REVOKE
    for user, group in pairs:
        audit_record(
            kind, object_type="user", object_id=str(user.pk), detail={"role": group.name, "user": user.username}
        )


@receiver(m2m_changed, sender=User.groups.through)
def _groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    from django.contrib.auth.models import Group

    if action == "pre_clear":
        instance._pan_cleared = list(instance.user_set.all() if reverse else instance.groups.all())
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if action == "post_clear":
        others = getattr(instance, "_pan_cleared", [])
    elif reverse:
        others = list(User.objects.filter(pk__in=pk_set))
    else:
        others = list(Group.objects.filter(pk__in=pk_set))
    if reverse:  # instance is a group, the others users
        for user in others:
            user_sync_admin_flags(user)
        _roles_audit(action, [(user, instance) for user in others])
    else:
        user_sync_admin_flags(instance)
        _roles_audit(action, [(instance, group) for group in others])
