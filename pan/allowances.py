"""How large a body pan's upload views take: their `body_allowance`s.

`project.lib.bodies.BodySizeGuard` asks the view a request routes to before
any of its body is read (see that module); a view that declares nothing,
or an allowance of None, gets the small limit (`MAX_SMALL_BODY`, 1 MiB).

- The multipart API (`POST /api/files`, `POST /api/shares`,
  `POST /api/shares/<id>/items`): the upload limits below, only for an
  `Authorization: Bearer` access token that verifies as DRF verifies it
  (simplejwt: signature, expiry, type, audience, issuer, then the user:
  exists and is active), or an API key with `shares:write`
  (accounts/authentication.py), and whose user holds the `upload` permission; for
  a share's items, also only a share that user may change (owner or
  `manage`, as the view itself looks it up). No token, a token that does
  not verify, a browser session, or a user without `upload`: None. Browser
  pages upload large files through tus (`/api/uploads/`), which declares
  its own allowance.
- Django admin's video upload (`/admin/pan/video/add/`, `.../<id>/change/`,
  pan/admin.py): a video's limit only for a browser session whose user is
  active, staff, and holds Django's add (or change) permission on videos.
  The session is read from Django's session store as
  `AuthenticationMiddleware` would (`get_user`, which also drops a session
  whose password hash no longer matches). No CSRF check happens before
  Django: the session cookie is SameSite=Lax, so another site's form post
  does not carry it, and Django's CSRF check still runs before the view.

Each check is one sync function run in the guard's own thread
(`sync_to_async`, inside `outside_request_lifecycle`).
"""

from importlib import import_module
from types import SimpleNamespace

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.http.cookie import parse_cookie

from accounts.authentication import bearer_user
from accounts.permissions import user_has_pan_permission
from project.lib.errors import ApplicationError

from .selectors import share_get_managed

# Boundaries, part headers and the small form fields around the files.
MULTIPART_ALLOWANCE = 64 * 1024
PART_ALLOWANCE = 2 * 1024  # headers of one more part (a 1 024-byte path and its escapes)


def file_allowance() -> int:
    """One file in a multipart body (`POST /api/files`, a video)."""
    return settings.PAN_MAX_UPLOAD_SIZE + MULTIPART_ALLOWANCE


def share_allowance() -> int:
    """A whole share in one multipart body."""
    return settings.PAN_MAX_SHARE_SIZE + MULTIPART_ALLOWANCE + PART_ALLOWANCE * settings.PAN_MAX_SHARE_ITEMS


def _header(scope, name: bytes) -> bytes:
    return next((value for key, value in scope.get("headers") or [] if key == name), b"")


def _cookie(scope, name: str) -> str:
    cookies = "; ".join(value.decode("latin-1") for key, value in scope.get("headers") or [] if key == b"cookie")
    return parse_cookie(cookies).get(name, "")


def bearer_uploader(authorization: bytes, *, view, share_name: str | None = None) -> bool:
    """True when `authorization` is a Bearer credential (an API key allowed on
    `view`'s POST, or a JWT access token) of an active user with `upload`
    (and, given `share_name`, who may change that share)."""
    user = bearer_user(authorization, view=view, method="POST")
    if user is None or not user_has_pan_permission(user, "upload"):
        return False
    if share_name is not None:
        try:
            share_get_managed(user=user, unique_name=share_name)
        except ApplicationError:
            return False
    return True


def video_admin(session_key: str, action: str) -> bool:
    """True when `session_key` is a signed-in session of an active staff user
    who may `action` ("add" or "change") videos."""
    if not session_key:
        return False
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(SimpleNamespace(session=session))
    return bool(user.is_active and user.is_staff and user.has_perm(f"pan.{action}_video"))


async def share_upload_allowance(scope) -> int | None:
    """`POST /api/shares` and `POST /api/shares/<id>/items`."""
    if scope.get("method") != "POST":
        return None
    share_name = scope["url_route"]["kwargs"].get("unique_name")
    view = scope["url_route"].get("view")  # the scopes an API key needs are the view's own
    if await sync_to_async(bearer_uploader)(_header(scope, b"authorization"), view=view, share_name=share_name):
        return share_allowance()
    return None


async def file_upload_allowance(scope) -> int | None:
    """`POST /api/files` (one file)."""
    if scope.get("method") != "POST":
        return None
    view = scope["url_route"].get("view")
    if await sync_to_async(bearer_uploader)(_header(scope, b"authorization"), view=view):
        return file_allowance()
    return None


def video_admin_allowance(action: str):
    """The allowance of Django admin's video add or change view."""

    async def allowance(scope) -> int | None:
        if scope.get("method") != "POST":
            return None
        session_key = _cookie(scope, settings.SESSION_COOKIE_NAME)
        if await sync_to_async(video_admin)(session_key, action):
            return file_allowance()
        return None

    return allowance
