"""`project.lib.bodies.StreamedBody`: the request stream a view reads while the body arrives.

An event loop runs in a thread of its own, as the server's does; the test
reads from the main thread, as a view's thread does. The messages come from
a queue the test fills, as a server's `receive` would give them.
"""

import asyncio
import threading

import pytest
from django.core.exceptions import RequestAborted
from django.http.multipartparser import MultiPartParserError

from project.lib.bodies import ClientGone, StreamedBody


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def streamed(loop, messages: list[dict]) -> StreamedBody:
    queue: asyncio.Queue = asyncio.Queue()

    async def make():
        for message in messages:
            queue.put_nowait(message)
        return StreamedBody(queue.get)

    return asyncio.run_coroutine_threadsafe(make(), loop).result(timeout=5)


def body(data: bytes, more: bool = True) -> dict:
    return {"type": "http.request", "body": data, "more_body": more}


def test_reads_of_any_size_give_the_body_exactly_once_and_then_nothing(loop):
    parts = [bytes([n]) * (100_000 + n) for n in range(7)]
    stream = streamed(loop, [body(part) for part in parts[:-1]] + [body(parts[-1], more=False)])
    read = []
    for size in [1, 65536, 3, 400_000, 65536, 7] * 20:
        chunk = stream.read(size)
        assert len(chunk) <= size
        read.append(chunk)
    assert b"".join(read) == b"".join(parts)
    assert stream.read(10) == b"" and stream.read() == b""
    assert stream.finished.is_set() and not stream.aborted


def test_read_all_and_readline(loop):
    stream = streamed(loop, [body(b"first line\nsec"), body(b"ond\nrest"), body(b"", more=False)])
    assert stream.readline() == b"first line\n"
    assert stream.readline() == b"second\n"
    assert stream.read() == b"rest"


def test_a_client_gone_mid_body_raises_in_the_reader_every_time(loop):
    stream = streamed(loop, [body(b"x" * 300_000), {"type": "http.disconnect"}])
    assert stream.read(300_000) == b"x" * 300_000
    with pytest.raises(ClientGone):
        stream.read(10)
    with pytest.raises(ClientGone):
        stream.read(10)
    assert stream.aborted and stream.finished.is_set()
    # The parser ends as for a malformed body; Django's handler sees a client gone.
    assert issubclass(ClientGone, MultiPartParserError) and issubclass(ClientGone, RequestAborted)


def test_the_file_an_upload_handler_was_writing_is_closed_when_the_client_goes(loop):
    class Handler:
        def __init__(self):
            self.file = open(__file__, "rb")  # noqa: SIM115 - closed by the stream

    class Request:
        _upload_handlers = [Handler(), object()]

    stream = streamed(loop, [{"type": "http.disconnect"}])
    stream.request = Request()
    with pytest.raises(ClientGone):
        stream.read(10)
    assert Request._upload_handlers[0].file.closed
