"""Permission helpers the other apps use: check a role permission by name."""

from django.contrib.auth.mixins import AccessMixin
from django.db import models
from rest_framework.permissions import BasePermission, IsAuthenticated

from .models import PERMISSIONS


def user_has_pan_permission(user, name: str) -> bool:
    if name not in PERMISSIONS:
        raise ValueError(f"unknown permission {name!r}")
    return bool(user and user.is_authenticated and user.has_perm(f"accounts.{name}"))


def HasPanPermission(name: str) -> type[BasePermission]:  # noqa: N802 - used like a class
    """A DRF permission class for one of `upload`, `visit`, `download`, `manage`.

    Usage: `permission_classes = [HasPanPermission("upload")]`. Anonymous
    callers get 401 (DRF asks them to authenticate); signed-in users
    without the permission get 403.
    """
    if name not in PERMISSIONS:
        raise ValueError(f"unknown permission {name!r}")

    class _HasPanPermission(BasePermission):
        message = PERMISSIONS[name]

        def has_permission(self, request, view):
            return user_has_pan_permission(request.user, name)

    _HasPanPermission.__name__ = f"HasPanPermission_{name}"
    return _HasPanPermission


class CreatingNeedsUpload:
    """For an API list of one's own things (shares, drop-off requests): listing
    them needs a sign-in, creating one (POST) the `upload` permission too."""

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), HasPanPermission("upload")()]
        return [IsAuthenticated()]


class PanPermissionRequiredMixin(AccessMixin):
    """For page views: log in first, then hold `pan_permission`."""

    pan_permission: str = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not user_has_pan_permission(request.user, self.pan_permission):
            self.raise_exception = True
            return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)


class OwnedQuerySet(models.QuerySet):
    """Rows with an `owner` (shares, drop-off requests): "not yours" is not
    in the queryset, so it is a 404 and nothing can be enumerated."""

    def visible_to(self, user):
        """What a user may manage: their own, or all with `manage`."""
        if user_has_pan_permission(user, "manage"):
            return self.all()
        return self.filter(owner=user)
