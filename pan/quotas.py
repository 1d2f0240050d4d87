"""Storage quotas per role (SPEC §3): how many bytes a user's shares may hold.

`PAN_QUOTAS` maps roles to bytes (`uploaders=10737418240,users=0`). A user's
quota is the largest of their roles' entries; `0` means no limit, and so
does having no listed role at all or the `admin` role. The default (nothing
listed) sets no quotas. What counts is the size of every stored file of the
user's shares until they are purged (texts are kept in the database and do
not count), drops into their requests included.

Bytes reserved by uploads still on their way (resumable uploads, which are
checked when they begin) count as stored (`reservation_counters`).

Checked twice, as the request limits are: before anything is stored (with
the sizes the upload declares), and once stored, with the user's row locked
so that concurrent uploads cannot together pass the quota.
"""

from django.conf import settings
from django.db.models import Sum

from accounts.models import ROLE_ADMIN

from .errors import QuotaExceeded
from .models import Item


def user_quota(user) -> int | None:
    """The user's quota in bytes, or None for no limit."""
    quotas = settings.PAN_QUOTAS
    if not quotas or user is None:
        return None
    roles = set(user.groups.values_list("name", flat=True))
    if ROLE_ADMIN in roles:
        return None
    listed = [quotas[role] for role in roles if role in quotas]
    if not listed or 0 in listed:
        return None
    return max(listed)


# Bytes promised to uploads still on their way: apps that reserve room register a
# counter here (`uploads` does, for unfinished resumable uploads), so that every
# quota check counts them, whichever path the bytes take.
reservation_counters: list = []


def user_reserved_bytes(user) -> int:
    return sum(counter(user) for counter in reservation_counters)


def user_stored_bytes(user) -> int:
    return Item.objects.filter(share__owner=user).aggregate(total=Sum("size"))["total"] or 0


def quota_facts(user) -> dict:
    """What `/api/me` says of a user's storage (registered in pan/apps.py):
    bytes their shares hold, and their quota (None: no limit)."""
    return {"stored_bytes": user_stored_bytes(user), "quota": user_quota(user)}


def quota_check(*, owner, adding: int, lock: bool = False) -> None:
    """Raise `QuotaExceeded` (413) when `adding` more bytes would pass the
    owner's quota. With `lock`, inside a transaction: the owner's row is
    locked first, so concurrent uploads are counted one after the other."""
    quota = user_quota(owner)
    if quota is None:
        return
    if lock:
        type(owner).objects.select_for_update().filter(pk=owner.pk).first()
    if user_stored_bytes(owner) + user_reserved_bytes(owner) + adding > quota:
        raise quota_exceeded(quota)


def quota_exceeded(quota: int) -> QuotaExceeded:
    """The 413 for a quota of `quota` bytes, its size in words."""
    return QuotaExceeded(QuotaExceeded.default_message % {"quota": _size(quota)})


def _size(count: int) -> str:
    from django.template.defaultfilters import filesizeformat

    return filesizeformat(count)
