"""Fixes to daphne 4.2.x, the server `make run` uses, applied at start-up.

Each fix is measured and tested, switches itself off for any other daphne
version (or another ASGI server), and says why it exists:

- `without_form_parsing`: Twisted parsed every multipart body into memory
  (a 100 MB upload cost 1.3 GB) although daphne never uses the result.
- `body_from_disk`: daphne queued a whole request body in memory before the
  application read any of it.
- `send_backpressure`: daphne buffered responses for slow clients without
  limit (a 200 MB download held 200 MB).
- `closes_over_size_messages`: an over-size WebSocket message dropped the
  TCP connection (clients saw 1006) instead of closing with 1009.
- `access_log_without_queries`: daphne's own access log (on by default)
  printed query strings, and share codes and tokens travel there.
- `ends_broken_responses`: a response whose body failed after it started
  (a download that lost its slot, a stored file that ended early) left the
  connection open, so the client waited for bytes that never came.
- `refuses_large_bodies`: Twisted stored every request body in a temporary
  file before Pan's code ran, so a body over its limit (SPEC §2) filled the
  disk before anything could refuse it.

With them a 200 MB round trip grows daphne by ~10 MiB (pan/tests/test_live.py).
"""

import asyncio
import functools
import inspect
import io
import logging
import os


def apply_all() -> None:
    try:
        import daphne
    except ImportError:  # pragma: no cover - daphne is pinned in requirements.txt
        return
    if not daphne.__version__.startswith("4.2."):
        logging.getLogger(__name__).warning(
            "project.lib.daphne_fixes: daphne %s is not 4.2.x, so its fixes are off "
            "(upload and download memory, broken responses): check them against this version",
            daphne.__version__,
        )
    without_form_parsing()
    body_from_disk()
    send_backpressure()
    closes_over_size_messages()
    ends_broken_responses()
    access_log_without_queries()
    refuses_large_bodies()


def without_form_parsing() -> None:
    """Stop Twisted from parsing multipart bodies that daphne never uses.

    Twisted's `Request` reads a whole `multipart/form-data` body into memory
    and parses it with the email parser into `request.args` (twisted#5511)
    before daphne hands the raw body to the application: a 100 MB upload
    cost daphne 1.3 GB. Twisted's `parsePOSTFormSubmission=False` turns
    that off; daphne itself only forwards the raw body.
    """
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:  # served by another ASGI server
        return
    if getattr(WebRequest.__init__, "pan_no_form_parsing", False):
        return
    from twisted.web.http import Request

    if "parsePOSTFormSubmission" not in inspect.signature(Request.__init__).parameters:
        return
    original = WebRequest.__init__

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parsePOSTFormSubmission", False)
        original(self, *args, **kwargs)

    __init__.pan_no_form_parsing = True
    WebRequest.__init__ = __init__


class _DiskBackedBodyQueue(asyncio.Queue):
    """daphne's input queue for one HTTP request, without the body in memory.

    Twisted has already written the whole body to a temporary file; daphne
    then reads all of it into this queue at once, in 8 KiB messages, before
    the application has read any (daphne/http_protocol.py `process`): the
    server held as much memory as the upload was large. Here a body message
    keeps only its place in that file, and `get` reads it back when the
    application asks, joining neighbours into reads of up to 256 KiB.
    """

    read_size = 256 * 1024

    def __init__(self, content):
        super().__init__()
        self._content = content
        self._queued_bytes = 0

    def put_nowait(self, message):
        if message.get("type") == "http.request" and message.get("body"):
            length = len(message["body"])
            message = {"type": "http.request", "more_body": message.get("more_body", False)}
            message["pan_span"] = (self._queued_bytes, length)
            self._queued_bytes += length
        super().put_nowait(message)

    async def get(self):
        message = await super().get()
        span = message.pop("pan_span", None)
        if span is None:
            return message
        offset, length = span
        while message.get("more_body") and length < self.read_size and not self.empty():
            following = self._queue[0]  # same process, same loop: peek without waiting
            if "pan_span" not in following:
                break
            super().get_nowait()
            length += following["pan_span"][1]
            message["more_body"] = following.get("more_body", False)
        try:
            message["body"] = os.pread(self._content.fileno(), length, offset)
        except (OSError, ValueError):  # the request is over and Twisted closed the file
            return {"type": "http.disconnect"}
        return message


def body_from_disk() -> None:
    """Give daphne's HTTP requests a `_DiskBackedBodyQueue` (daphne 4.2.x only)."""
    try:
        import daphne
        from daphne.server import Server
    except ImportError:
        return
    if not daphne.__version__.startswith("4.2.") or getattr(Server.create_application, "pan_disk_body", False):
        return
    original = Server.create_application

    def create_application(self, protocol, scope):
        content = getattr(protocol, "content", None)
        if scope.get("type") != "http" or content is None or isinstance(content, io.BytesIO):
            return original(self, protocol, scope)
        # daphne 4.2.3's create_application, with the queue swapped.
        if "application_instance" in self.connections[protocol]:
            raise RuntimeError("an application instance already exists for this request")
        input_queue = _DiskBackedBodyQueue(content)
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

    create_application.pan_disk_body = True
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
    """Make daphne's `send` wait while the client is not reading (daphne 4.2.x).

    daphne writes every response chunk to Twisted at once, so a download to
    a slow client piled up in the server's memory (200 MB for a 200 MB file).
    With a `_WriteGate` registered as the request's producer, a body message
    returns only once the socket can take more.
    """
    try:
        import daphne
        from daphne.http_protocol import WebRequest
        from daphne.server import Server
    except ImportError:
        return
    if not daphne.__version__.startswith("4.2.") or getattr(Server.handle_reply, "pan_backpressure", False):
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
    if getattr(original, "pan_close_not_drop", False):
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
        import daphne
        from daphne.http_protocol import WebRequest
    except ImportError:
        return
    if not daphne.__version__.startswith("4.2.") or getattr(WebRequest.handle_exception, "pan_ends_broken", False):
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
    if getattr(original, "pan_no_queries", False):
        return

    def __call__(self, protocol, action, details):
        if isinstance(details, dict) and isinstance(details.get("path"), str):
            details = {**details, "path": details["path"].split("?", 1)[0]}
        return original(self, protocol, action, details)

    __call__.pan_no_queries = True
    AccessLogGenerator.__call__ = __call__


# How long a refused connection keeps reading (and dropping) what the client
# still sends, so that its 413 is not lost to a reset (see below).
REFUSAL_LINGER_SECONDS = 2.0


def refuses_large_bodies() -> None:
    """Refuse a body over `project.lib.bodies.body_limit` before Twisted stores any of it.

    Twisted writes every request body to a temporary file before daphne hands
    the request to the application: three anonymous connections announcing
    50 GiB filled a disk by 600 MB with no answer. `gotLength` is called once
    the headers are in, before any body byte is stored, with the method and
    target still on the channel: a declared length over the limit is refused
    there. A body without a length (chunked) is counted in
    `handleContentChunk` and refused as soon as the count passes the limit;
    what was stored until then (at most the limit) is dropped.

    The 413 is written to the socket directly, as Twisted answers a malformed
    request. Closing at once with the client's bytes unread would reset the
    connection, and a client still sending could lose the answer; so the
    connection is half-closed instead, and what still arrives is dropped
    unread for `REFUSAL_LINGER_SECONDS`, then the connection is cut.
    """
    try:
        import daphne
        from daphne.http_protocol import WebRequest
    except ImportError:
        return
    if not daphne.__version__.startswith("4.2.") or getattr(WebRequest.gotLength, "pan_body_limit", False):
        return
    from urllib.parse import unquote

    from project.lib import bodies

    original_got_length = WebRequest.gotLength
    original_handle_content_chunk = WebRequest.handleContentChunk
    original_request_received = WebRequest.requestReceived

    def gotLength(self, length):  # noqa: N802 - Twisted's interface
        self.pan_body_refused = False
        self.pan_body_received = 0
        self.pan_body_limit = None
        command, target = getattr(self.channel, "_command", None), getattr(self.channel, "_path", None)
        if length == 0:  # no body: nothing to guard
            return original_got_length(self, length)
        if not isinstance(command, bytes) or not isinstance(target, bytes):
            if not _warned_no_request_line:
                _warned_no_request_line.append(True)
                logging.getLogger(__name__).warning(
                    "project.lib.daphne_fixes.refuses_large_bodies: Twisted's channel has no request line "
                    "in gotLength, so request bodies are stored before any size check: check this Twisted version"
                )
            return original_got_length(self, length)
        method = command.decode("ascii", "replace")
        # As daphne builds the ASGI path (daphne/http_protocol.py `process`).
        path = unquote(target.split(b"?", 1)[0].decode("ascii", "replace"))
        headers = [(name.lower(), value) for name, values in self.requestHeaders.getAllRawHeaders() for value in values]
        self.pan_body_request = (method, path)
        self.pan_body_limit = bodies.body_limit(method, path, headers)
        if length is not None and length > self.pan_body_limit:
            self.content = io.BytesIO()  # Twisted's file is never made
            _refuse_body(self)
            return None
        return original_got_length(self, length)

    def handleContentChunk(self, data):  # noqa: N802
        if getattr(self, "pan_body_refused", False):
            return None
        limit = getattr(self, "pan_body_limit", None)
        if limit is not None:
            self.pan_body_received += len(data)
            if self.pan_body_received > limit:
                self.content.close()  # a temporary file: what it holds goes with it
                self.content = io.BytesIO()
                _refuse_body(self)
                return None
        return original_handle_content_chunk(self, data)

    def requestReceived(self, command, path, version):  # noqa: N802
        # A chunked body's last chunk may follow the refused one in the same read.
        if getattr(self, "pan_body_refused", False):
            return None
        return original_request_received(self, command, path, version)

    gotLength.pan_body_limit = True
    handleContentChunk.pan_body_limit = True
    requestReceived.pan_body_limit = True
    WebRequest.gotLength = gotLength
    WebRequest.handleContentChunk = handleContentChunk
    WebRequest.requestReceived = requestReceived


_warned_no_request_line: list[bool] = []


def _refuse_body(request) -> None:
    """Answer 413 on the socket, half-close, drop whatever else arrives for a moment, then cut."""
    from twisted.internet import reactor

    from project.lib import bodies

    method, path = request.pan_body_request
    request.pan_body_refused = True
    # Twisted sends "100 Continue" after gotLength when asked to: not after a refusal.
    request.requestHeaders.removeHeader(b"Expect")
    accept = (request.requestHeaders.getRawHeaders(b"Accept-Language") or [b""])[0].decode("latin-1")
    body = bodies.refusal_body(bodies.refusal_for(method, path), accept)
    head = b"HTTP/1.1 413 Content Too Large\r\n"
    head += b"".join(name + b": " + value + b"\r\n" for name, value in bodies.refusal_headers(body))
    channel = request.channel
    transport = channel.transport
    transport.write(head + b"\r\n" + body)
    channel.dataReceived = _drop
    transport.unregisterProducer()  # as HTTPChannel.loseConnection does: a producer holds the close back
    try:
        transport.loseWriteConnection()
    except (AttributeError, NotImplementedError):  # a transport that cannot half-close
        transport.loseConnection()
    reactor.callLater(REFUSAL_LINGER_SECONDS, transport.abortConnection)
    peer = transport.getPeer()
    request.server.log_action(
        "http",
        "complete",
        {
            "path": path,
            "status": 413,
            "method": method,
            "client": f"{getattr(peer, 'host', '-')}:{getattr(peer, 'port', '-')}",
            "time_taken": 0.0,
            "size": len(body),
        },
    )


def _drop(data: bytes) -> None:
    return None
