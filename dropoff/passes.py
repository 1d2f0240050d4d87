"""The drop pass: how an outsider's large drop gets past the small body limit.

`project.lib.bodies` decides how large a body may be before any of it is
stored, without the database (see accounts/upload_pass.py for why). A drop
comes from someone without an account, so there is no token or session to
show. Instead the request's page (and `GET /api/requests/<code>`, once the
code and any password were right) hands out a pass: the request's code,
the files and bytes it still takes, timestamped and signed with SECRET_KEY.
A POST to that request's drop paths with a valid pass (header
`X-Drop-Pass`, or the `pan_drop` cookie scoped to the page's path) may be as
large as the pass says; without one, the small limit. Drops are checked
against the request's real totals again before and after storing
(dropoff/services.py): a stale pass never lets more in.
"""

import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing

from pan.asgi import MULTIPART_ALLOWANCE, PART_ALLOWANCE

if TYPE_CHECKING:
    from .models import DropRequest

COOKIE_NAME = "pan_drop"
HEADER_NAME = b"x-drop-pass"
_SALT = "pan.dropoff.drop-pass"
# The page and the API path a drop is sent to; codes are canonical (upper case) there.
_DROP_PATH = re.compile(r"^(?:/r/(?P<page>[2-9A-Z]{8})/|/api/requests/(?P<api>[2-9A-Z]{8})/drops)$")


def drop_pass_for(request: "DropRequest") -> str:
    value = f"{request.code}:{request.files_left}:{request.bytes_left}"
    return signing.TimestampSigner(salt=_SALT).sign(value)


def drop_path_code(path: str) -> str | None:
    """The request code in a drop path, or None for any other path."""
    match = _DROP_PATH.match(path)
    return None if match is None else (match.group("page") or match.group("api"))


def drop_body_limit(code: str, value: str) -> int | None:
    """The largest body a valid pass for `code` allows, or None when the pass is not valid for it."""
    try:
        unsigned = signing.TimestampSigner(salt=_SALT).unsign(value, max_age=settings.PAN_DROP_PASS_AGE)
        pass_code, files_left, bytes_left = unsigned.split(":")
        files, size = int(files_left), int(bytes_left)
    except (signing.BadSignature, ValueError):
        return None
    if pass_code != code:
        return None
    files = min(files, settings.PAN_MAX_SHARE_ITEMS)
    size = min(size, settings.PAN_MAX_SHARE_SIZE)
    return size + MULTIPART_ALLOWANCE + PART_ALLOWANCE * files
