from django.db.models import Prefetch

from pan.models import Item

from .errors import RequestNotFound
from .models import Drop, DropRequest


def request_list_managed(*, user):
    """The user's own requests; every request for `manage` holders. Newest first."""
    return DropRequest.objects.visible_to(user).select_related("owner").order_by("-created_at", "-id")


def request_get_managed(*, user, unique_name: str) -> DropRequest:
    """A request the user may change (owner or `manage`); anything else is `RequestNotFound`."""
    drops = Drop.objects.select_related("share").prefetch_related(
        Prefetch("share__items", queryset=Item.objects.order_by("position", "id"))
    )
    found = (
        request_list_managed(user=user)
        .prefetch_related(Prefetch("drops", queryset=drops))
        .filter(unique_name=str(unique_name)[:32])
        .first()
    )
    if found is None:
        raise RequestNotFound()
    return found
