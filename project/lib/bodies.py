"""How large a request body the server takes before storing any of it (SPEC §2).

One rule, applied by `BodySizeGuard` in front of Django under every server:

- A request without a body (no `Content-Length`, or 0, and no
  `Transfer-Encoding`) is not looked at.
- Any other request is routed with Django's own resolver (the URLconf is the
  only list of paths), and the view it reaches is asked for its allowance:
  a view (a function view, or the `cls`/`view_class` an `as_view()` carries)
  may declare `body_allowance`, an `async def body_allowance(scope) -> int |
  None`: the largest body *this* request may send, or None for the small
  default. It decides from the request itself (a token, a session, the
  upload it continues); the route's captured arguments are in
  `scope["url_route"]` (`{"args": ..., "kwargs": ...}`, as Channels' router
  puts them, and `"view"`: the view, or the class `as_view()` made it from). It runs before Django's middleware, in
  `project.lib.request_context.outside_request_lifecycle` (its database
  connection is given back before the body is read).
- A path that routes nowhere, a view without a declaration, or an allowance
  of None: `MAX_SMALL_BODY` (1 MiB), enough for every form and JSON body Pan
  takes (the largest, a 512 KiB text sent to `/api/shares`).
- A view may also declare `body_refusal`, the `ApplicationError` subclass a
  body over its allowance is refused with (an upload path: a file too
  large); otherwise `BodyTooLarge`.

Over the allowance: 413 before the body is read when `Content-Length` says
so; for a body without a length, as soon as the count passes it. The answer
is JSON in the caller's language (`Accept-Language`: no middleware has run)
and closes the connection. An allowance that fails (the database down) is
logged and counts as None: the small limit, never a larger one.

Resumable uploads (tus, `POST`/`PATCH` under `/api/uploads/`) and `curl -T`
(`PUT` under `/api/put/`) do not come here: `uploads.asgi.TusBodies` streams
their bodies to their views, which refuse a `Content-Length` over what the
upload may take before reading (docs/uploads.md).

A view may also declare `body_streams = True` (the API's upload views):
a multipart body with a `Content-Length` within its allowance and over
`FILE_UPLOAD_MAX_MEMORY_SIZE` is then read by the view as it arrives
(`StreamedBody`, through `project.lib.streaming.ASGIHandler`) instead of
being spooled whole to a temporary file first. Only views whose body is
read in their own thread may declare it (DRF views: CSRF is checked there);
a page view's body is read by Django's CSRF middleware in the event loop.

This module imports no app: apps declare, the guard asks.
`bearer_user_id` (a Bearer access token verified without the database) is
here for the rate limiter, which keys signed-in clients by it; the rate
limiter (project/middleware.py) asks `accounts.authentication` about API keys
(`Bearer pan_…`) first and never passes one here.
"""

import asyncio
import json
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.http.multipartparser import MultiPartParserError
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation.trans_real import get_supported_language_variant, parse_accept_lang_header
from rest_framework import status

from project.lib.errors import (
    DATABASE_UNAVAILABLE_ERRORS,
    ApplicationError,
    database_unavailable_logged,
    error_body,
)
from project.lib.request_context import outside_request_lifecycle

logger = logging.getLogger(__name__)

Headers = Iterable[tuple[bytes, bytes]]


class BodyTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "body_too_large"
    default_message = _("The request is larger than this server accepts.")


# --- what a view declares ------------------------------------------------------


def _declaring(match) -> list:
    """Where a routed view may declare its allowance: the view function, then the class `as_view()` made it from."""
    func = match.func
    return [holder for holder in (func, getattr(func, "cls", None), getattr(func, "view_class", None)) if holder]


def _declared(match, name: str):
    for holder in _declaring(match):
        value = getattr(holder, name, None)
        if value is not None:
            return value
    return None


def _route(scope):
    """The `ResolverMatch` of a request, or None where it routes nowhere."""
    path = scope.get("path", "")
    root_path = scope.get("root_path", "")
    if root_path and path.startswith(root_path):  # as Django's ASGIRequest builds path_info
        path = path.removeprefix(root_path) or "/"
    try:
        return resolve(path)
    except Resolver404:
        return None


async def body_allowance(scope, match) -> int:
    """The largest body this request may send (see the module)."""
    small = settings.MAX_SMALL_BODY
    allowance = None if match is None else _declared(match, "body_allowance")
    if allowance is None:
        return small
    # The view itself too (its class for a class-based view): what else it declares, such as the
    # scopes an API key needs (`api_key_scopes`), is the allowance's to read.
    asked = {**scope, "url_route": {"args": match.args, "kwargs": match.kwargs, "view": _declaring(match)[-1]}}
    try:
        async with outside_request_lifecycle():
            granted = await allowance(asked)
    except DATABASE_UNAVAILABLE_ERRORS:
        raise  # the guard answers 503, as any request that needs the database does
    except Exception:  # noqa: BLE001 - a failing allowance grants nothing, loudly
        logger.warning("body allowance of %s failed: the small limit applies", scope.get("path"), exc_info=True)
        return small
    return small if granted is None else int(granted)


def refusal(match) -> type[ApplicationError]:
    """The error a body over its allowance is refused with."""
    declared = None if match is None else _declared(match, "body_refusal")
    return declared or BodyTooLarge


def refusal_body(error: type[ApplicationError], accept_language: str) -> bytes:
    """The JSON error body, in the caller's language (the project's error shape)."""
    with translation.override(_language(accept_language)):
        return json.dumps(error_body(error.code, error.default_message)).encode()


def refusal_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    # The unread rest of the body makes the connection unusable: close it.
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]


# --- Bearer tokens without the database (the rate limiter's key) ----------------


def bearer_user_id(authorization: bytes) -> str | None:
    """The user id of a Bearer access token that verifies as DRF verifies it
    (signature, `exp`, type, audience, issuer, from simplejwt's settings),
    without the user lookup; None otherwise."""
    # Imported late: simplejwt reads settings and the user model on import.
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.exceptions import InvalidToken
    from rest_framework_simplejwt.settings import api_settings

    authentication = JWTAuthentication()
    try:
        raw = authentication.get_raw_token(authorization)
        if raw is None:
            return None
        token = authentication.get_validated_token(raw)
    except (AuthenticationFailed, InvalidToken):
        return None
    user_id = token.get(api_settings.USER_ID_CLAIM)
    return None if user_id is None else str(user_id)


# --- the caller's language -------------------------------------------------------


def request_language(accept: str) -> str:
    """The site language for an `Accept-Language` value (outside Django's request cycle)."""
    return _language(accept)


def _language(accept: str) -> str:
    for code, _quality in parse_accept_lang_header(accept):
        if code == "*":
            continue
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


# --- the ASGI guard ----------------------------------------------------------------


def _has_body(headers: dict) -> bool:
    length = headers.get(b"content-length")
    if length is not None:
        return length.strip() not in (b"0", b"")
    return b"transfer-encoding" in headers


# The scope key that tells project.lib.streaming.ASGIHandler to hand the body to the view as a stream.
STREAMED_BODY = "pan.streamed_body"


def _streams(headers: dict, match) -> bool:
    """Is this body one to stream to its view (see the module)?"""
    if not settings.STREAM_REQUEST_BODIES or match is None or not _declared(match, "body_streams"):
        return False
    if not headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data"):
        return False
    try:
        return int(headers[b"content-length"]) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    except (KeyError, ValueError):
        return False


class ClientGone(MultiPartParserError, RequestAborted):
    """The client went away while its body was being read (a streamed body).

    A `MultiPartParserError`, so that the view's parser ends as for a
    malformed body (DRF: 400, not a 500 and its error log) and keeps nothing;
    Django's handler has cancelled the response by then anyway."""


class StreamedBody:
    """A request body the view reads as it arrives, from its own thread.

    Django's ASGI handler writes the whole body to a temporary file before
    the view starts, then the view's multipart parser reads it back and
    writes each file once more (its upload handler): every byte was written
    to disk twice and the parsing could only start once the last byte was
    in. This is the file-like object the request reads instead: each `read`
    takes the next body messages from the server (`receive`, run on the
    event loop with `run_coroutine_threadsafe`), at least `GULP` bytes at a time. A
    client that goes away raises `ClientGone` in the view (and to every
    later read), after closing (and so deleting) the file the upload
    handlers were writing; `finished` is set once the body has ended either
    way. `request` is set by the handler once the request exists.
    """

    request = None

    # Bytes taken from the server per hand-off at least (1 MiB measured slower:
    # the parser waited for a whole gulp while daphne's queue held it back).
    GULP = 256 * 1024

    def __init__(self, receive):
        self._receive = receive
        self._loop = asyncio.get_running_loop()  # made on the event loop; read from the view's thread
        self._buffer, self._offset = b"", 0  # what the server gave and the parser has not read from `_offset`
        self._more = True
        self.aborted = False
        self.finished = asyncio.Event()

    async def _next(self, wanted: int) -> bytes:
        parts, size = [], 0
        while self._more and size < wanted:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.aborted, self._more = True, False
                self.finished.set()
                raise ClientGone("the client went away")
            body = message.get("body", b"")
            parts.append(body)
            size += len(body)
            if not message.get("more_body", False):
                self._more = False
                self.finished.set()
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _take(self, wanted: int) -> bytes:
        # Not asgiref's async_to_sync: from a thread-sensitive view thread it
        # sets up an executor of its own, which broke later requests' hand-offs.
        try:
            return asyncio.run_coroutine_threadsafe(self._next(wanted), self._loop).result()
        except ClientGone:
            self._drop_partial_files()
            raise

    def _drop_partial_files(self) -> None:
        """Close the file an upload handler was writing: its temporary file goes with it.
        (Django's parser closes the files it finished, not the one in progress.)"""
        for handler in getattr(self.request, "_upload_handlers", None) or ():
            file = getattr(handler, "file", None)
            if file is not None:
                file.close()

    def read(self, size: int | None = -1) -> bytes:
        if self.aborted:
            raise ClientGone("the client went away")
        buffer, offset = self._buffer, self._offset
        if size is None or size < 0:
            parts = [buffer[offset:]]
            while self._more:
                parts.append(self._take(self.GULP))
            self._buffer, self._offset = b"", 0
            return b"".join(parts)
        if offset >= len(buffer):
            if not self._more:
                return b""
            buffer, offset = self._take(max(size, self.GULP)), 0
        end = offset + size
        # Slices of what is left, never the rest copied again at each read
        # (the parser reads 64 KiB at a time from a gulp of 256 KiB or more).
        data = buffer if offset == 0 and end >= len(buffer) else buffer[offset:end]
        self._buffer, self._offset = buffer, min(end, len(buffer))
        return data

    def readline(self, size: int | None = -1) -> bytes:
        line = b""
        while not line.endswith(b"\n") and (size is None or size < 0 or len(line) < size):
            piece = self.read(1 if size is None or size < 0 else min(1, size - len(line)))
            if not piece:
                break
            line += piece
        return line

    def close(self) -> None:
        self._buffer, self._offset = b"", 0


class BodySizeGuard:
    """413 for a body over its allowance, before Django reads any of it.

    Django's ASGI handler reads the whole body (spooling past 2.5 MiB to a
    temporary file) before any view or middleware runs. This answers at once
    when `Content-Length` is over the allowance, and for a body without a
    length counts bytes as they arrive and stops Django's read once the count
    passes the allowance (Django treats that as a client that went away: it
    drops what it read and calls no view), then answers 413.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if not _has_body(headers):
            return await self.app(scope, receive, send)
        match = _route(scope)
        try:
            limit = await body_allowance(scope, match)
        except DATABASE_UNAVAILABLE_ERRORS as exc:
            # Deciding needed the database (whose token may upload): 503 before the body is read.
            error = database_unavailable_logged(exc)
            return await self._answer(headers, send, error.status_code, type(error))
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_large = int(length) > limit
            except ValueError:
                too_large = False  # the server or Django answers a malformed length itself
            if too_large:
                return await self._refuse(headers, match, send)
            if _streams(headers, match):
                scope = {**scope, STREAMED_BODY: True}
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
                    stopped = True
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counting_receive, send)
        if stopped:
            await self._refuse(headers, match, send)

    @classmethod
    async def _refuse(cls, headers: dict, match, send) -> None:
        await cls._answer(headers, send, 413, refusal(match))

    @staticmethod
    async def _answer(headers: dict, send, status_code: int, error: type[ApplicationError]) -> None:
        body = refusal_body(error, headers.get(b"accept-language", b"").decode("latin-1"))
        await send({"type": "http.response.start", "status": status_code, "headers": refusal_headers(body)})
        await send({"type": "http.response.body", "body": body})
