"""Range-aware streaming of a stored file under ASGI.

Used by file downloads and previews (pan) and the video stream. Never
`FileResponse` here: under ASGI Django reads a sync iterator whole into
memory. The bytes come from an async generator that reads 256 KiB chunks
through the storage API in a worker thread (so S3 works, the event loop
never blocks, and daphne's unbounded buffer stays small).

    byte_range = requested_range(request, size=..., etag=..., last_modified=...)
    response = stream_file(storage=..., name=..., byte_range=byte_range, ...)

`requested_range` raises `RangeNotSatisfiable`; `range_not_satisfiable(size)`
is the matching 416 response. `file_response(request, ...)` does both.

When the file is a local one and the server offers the ASGI zero-copy
extension (daphne with Pan's fix), `ASGIHandler` (Pan's Django handler,
project/asgi.py) sends the file's ranges instead of its bytes and the
server writes them with `sendfile` (`FileRange`, `file_ranges`); it also
hands large API upload bodies to their views as they arrive
(`project.lib.bodies.StreamedBody`).
"""

import asyncio
import io
import logging
import os
import re
import stat
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler as DjangoASGIHandler
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import http_date, parse_http_date_safe

from project.lib.metrics import DOWNLOAD_BYTES, DOWNLOAD_BYTES_SENDFILE, DOWNLOADS

from .bodies import STREAMED_BODY, StreamedBody
from .stored_files import stored_open

logger = logging.getLogger(__name__)
CHUNK_SIZE = 256 * 1024
# The ASGI extension a server offers when it can send a file's bytes itself
# (daphne with project/lib/daphne_fixes.sends_files_zero_copy).
ZERO_COPY_SEND = "http.response.zerocopysend"
# Bytes of a local file handed to such a server in one message (its last one
# is at most CHUNK_SIZE, as on the bytes path: see `file_ranges`).
ZERO_COPY_PIECE = 4 * 1024 * 1024
_RANGE = re.compile(r"^bytes=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class RangeNotSatisfiable(Exception):
    pass


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive; end < start means an empty body (a 0-byte file)
    size: int
    partial: bool

    @property
    def length(self) -> int:
        return max(0, self.end - self.start + 1)

    @property
    def reaches_end(self) -> bool:
        """Does this response carry the file's last byte (or is the file empty)?"""
        return self.size == 0 or self.end == self.size - 1


def _if_range_matches(request, etag: str, last_modified: datetime | None) -> bool:
    condition = request.headers.get("If-Range")
    if condition is None:
        return True
    condition = condition.strip()
    if condition.startswith(('"', "W/")):
        # RFC 9110 §13.1.5: only a strong comparison counts.
        return not condition.startswith("W/") and condition == etag
    since = parse_http_date_safe(condition)
    return last_modified is not None and since is not None and int(last_modified.timestamp()) == since


def requested_range(request, *, size: int, etag: str, last_modified: datetime | None = None) -> ByteRange:
    """The single byte range a request asks for, or the whole file.

    A `Range` that does not parse, asks for several ranges, or comes with an
    `If-Range` that no longer matches is ignored (the whole file, 200), as
    RFC 9110 allows. Raises `RangeNotSatisfiable` when the range lies
    entirely beyond the end of the file.
    """
    whole = ByteRange(0, size - 1, size, partial=False)
    header = request.headers.get("Range")
    if not header or request.method not in ("GET", "HEAD") or not _if_range_matches(request, etag, last_modified):
        return whole
    match = _RANGE.match(header)
    if not match or (not match.group(1) and not match.group(2)):
        return whole
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return whole  # syntactically invalid: ignore
        if start >= size:
            raise RangeNotSatisfiable()
    else:
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable()
        start, end = max(0, size - suffix), size - 1
        if size == 0:
            raise RangeNotSatisfiable()
    return ByteRange(start, end, size, partial=True)


def range_not_satisfiable(size: int) -> HttpResponse:
    response = HttpResponse(status=416, content_type="text/plain")
    response["Content-Range"] = f"bytes */{size}"
    response["Accept-Ranges"] = "bytes"
    return response


def content_disposition(disposition: str, filename: str) -> str:
    """RFC 6266 with an ASCII fallback and an RFC 5987 `filename*` for everything else."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%;' else "_" for ch in filename) or "file"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class DownloadTracker(Protocol):
    """Bookkeeping hooks of a counted download (pan.grants.DownloadTracker)."""

    async def progress(self) -> None: ...  # bytes are flowing (renew a lease now and then)

    async def complete(self) -> None: ...  # the last chunk is about to be handed over; may raise to stop

    async def abort(self) -> None: ...  # the response stopped short


async def _shielded(coroutine) -> None:
    """Run a bookkeeping write to its end even when the request is cancelled.

    A client that closes the connection makes the server cancel the
    response task; a cancelled `sync_to_async` call that has not started
    would never run, leaving a reserved slot behind until its lease lapses.
    """
    task = asyncio.ensure_future(coroutine)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


async def tracked(chunks: AsyncIterator[bytes], length: int, tracker: DownloadTracker | None, label: str = ""):
    """Pass `chunks` (exactly `length` bytes in all) on, telling `tracker`.

    `complete()` runs before the chunk that carries the last byte is yielded:
    once yielded it is the server's, and a client that hangs up the instant
    it has it makes the server cancel this generator before it is asked for
    more, so "after the last chunk" would never run. `abort()` runs when the
    stream stops before `complete()` (client gone, storage error).
    """
    completed = False
    DOWNLOADS.inc()  # the first pull: the server began sending the body
    try:
        sent = 0
        if length == 0 and tracker is not None:
            completed = True
            await _shielded(tracker.complete())
        async for chunk in chunks:
            sent += len(chunk)
            if tracker is not None:
                if sent >= length and not completed:
                    completed = True
                    await _shielded(tracker.complete())
                else:
                    await tracker.progress()
            DOWNLOAD_BYTES.inc(len(chunk))
            yield chunk
        if sent != length:
            raise OSError(f"{label} ended after {sent} of {length} bytes")
    finally:
        if not completed and tracker is not None:
            try:
                await _shielded(tracker.abort())
            except Exception:  # noqa: BLE001 - must not mask the original error
                logger.exception("download abort hook failed for %s", label)


async def storage_chunks(storage, name: str, start: int, length: int, chunk_size: int = CHUNK_SIZE, handle=None):
    """`length` bytes of a stored file from `start`, read in a worker thread
    chunk by chunk (so S3 works and the event loop never blocks). `handle`:
    an already open file (opening first lets a caller answer 404/503 before
    any response starts).

    The next chunk is read while the server sends this one: reading and
    sending overlap instead of taking turns (one chunk ahead at most, so
    memory stays two chunks a download)."""
    if not length:
        if handle is not None:
            await sync_to_async(handle.close, thread_sensitive=False)()
        return
    if handle is None:
        handle = await sync_to_async(stored_open, thread_sensitive=False)(storage, name)
    read = sync_to_async(handle.read, thread_sensitive=False)
    ahead = None
    try:
        if start:
            await sync_to_async(handle.seek, thread_sensitive=False)(start)
        remaining = length
        ahead = asyncio.ensure_future(read(min(chunk_size, remaining)))
        while remaining > 0:
            chunk = await ahead
            ahead = None
            if not chunk:
                raise OSError(f"{name} ended {remaining} bytes early")
            remaining -= len(chunk)
            if remaining > 0:
                ahead = asyncio.ensure_future(read(min(chunk_size, remaining)))
            yield chunk
    finally:
        if ahead is not None:
            # A read still running in its thread ends before the file closes.
            await asyncio.wait([ahead])
            if not ahead.cancelled():
                ahead.exception()  # retrieved: the stream has stopped anyway
        await sync_to_async(handle.close, thread_sensitive=False)()


class FileRange:
    """`count` bytes of an open local file from `offset`: one message for a
    server that sends files itself (`ZERO_COPY_SEND`); its `len` is the
    number of bytes, so `tracked` counts it as it counts a chunk."""

    __slots__ = ("count", "file", "offset")

    def __init__(self, file, offset: int, count: int):
        self.file, self.offset, self.count = file, offset, count

    def __len__(self) -> int:
        return self.count


def local_file(handle):
    """`handle` when it is an open regular file of this machine (a file
    descriptor a server can `sendfile` from), else None (S3, memory)."""
    try:
        descriptor = handle.fileno()
        return handle if stat.S_ISREG(os.fstat(descriptor).st_mode) else None
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


async def file_ranges(handle, start: int, length: int, piece: int = ZERO_COPY_PIECE):
    """`length` bytes of the open local file `handle` from `start` as
    `FileRange`s of `piece` bytes, the last one at most `CHUNK_SIZE` (so a
    download's completion is recorded as close to its end as on the bytes
    path: `tracked` records it before the last range is handed over).
    Closes `handle` when done or stopped."""
    try:
        position, remaining = start, length
        while remaining > 0:
            size = min(piece, remaining - CHUNK_SIZE) if remaining > CHUNK_SIZE else remaining
            yield FileRange(handle, position, size)
            position += size
            remaining -= size
    finally:
        handle.close()


async def _closing(parts):
    async with aclosing(parts):
        async for part in parts:
            yield part


class _ClosingStreamingResponse(StreamingHttpResponse):
    """Closing the response's iterator closes the file generator too.

    Django's own wrappers stop iterating an async generator without closing
    it, which would leave our `finally` (the abort hook) to the garbage
    collector, in another task and thread. This way it runs at once, in
    the request's own context.
    """

    # The same bytes as `FileRange`s, for a server that sends files itself
    # (`ASGIHandler`); None when there is no local file to send.
    zero_copy_content = None

    @property
    def streaming_content(self):
        return _closing(self._iterator)

    @streaming_content.setter
    def streaming_content(self, value):
        # New content (a text item's bytes, say): the file's ranges are not it.
        self.zero_copy_content = None
        self._set_streaming_content(value)

    def __aiter__(self):
        return _closing(self._iterator)


def stream_file(
    *,
    storage,
    name: str,
    byte_range: ByteRange,
    content_type: str,
    etag: str,
    last_modified: datetime | None = None,
    filename: str | None = None,
    inline: bool = False,
    head: bool = False,
    tracker: DownloadTracker | None = None,
    handle=None,
    chunk_size: int = CHUNK_SIZE,
) -> HttpResponse:
    """A 200 or 206 response for `byte_range` of a stored file.

    Always sends `Content-Length`, `ETag`, `Accept-Ranges: bytes`,
    `X-Content-Type-Options: nosniff` and `Content-Security-Policy: sandbox`;
    `Content-Disposition` is `attachment` unless `inline`. `tracker` is told
    of progress, completion (before the last chunk) and aborts (see
    `tracked`). A HEAD response carries the headers only and tells nothing.
    """
    if head:
        response = HttpResponse(status=206 if byte_range.partial else 200)
    else:
        chunks = storage_chunks(storage, name, byte_range.start, byte_range.length, chunk_size, handle)
        response = _ClosingStreamingResponse(
            tracked(chunks, byte_range.length, tracker, name), status=206 if byte_range.partial else 200
        )
        if settings.DOWNLOAD_SENDFILE and handle is not None and local_file(handle) is not None:
            # One of the two is read: the ranges when the server sends files
            # itself (ASGIHandler), else the chunks; either closes `handle`.
            ranges = file_ranges(handle, byte_range.start, byte_range.length)
            response.zero_copy_content = tracked(ranges, byte_range.length, tracker, name)
    response["Content-Type"] = content_type
    response["Content-Length"] = str(byte_range.length)
    if byte_range.partial:
        response["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{byte_range.size}"
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    if filename is not None or not inline:
        response["Content-Disposition"] = content_disposition("inline" if inline else "attachment", filename or "file")
    served_bytes_headers(response)
    return response


def served_bytes_headers(response: HttpResponse) -> None:
    """What every response carrying stored bytes sends, so no browser runs them."""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"


def stream_chunks(chunks: AsyncIterator[bytes], *, length: int, tracker=None, label: str = "") -> HttpResponse:
    """A 200 streaming response of exactly `length` bytes from `chunks`,
    closed promptly when the server stops (see `_ClosingStreamingResponse`)."""
    response = _ClosingStreamingResponse(tracked(chunks, length, tracker, label))
    response["Content-Length"] = str(length)
    served_bytes_headers(response)
    return response


def file_response(request, *, storage, name: str, size: int, content_type: str, etag: str, **kwargs) -> HttpResponse:
    """`requested_range` and `stream_file` together; 416 when the range is unsatisfiable."""
    try:
        byte_range = requested_range(request, size=size, etag=etag, last_modified=kwargs.get("last_modified"))
    except RangeNotSatisfiable:
        return range_not_satisfiable(size)
    return stream_file(
        storage=storage,
        name=name,
        byte_range=byte_range,
        content_type=content_type,
        etag=etag,
        head=request.method == "HEAD",
        **kwargs,
    )


class _ZeroCopySend:
    """The server's `send`, turning body messages that carry a `FileRange`
    into `ZERO_COPY_SEND` messages."""

    def __init__(self, send):
        self.send = send

    async def __call__(self, message):
        body = message.get("body")
        if not isinstance(body, FileRange):
            return await self.send(message)
        await self.send(
            {
                "type": ZERO_COPY_SEND,
                "file": body.file,
                "offset": body.offset,
                "count": body.count,
                "more_body": message.get("more_body", False),
            }
        )
        DOWNLOAD_BYTES_SENDFILE.inc(body.count)
        return None


class _StreamedReceive:
    """The server's `receive` for a request whose body the view reads as it arrives."""

    def __init__(self, receive):
        self.receive = receive
        self.body = None

    async def __call__(self):
        return await self.receive()


class ASGIHandler(DjangoASGIHandler):
    """Django's ASGI handler, sending stored bytes with fewer copies.

    - Django cuts every body part into 64 KiB messages (`chunk_size`, a
      copy each); the download generators already produce parts of
      `CHUNK_SIZE`, so each part goes as one message.
    - A response of a local file (`stream_file` sets `zero_copy_content`)
      goes as `http.response.zerocopysend` messages when the server offers
      that extension (daphne, project/lib/daphne_fixes.py): the server
      hands the file's bytes to the socket with `sendfile`, and they never
      pass through Python. Everything else (headers, counting, closing) is
      Django's `send_response` as usual.
    """

    chunk_size = CHUNK_SIZE

    async def handle(self, scope, receive, send):
        if ZERO_COPY_SEND in (scope.get("extensions") or {}):
            send = _ZeroCopySend(send)
        if scope.get(STREAMED_BODY):
            receive = _StreamedReceive(receive)
        return await super().handle(scope, receive, send)

    async def read_body(self, receive):
        if isinstance(receive, _StreamedReceive):
            # The view reads the body as it arrives (project/lib/bodies.py, StreamedBody).
            receive.body = StreamedBody(receive.receive)
            return receive.body
        return await super().read_body(receive)

    def create_request(self, scope, body_file):
        request, error_response = super().create_request(scope, body_file)
        if isinstance(body_file, StreamedBody):
            body_file.request = request
        return request, error_response

    async def listen_for_disconnect(self, receive):
        if isinstance(receive, _StreamedReceive):
            # The body's messages are the view's: listen once they have all come.
            await receive.body.finished.wait()
            if receive.body.aborted:
                raise RequestAborted()
        return await super().listen_for_disconnect(receive)

    async def send_response(self, response, send):
        ranges = getattr(response, "zero_copy_content", None)
        if ranges is None or not isinstance(send, _ZeroCopySend):
            return await super().send_response(response, send)
        response.streaming_content = ranges  # the chunks are never read (their generator never starts)
        try:
            return await super().send_response(response, send)
        except ConnectionError:
            # The client went away (the server says so by raising, as ASGI
            # asks): the ranges are closed unfinished (`tracked` aborts), as
            # Django does for a client gone during a send (CancelledError).
            return None

    @classmethod
    def chunk_bytes(cls, data):
        if isinstance(data, FileRange):
            yield data, True
            return
        yield from super().chunk_bytes(data)
