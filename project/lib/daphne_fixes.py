"""Fixes to daphne, the server `make run` uses, applied at start-up.

Each fix is measured and tested and says why it exists. They reach into
daphne's and Twisted's internals, so every one is applied only under the
exact versions it was written against (`DAPHNE_VERSION`, `TWISTED_VERSION`,
pinned in requirements.txt); under any other version it stays off and a
warning says so (project/tests/test_daphne_fixes.py fails on a version bump,
so the fixes are checked again before the pins move). Another ASGI server
(uvicorn) is untouched.

- `streams_request_bodies`: Twisted wrote every request body to a temporary
  file and daphne started the application only once all of it was in: an
  upload whose client vanished midway never reached Pan (its bytes were
  lost), and a body over its limit filled the disk before anything could
  refuse it. Now the application starts as soon as the headers are in and
  gets the body as it arrives, with backpressure; the body-size rule is
  `project.lib.bodies.BodySizeGuard`, the same under every server.
- `send_backpressure`: daphne buffered responses for slow clients without
  limit (a 200 MB download held 200 MB).
- `closes_over_size_messages`: an over-size WebSocket message dropped the
  TCP connection (clients saw 1006) instead of closing with 1009.
- `access_log_without_queries`: daphne's own access log (on by default)
  printed query strings, and share codes and tokens travel there.
- `sends_files_zero_copy`: every downloaded byte went through Python
  (read into a bytes object, cut into 64 KiB messages, joined again in
  Twisted's write buffer, copied to the socket); now a local file's bytes go
  from the page cache to the socket with `sendfile` (the ASGI
  `http.response.zerocopysend` extension, offered on plain TCP).
- `ends_broken_responses`: a response whose body failed after it started
  (a download that lost its slot, a stored file that ended early) left the
  connection open, so the client waited for bytes that never came.

With them a 200 MB round trip grows daphne by ~10 MiB (pan/tests/test_live.py).
"""

import asyncio
import functools
import io
import logging
import os
from urllib.parse import parse_qs

# The versions every fix here was written against and tested with.
DAPHNE_VERSION = "4.2.3"
TWISTED_VERSION = "26.10.0"

logger = logging.getLogger(__name__)


def installed_versions() -> tuple[str | None, str | None]:
    """(daphne, Twisted) as installed; None for one that is not."""
    try:
        import daphne
        import twisted
    except ImportError:  # pragma: no cover - daphne is pinned in requirements.txt
        return None, None
    return daphne.__version__, twisted.__version__


def versions_match() -> bool:
    return installed_versions() == (DAPHNE_VERSION, TWISTED_VERSION)


_warned: set[str] = set()


def _gated(fix: str) -> bool:
    """Whether `fix` may be applied here; warns (once per fix) when the versions differ."""
    daphne_version, twisted_version = installed_versions()
    if daphne_version is None:
        return False  # served by another ASGI server
    if (daphne_version, twisted_version) == (DAPHNE_VERSION, TWISTED_VERSION):
        return True
    if fix not in _warned:
        _warned.add(fix)
        logger.warning(
            "project.lib.daphne_fixes.%s is off: written for daphne %s and Twisted %s, installed are "
            "daphne %s and Twisted %s; check it against these versions",
            fix,
            DAPHNE_VERSION,
            TWISTED_VERSION,
            daphne_version,
            twisted_version,
        )
    return False


def apply_all() -> None:
    streams_request_bodies()
    send_backpressure()
    sends_files_zero_copy()  # after the two above: it wraps what they patched
    closes_over_size_messages()
    ends_broken_responses()
    access_log_without_queries()


# The most body bytes queued for the application before Twisted stops
# reading from the client; reading resumes once the application has taken
# half of them. Each request holds at most this much (plus one socket read).
BODY_QUEUE_BYTES = 1024 * 1024
# The application gets queued neighbours joined into messages of up to this size.
BODY_READ_BYTES = 256 * 1024
# How long a connection whose response ended before its request body keeps
# reading (and dropping) what the client still sends, so that the answer is
# not lost to a reset, before it is cut.
UNREAD_BODY_LINGER_SECONDS = 2.0


class _BodyStream(asyncio.Queue):
    """daphne's input queue for one HTTP request whose body arrives while the application runs.

    Twisted's body chunks come in through `feed` as `http.request` messages
    with `more_body=True`; the end of the body adds an empty one with
    `more_body=False`. daphne's own `process` puts the whole body (read from
    `request.content`, here always empty) at once: those puts are ignored.
    Its `http.disconnect` passes, after every chunk that came before it.
    """

    def __init__(self, request):
        super().__init__()
        self._request = request
        self.queued_bytes = 0
        self.paused = False

    def put_nowait(self, message):
        if message.get("type") == "http.request":
            return
        super().put_nowait(message)

    def feed(self, body: bytes, *, more_body: bool) -> None:
        super().put_nowait({"type": "http.request", "body": body, "more_body": more_body})
        self.queued_bytes += len(body)
        if self.queued_bytes > BODY_QUEUE_BYTES:
            # Every time: Twisted resumes reading on its own when the socket's
            # send buffer drains during a body.
            self.paused = True
            _pause_reading(self._request)

    def discard(self) -> None:
        """Drop what the application has not read: the response is over."""
        kept = [message for message in self._queue if message.get("type") != "http.request"]
        self._queue.clear()
        self._queue.extend(kept)
        self.queued_bytes = 0
        self.paused = False

    async def get(self):
        request = self._request
        if request.pan_expect_continue:
            # The application wants the body: now the client may send it.
            request.pan_expect_continue = False
            if request.channel is not None and not request.startedWriting and not request.pan_body_complete:
                request.channel._send100Continue()
        message = await super().get()
        if message.get("type") != "http.request":
            return message
        parts, size, more_body = [message["body"]], len(message["body"]), message["more_body"]
        while more_body and size < BODY_READ_BYTES and not self.empty():
            following = self._queue[0]  # same loop, no await: peeking is safe
            if following.get("type") != "http.request":
                break
            super().get_nowait()
            parts.append(following["body"])
            size += len(following["body"])
            more_body = following["more_body"]
        self.queued_bytes -= size
        if self.paused and self.queued_bytes <= BODY_QUEUE_BYTES // 2:
            self.paused = False
            _resume_reading(request)
        return {
            "type": "http.request",
            "body": parts[0] if len(parts) == 1 else b"".join(parts),
            "more_body": more_body,
        }


def _pause_reading(request) -> None:
    channel = request.channel
    if channel is None:
        return
    channel._networkProducer.pauseProducing()
    if "pan_saved_timeout" not in request.__dict__:
        # The client is not idle, the application is: no idle timeout meanwhile.
        request.pan_saved_timeout = channel.setTimeout(None)


def _resume_reading(request) -> None:
    channel = request.channel
    if channel is None:
        return
    saved = request.__dict__.pop("pan_saved_timeout", None)
    if saved and not request.pan_body_complete:  # once the body is in, Twisted keeps it off until the response
        channel.setTimeout(saved)
    if not channel._waitingForTransport:  # else Twisted resumes once the socket drains
        channel._networkProducer.resumeProducing()


def _drop(*args) -> None:
    return None


def _close_unread(channel) -> None:
    """`HTTPChannel.loseConnection` for a request whose body was not read to its end.

    Closing at once with the client's bytes unread would reset the
    connection, and a client still sending could lose the answer; so the
    connection is half-closed once the answer is out, what still arrives is
    dropped unread for `UNREAD_BODY_LINGER_SECONDS`, then it is cut.
    """
    if getattr(channel, "pan_closing", False):
        return
    channel.pan_closing = True
    from twisted.internet import reactor

    transport = channel.transport
    channel._networkProducer.unregisterProducer()  # as HTTPChannel.loseConnection: a producer holds the close back
    transport.resumeProducing()  # read (and drop) even when paused for the application
    try:
        transport.loseWriteConnection()
    except (AttributeError, NotImplementedError):  # a transport that cannot half-close
        transport.loseConnection()
    reactor.callLater(UNREAD_BODY_LINGER_SECONDS, transport.abortConnection)


def streams_request_bodies() -> None:
    """Start the application as soon as a request's headers are in, and stream its body to it.

    Twisted calls `Request.requestReceived` (and so daphne's `process`) only
    once the whole body is in, written to a temporary file on the way
    (`Request.gotLength`/`handleContentChunk`). For a request with a body
    (`Content-Length` over 0, or chunked) this takes over at
    `HTTPChannel.allHeadersReceived`: it sets what Twisted's
    `requestReceived` would (method, URI, path, arguments, protocol) and
    calls daphne's `process` at once, with an empty `content`; each chunk
    Twisted decodes then goes to the application's queue (`_BodyStream`)
    instead of a file, and the end of the body to it as `more_body=False`.
    Past `BODY_QUEUE_BYTES` unread, Twisted stops reading from the socket
    until the application catches up, so memory stays flat and a slow
    application slows the client down. A client that goes away midway
    gives the application every byte it sent, then `http.disconnect`.

    `Expect: 100-continue` is answered when the application first asks for
    the body, so a body refused from its headers (413 from `BodySizeGuard`)
    is never invited. A response that starts before the body is in carries
    `Connection: close`; once it ends, what the application did not read is
    dropped, and so is whatever else arrives, until the connection closes
    (`_close_unread`). Requests without a body (and WebSocket handshakes)
    go Twisted's way as before; keep-alive and pipelining are Twisted's.
    """
    try:
        from daphne.http_protocol import WebRequest
        from daphne.server import Server
        from twisted.web.http import HTTPChannel
    except ImportError:
        return
    if not _gated("streams_request_bodies") or getattr(HTTPChannel.allHeadersReceived, "pan_streams", False):
        return

    original_all_headers_received = HTTPChannel.allHeadersReceived
    original_handle_content_chunk = WebRequest.handleContentChunk
    original_request_received = WebRequest.requestReceived
    original_handle_reply = WebRequest.handle_reply
    original_finish = WebRequest.finish
    original_create_application = Server.create_application

    def allHeadersReceived(self):  # noqa: N802 - Twisted's interface
        request = self.requests[-1]
        if self.length == 0 or not isinstance(request, WebRequest):
            return original_all_headers_received(self)
        # Twisted 26.10.0's allHeadersReceived, without `gotLength` (its file)
        # and with 100 Continue left to the application (see _BodyStream.get).
        request.parseCookies()
        self.persistent = self.checkPersistence(request, self._version)
        expect = request.requestHeaders.getRawHeaders(b"Expect")
        request.pan_expect_continue = bool(
            expect and expect[0].lower() == b"100-continue" and self._version == b"HTTP/1.1"
        )
        request.pan_streaming = True
        request.pan_body_complete = False
        request.content = io.BytesIO()  # never written: the body goes to the application
        # What Twisted's requestReceived sets before it calls process.
        command, target, version = self._command, self._path, self._version
        request.method, request.uri, request.clientproto = command, target, version
        request.path, _, query = target.partition(b"?")
        request.args = parse_qs(query, 1) if query else {}
        request.process()

    def handleContentChunk(self, data):  # noqa: N802
        if not getattr(self, "pan_streaming", False):
            return original_handle_content_chunk(self, data)
        stream = self.application_queue
        if isinstance(stream, _BodyStream) and not self.finished and not self._disconnected:
            stream.feed(data, more_body=True)
        return None

    def requestReceived(self, command, path, version):  # noqa: N802 - the whole body is in
        if not getattr(self, "pan_streaming", False):
            return original_request_received(self, command, path, version)
        self.pan_body_complete = True
        saved = self.__dict__.get("pan_saved_timeout")
        if saved and self.channel is not None:
            # allContentReceived found the idle timeout off (paused): restore it after the response.
            self.channel._savedTimeOut = saved
        stream = self.application_queue
        if isinstance(stream, _BodyStream) and not self.finished:
            stream.feed(b"", more_body=False)
        return None

    def handle_reply(self, message):
        starts = message.get("type") == "http.response.start" and not self._response_started
        original_handle_reply(self, message)
        if (
            starts
            and getattr(self, "pan_streaming", False)
            and not self.pan_body_complete
            and self.channel is not None
            and not self.finished
        ):
            # The rest of the body may go unread: this connection ends with the response.
            self.channel.persistent = False
            if not self.responseHeaders.hasHeader(b"connection"):
                self.responseHeaders.setRawHeaders(b"connection", [b"close"])

    def finish(self):
        channel = self.channel
        if (
            getattr(self, "pan_streaming", False)
            and not self.pan_body_complete
            and channel is not None
            and not self._disconnected
            and not self.finished
        ):
            # The response is over before the body: store none of the rest.
            self.pan_expect_continue = False
            if isinstance(self.application_queue, _BodyStream):
                self.application_queue.discard()
            channel.persistent = False
            channel.dataReceived = channel.rawDataReceived = channel.lineReceived = _drop
            channel.loseConnection = functools.partial(_close_unread, channel)
        return original_finish(self)

    def create_application(self, protocol, scope):
        if scope.get("type") != "http" or not getattr(protocol, "pan_streaming", False):
            return original_create_application(self, protocol, scope)
        # daphne 4.2.3's create_application, with the queue swapped.
        if "application_instance" in self.connections[protocol]:
            raise RuntimeError("an application instance already exists for this request")
        input_queue = _BodyStream(protocol)
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(
            scope=scope, receive=input_queue.get, send=functools.partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            application_instance, loop=asyncio.get_event_loop()
        )
        return input_queue

    for function in (allHeadersReceived, handleContentChunk, requestReceived, handle_reply, finish, create_application):
        function.pan_streams = True
    HTTPChannel.allHeadersReceived = allHeadersReceived
    WebRequest.handleContentChunk = handleContentChunk
    WebRequest.requestReceived = requestReceived
    WebRequest.handle_reply = handle_reply
    WebRequest.finish = finish
    Server.create_application = create_application


def _content_length(start_message) -> int | None:
    for name, value in start_message.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


WRITE_BUFFER_BYTES = 1024 * 1024


class _WriteGate:
    """A Twisted push producer for one response: Twisted pauses it while the
    socket's send buffer is full, and the application's `send` waits."""

    def __init__(self):
        self._open = asyncio.Event()
        self._open.set()

    def pauseProducing(self):  # noqa: N802 - Twisted's interface
        self._open.clear()

    def resumeProducing(self):  # noqa: N802
        self._open.set()

    def stopProducing(self):  # noqa: N802 - the connection is going away: never block on it
        self._open.set()

    async def wait(self):
        await self._open.wait()


def send_backpressure() -> None:
    """Make daphne's `send` wait while the client is not reading.

    daphne writes every response chunk to Twisted at once, so a download to
    a slow client piled up in the server's memory (200 MB for a 200 MB file).
    With a `_WriteGate` registered as the request's producer, a body message
    returns only once the socket can take more.
    """
    try:
        from daphne.http_protocol import WebRequest
        from daphne.server import Server
    except ImportError:
        return
    if not _gated("send_backpressure") or getattr(Server.handle_reply, "pan_backpressure", False):
        return
    original = Server.handle_reply

    async def handle_reply(self, protocol, message):
        if not isinstance(protocol, WebRequest):
            return await original(self, protocol, message)
        kind = message.get("type")
        gate = getattr(protocol, "pan_write_gate", None)
        if kind == "http.response.body" and not message.get("more_body", False) and gate is not None:
            # The last body message finishes the request: let go of Twisted first.
            protocol.pan_write_gate = None
            if protocol.channel is not None:  # None once the client has gone
                protocol.unregisterProducer()
        await original(self, protocol, message)
        if kind == "http.response.start" and not protocol.finished and protocol.producer is None:
            transport = getattr(protocol.channel, "transport", None)
            if transport is not None:
                # Twisted pauses a producer once 64 KiB wait to be sent: less
                # than one chunk, so each chunk waited for the socket to drain
                # before the next was even read. A little more lets reading
                # and sending overlap; memory stays bounded per response.
                transport.bufferSize = WRITE_BUFFER_BYTES
            protocol.pan_write_gate = _WriteGate()
            protocol.pan_bytes_left = _content_length(message)
            protocol.registerProducer(protocol.pan_write_gate, True)
        elif kind == "http.response.body" and gate is not None and message.get("more_body", False):
            left = getattr(protocol, "pan_bytes_left", None)
            if left is not None:
                left = protocol.pan_bytes_left = left - len(message.get("body", b""))
            # Once every byte of the body is with Twisted there is nothing
            # left to hold back: the application may finish (and count the
            # download) while Twisted sends the rest.
            if left is None or left > 0:
                await gate.wait()

    handle_reply.pan_backpressure = True
    Server.handle_reply = handle_reply


ZERO_COPY_SEND = "http.response.zerocopysend"
# The most bytes one `sendfile` call is asked for (the kernel takes what
# the socket's buffer holds).
SENDFILE_BYTES = 16 * 1024 * 1024


def _pending(transport) -> bool:
    """Does Twisted's write buffer still hold bytes for this transport?"""
    return bool(len(transport.dataBuffer) - transport.offset or transport._tempDataLen)


class _FileSender:
    """Sends `count` bytes of a file from `offset` on a Twisted TCP transport with `os.sendfile`.

    Twisted has no zero-copy producer; this takes the transport's own place
    in the reactor while it runs: its `doWrite` (called by the reactor when
    the socket can take more) first lets Twisted send what its buffer holds
    (the headers), then calls `sendfile` once per writable event until the
    range is sent. The reactor's bookkeeping stays Twisted's (the
    transport is the registered writer, as for any write), so a connection
    that goes away is Twisted's to close; `abort` then ends the wait.
    """

    def __init__(self, transport, file, offset: int, count: int):
        self.transport = transport
        self.descriptor = file.fileno()
        self.offset, self.count, self.sent = offset, count, 0
        self.done = asyncio.get_running_loop().create_future()

    def start(self):
        self.transport.doWrite = self.doWrite  # an instance attribute: the reactor calls transport.doWrite()
        self.transport.startWriting()
        return self.done

    def doWrite(self):  # noqa: N802 - Twisted's interface
        from twisted.internet import main

        transport = self.transport
        if _pending(transport):
            result = type(transport).doWrite(transport)
            if result is not None or _pending(transport):
                if result is not None:
                    self._end(ConnectionError("connection lost"))
                return result
            transport.startWriting()  # Twisted stopped once its buffer drained: the file is next
        try:
            sent = os.sendfile(transport.socket.fileno(), self.descriptor, self.offset, min(self.count, SENDFILE_BYTES))
        except BlockingIOError:
            return None
        except OSError as error:
            self._end(error)
            return main.CONNECTION_LOST
        if not sent:
            self._end(OSError(f"the file ended {self.count} bytes early"))
            return None
        self.offset += sent
        self.count -= sent
        self.sent += sent
        if not self.count:
            self._end(None)
        return None

    def _end(self, error) -> None:
        transport = self.transport
        transport.__dict__.pop("doWrite", None)
        if not _pending(transport):
            transport.stopWriting()
        if not self.done.done():
            if error is None:
                self.done.set_result(self.sent)
            else:
                self.done.set_exception(error)

    def abort(self, _reason=None) -> None:
        """The connection went away (or the sender was cancelled): stop."""
        transport = self.transport
        transport.__dict__.pop("doWrite", None)
        if not self.done.done():
            self.done.set_exception(ConnectionResetError("the client went away"))


def _offers_sendfile(protocol) -> bool:
    """A plain TCP connection (no TLS in between) whose socket `sendfile` can write to."""
    import socket

    from twisted.internet import tcp

    transport = getattr(protocol.channel, "transport", None)
    return (
        hasattr(os, "sendfile")
        and type(transport) is tcp.Server
        and getattr(transport.socket, "family", None) in (socket.AF_INET, socket.AF_INET6)
    )


def sends_files_zero_copy() -> None:
    """Offer the ASGI `http.response.zerocopysend` extension on plain TCP connections.

    A download used to move every byte through Python: read into a bytes
    object, cut into 64 KiB messages by Django, appended to Twisted's write
    buffer, joined there again and copied to the socket 128 KiB at a time;
    a profile of a download was a third Twisted's send and buffer handling.
    With the extension in the scope, `project.lib.streaming.ASGIHandler`
    sends a local file's ranges as `http.response.zerocopysend` messages
    (`file`, `offset`, `count`, `more_body`), and this sends each with
    `os.sendfile` from the file to the socket (`_FileSender`): the bytes
    never enter user space. Each message returns once its bytes are with
    the kernel (the backpressure of `send_backpressure`); once the client
    has gone, a send raises `ConnectionResetError` (as the ASGI spec asks of
    `send` on a closed connection: the application stops at once, before
    it would count the download); a file shorter than asked raises into the
    application (and `ends_broken_responses` closes the connection). The
    rest of the response (finishing, the access log) is daphne's own.
    TLS connections and other transports do not get the extension.
    """
    try:
        from daphne.http_protocol import WebRequest
        from daphne.server import Server
        from twisted.web import http
    except ImportError:
        return
    if not _gated("sends_files_zero_copy") or getattr(Server.handle_reply, "pan_zero_copy", False):
        return
    original_create_application = Server.create_application
    original_handle_reply = Server.handle_reply

    # functools.wraps keeps the markers of the fixes underneath (each fix checks its own to apply once).
    @functools.wraps(original_create_application)
    def create_application(self, protocol, scope):
        if scope.get("type") == "http" and isinstance(protocol, WebRequest) and _offers_sendfile(protocol):
            scope["extensions"] = {**(scope.get("extensions") or {}), ZERO_COPY_SEND: {}}
        return original_create_application(self, protocol, scope)

    @functools.wraps(original_handle_reply)
    async def handle_reply(self, protocol, message):
        if message.get("type") != ZERO_COPY_SEND or not isinstance(protocol, WebRequest):
            return await original_handle_reply(self, protocol, message)
        if protocol not in self.connections or self.connections[protocol].get("disconnected") or protocol._disconnected:
            # ASGI: `send` on a closed connection raises an OSError. (daphne drops
            # body messages silently; a file's ranges go by without a pause, so
            # the application would run to its end before it saw the disconnect.)
            raise ConnectionResetError("the client went away")
        if not protocol._response_started:
            raise ValueError("HTTP response has not yet been started but got " + ZERO_COPY_SEND)
        more_body = message.get("more_body", False)
        if not protocol.finished and protocol.channel is not None:
            http.Request.write(protocol, b"")  # the status line and headers, once
            file = message["file"]
            offset = message.get("offset")
            if offset is None:
                offset = os.lseek(file.fileno(), 0, os.SEEK_CUR)
            count = message.get("count")
            if count is None:
                count = os.fstat(file.fileno()).st_size - offset
            if count > 0 and protocol.method != b"HEAD" and protocol.code not in http.NO_BODY_CODES:
                sender = _FileSender(protocol.channel.transport, file, offset, count)
                protocol.notifyFinish().addBoth(sender.abort)
                try:
                    sent = await sender.start()
                except asyncio.CancelledError:
                    sender.abort()
                    if protocol.channel is not None and not protocol.finished:
                        protocol.channel.transport.abortConnection()  # the body can no longer be whole
                    raise
                protocol.sentLength += sent
                if getattr(protocol, "pan_bytes_left", None) is not None:
                    protocol.pan_bytes_left -= sent
        # Finishing (with the last message) and the access log: daphne's own.
        return await original_handle_reply(
            self, protocol, {"type": "http.response.body", "body": b"", "more_body": more_body}
        )

    handle_reply.pan_zero_copy = create_application.pan_zero_copy = True
    Server.create_application = create_application
    Server.handle_reply = handle_reply


def closes_over_size_messages() -> None:
    """Make daphne answer an over-size message with a 1009 close frame.

    daphne refuses messages over its own `--websocket_max_message_size`
    (1 MiB by default, the same as WS_ECHO_MAX_MESSAGE_BYTES) before they
    reach the consumer, but autobahn's default `failByDrop` then drops the
    TCP connection without a close frame, and clients see an abnormal
    closure (1006). With `failByDrop=False` autobahn sends 1009 "message
    too big" first (RFC 6455 §7.1.7 allows either). daphne imports the
    application before it builds its WebSocket factory, so patching here,
    on import of the routes, is early enough. Other ASGI servers are
    untouched: the consumer's own check answers 1009 there.
    """
    try:
        from daphne.ws_protocol import WebSocketFactory
    except ImportError:  # pragma: no cover - daphne is pinned in requirements.txt
        return
    original = WebSocketFactory.setProtocolOptions
    if not _gated("closes_over_size_messages") or getattr(original, "pan_close_not_drop", False):
        return

    def set_protocol_options(self, *args, **kwargs):
        kwargs.setdefault("failByDrop", False)
        return original(self, *args, **kwargs)

    set_protocol_options.pan_close_not_drop = True
    WebSocketFactory.setProtocolOptions = set_protocol_options


def ends_broken_responses() -> None:
    """Close the connection when the application fails after its response started.

    daphne answers an application error with a 500 page; once the status
    line is out that fails (`handle_reply` refuses a second start) and the
    connection stays open with the body short of its `Content-Length`: the
    client hangs until its own timeout. uvicorn closes the connection; so
    does this (the client sees the body end early, as it should).
    """
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:
        return
    if not _gated("ends_broken_responses") or getattr(WebRequest.handle_exception, "pan_ends_broken", False):
        return
    original = WebRequest.handle_exception

    def handle_exception(self, exception):
        if getattr(self, "_response_started", False):
            if self.channel is not None:
                self.channel.loseConnection()
            return
        original(self, exception)

    handle_exception.pan_ends_broken = True
    WebRequest.handle_exception = handle_exception


def access_log_without_queries() -> None:
    """Strip query strings from daphne's own access log (on at verbosity 1).

    `GET /f/<id>/?code=…` and `/server-status?token=…` would otherwise be
    written to stdout with working credentials in them; Pan's own access
    log (project/middleware.py) records paths only, and so does this now.
    """
    try:
        from daphne.access import AccessLogGenerator
    except ImportError:  # pragma: no cover - daphne is pinned in requirements.txt
        return
    original = AccessLogGenerator.__call__
    if not _gated("access_log_without_queries") or getattr(original, "pan_no_queries", False):
        return

    def __call__(self, protocol, action, details):
        if isinstance(details, dict) and isinstance(details.get("path"), str):
            details = {**details, "path": details["path"].split("?", 1)[0]}
        return original(self, protocol, action, details)

    __call__.pan_no_queries = True
    AccessLogGenerator.__call__ = __call__
