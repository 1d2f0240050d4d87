"""Which request paths take uploads, and how large a body each may send.

`project.lib.bodies` holds the rule built on this (credentials, the small
limit for everything else) and applies it before any body is stored:
under daphne in Twisted, elsewhere in `BodySizeGuard` in front of Django.
"""

import re

from django.conf import settings

# Boundaries, part headers and the small form fields around the files.
MULTIPART_ALLOWANCE = 64 * 1024
PART_ALLOWANCE = 2 * 1024  # headers of one more part (a 1 024-byte path and its escapes)
_SHARE_UPLOAD = re.compile(r"^/api/shares(/[A-Za-z0-9_-]{1,32}/items)?$")
# Videos are uploaded by admins in Django admin (pan/admin.py), as one file.
_VIDEO_UPLOAD = re.compile(r"^/admin/pan/video/(add|[0-9]+/change)/$")


def upload_limit(path: str) -> int | None:
    """The largest body a POST to `path` may send (None: not an upload path)."""
    if path == "/api/files" or _VIDEO_UPLOAD.match(path):
        return settings.PAN_MAX_UPLOAD_SIZE + MULTIPART_ALLOWANCE
    if _SHARE_UPLOAD.match(path):
        return settings.PAN_MAX_SHARE_SIZE + MULTIPART_ALLOWANCE + PART_ALLOWANCE * settings.PAN_MAX_SHARE_ITEMS
    return None
