"""Reads scoped to a user: ownership is enforced in the query."""

from accounts.permissions import user_has_pan_permission

from .errors import FileNotFound
from .models import SharedFile


def shared_file_list_managed(*, user):
    """The user's own files; every file for `manage` holders. Newest first."""
    return SharedFile.objects.visible_to(user).select_related("owner")


def shared_file_get_managed(*, user, unique_name: str) -> SharedFile:
    """A file the user may change (owner or `manage`); anything else is `FileNotFound`."""
    shared_file = shared_file_list_managed(user=user).filter(unique_name=unique_name).first()
    if shared_file is None:
        raise FileNotFound()
    return shared_file


def shared_file_code_visible(*, user, shared_file: SharedFile) -> bool:
    """Only the owner and `manage` holders see a file's code, link and QR code."""
    return shared_file.owner_id == user.pk or user_has_pan_permission(user, "manage")


def shared_file_get_visible(*, user, unique_name: str) -> tuple[SharedFile, bool]:
    """A file's metadata for its owner, `manage` or `visit` holders: (file, may see the code)."""
    shared_file = SharedFile.objects.select_related("owner").filter(unique_name=unique_name).first()
    if shared_file is None:
        raise FileNotFound()
    manages = shared_file_code_visible(user=user, shared_file=shared_file)
    if not manages and not user_has_pan_permission(user, "visit"):
        raise FileNotFound()
    return shared_file, manages


def shared_file_list_shared(*, now=None):
    """The share list: every file that can still be downloaded, newest first."""
    return SharedFile.objects.active(now).select_related("owner")
