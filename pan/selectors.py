"""Reads scoped to a user: ownership is enforced in the query, and "not
yours" is the same 404 as "no such share"."""

from django.db.models import Prefetch

from accounts.permissions import user_has_pan_permission

from .access import share_managed_by
from .errors import FileNotFound
from .models import Item, Share


def _with_items(queryset):
    # "drop": dropoff's one-to-one to its delivery, so `share_is_drop` asks no query per row.
    return queryset.select_related("owner", "drop").prefetch_related(
        Prefetch("items", queryset=Item.objects.order_by("position", "id"))
    )


def share_list_managed(*, user):
    """The user's own shares; every share for `manage` holders. Newest first."""
    return _with_items(Share.objects.visible_to(user)).order_by("-created_at", "-id")


def share_get_managed(*, user, unique_name: str) -> Share:
    """A share the user may change (owner or `manage`); anything else is `FileNotFound`."""
    share = _with_items(Share.objects.visible_to(user)).filter(unique_name=unique_name).first()
    if share is None:
        raise FileNotFound()
    return share


def share_get_visible(*, user, unique_name: str) -> tuple[Share, bool]:
    """A share's metadata for its owner, `manage` or `visit` holders: (share, may see the code)."""
    share = _with_items(Share.objects.all()).filter(unique_name=unique_name).first()
    if share is None:
        raise FileNotFound()
    manages = share_managed_by(user=user, share=share)
    if not manages and not user_has_pan_permission(user, "visit"):
        raise FileNotFound()
    return share, manages


def share_list_shared(*, now=None):
    """The share list (`visit`): the listed shares that can be downloaded now,
    newest first. Drop-off deliveries are never listed; they are left out here too."""
    return _with_items(Share.objects.active(now).filter(listed=True, drop__isnull=True))
