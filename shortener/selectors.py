"""Reads of short links, scoped to who is asking."""

from django.db.models import QuerySet

from accounts.permissions import user_has_pan_permission

from .errors import LinkNotFound
from .models import KEY_PATTERN, ShortLink


def short_links_of(*, user) -> QuerySet[ShortLink]:
    """The links a signed-in user owns, newest first."""
    return ShortLink.objects.filter(owner=user).order_by("-created_at", "-pk")


def short_link_get_for(*, user, key: str) -> ShortLink:
    """One link its owner or a holder of `manage` may see; else `LinkNotFound`.

    "Not yours" is the same 404 as "no such key", so keys cannot be probed.
    """
    if not KEY_PATTERN.match(key):
        raise LinkNotFound()  # never reaches the database (NUL bytes, overlong keys)
    links = ShortLink.objects.select_related("owner")
    if not user_has_pan_permission(user, "manage"):
        links = links.filter(owner=user)
    link = links.filter(key=key).first()
    if link is None:
        raise LinkNotFound()
    return link


def short_link_public_key(*, key: str) -> str:
    """The key of an existing link, in any state, for anyone; else `LinkNotFound`.

    For what is public about any link (its short URL and so its QR code):
    whether a key exists is what `/s/<key>` answers anyone already.
    """
    if not KEY_PATTERN.match(key) or not ShortLink.objects.filter(key=key).exists():
        raise LinkNotFound()
    return key
