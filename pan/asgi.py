"""An ASGI guard in front of Django for uploads that are too large.

Django's ASGI handler reads the whole request body before any view runs, so
the view's size check (pan/uploads.py) would only come after the body was
spooled to disk. This guard answers 413 at once for `POST /api/files` when
`Content-Length` is over `PAN_MAX_UPLOAD_SIZE` (plus room for the multipart
framing), and for `POST /api/shares` and `…/items` over `PAN_MAX_SHARE_SIZE`,
and for bodies without a length it counts bytes as they arrive
and stops Django's read as soon as the count passes the limit.
"""

import json
import re

from django.conf import settings
from django.utils import translation
from django.utils.translation.trans_real import get_supported_language_variant, parse_accept_lang_header

from project.lib.errors import error_body

from .errors import FileTooLarge

# Boundaries, part headers and the small form fields around the files.
MULTIPART_ALLOWANCE = 64 * 1024
PART_ALLOWANCE = 2 * 1024  # headers of one more part (a 1 024-byte path and its escapes)
_SHARE_UPLOAD = re.compile(r"^/api/shares(/[A-Za-z0-9_-]{1,32}/items)?$")


def upload_limit(path: str) -> int | None:
    """The largest body accepted on an upload path (None: not an upload path)."""
    if path == "/api/files":
        return settings.PAN_MAX_UPLOAD_SIZE + MULTIPART_ALLOWANCE
    if _SHARE_UPLOAD.match(path):
        return settings.PAN_MAX_SHARE_SIZE + MULTIPART_ALLOWANCE + PART_ALLOWANCE * settings.PAN_MAX_SHARE_ITEMS
    return None


def _language(accept: str) -> str:
    for code, _quality in parse_accept_lang_header(accept):
        if code == "*":
            continue
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


async def _send_too_large(scope, send) -> None:
    headers = dict(scope.get("headers") or [])
    with translation.override(_language(headers.get(b"accept-language", b"").decode("latin-1"))):
        body = json.dumps(error_body(FileTooLarge.code, FileTooLarge.default_message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class UploadSizeGuard:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        limit = (
            upload_limit(scope.get("path", "")) if scope["type"] == "http" and scope.get("method") == "POST" else None
        )
        if limit is None:
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                too_large = int(length) > limit
            except ValueError:
                too_large = False  # Django answers a malformed length itself
            if too_large:
                return await _send_too_large(scope, send)
            return await self.app(scope, receive, send)

        received = 0
        stopped = False

        async def counting_receive():
            nonlocal received, stopped
            if stopped:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django treats this as a client that went away: it
                    # drops what it spooled and never calls a view.
                    stopped = True
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counting_receive, send)
        if stopped:
            await _send_too_large(scope, send)
