"""The WebSocket echo at /ws/echo/: in process (Channels' communicator) and through daphne."""

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings

from project.asgi import application

# Channels closes stale database connections around each consumer event,
# in worker threads that may hold one from an earlier test.
pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024


async def connected(headers):
    communicator = WebsocketCommunicator(application, "/ws/echo/", headers=headers)
    accepted, _subprotocol = await communicator.connect()
    assert accepted
    return communicator


@pytest.mark.asyncio
async def test_text_and_binary_come_back_unchanged_and_as_sent(ws_origin):
    communicator = await connected(ws_origin)
    await communicator.send_to(text_data="hello, 你好 👋")
    assert await communicator.receive_output() == {"type": "websocket.send", "text": "hello, 你好 👋"}
    payload = bytes(range(256)) * 4
    await communicator.send_to(bytes_data=payload)
    assert await communicator.receive_output() == {"type": "websocket.send", "bytes": payload}
    await communicator.send_input({"type": "websocket.receive", "text": ""})  # send_to() refuses ""
    assert await communicator.receive_output() == {"type": "websocket.send", "text": ""}
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_a_one_mib_message_is_echoed_and_a_larger_one_closes_with_1009(ws_origin):
    communicator = await connected(ws_origin)
    await communicator.send_to(bytes_data=b"\xab" * MIB)
    assert await communicator.receive_from(timeout=5) == b"\xab" * MIB
    # Text is measured in UTF-8 bytes: 349 526 three-byte characters are 1 MiB + 2 bytes.
    await communicator.send_to(text_data="好" * (MIB // 3 + 1))
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 1009}
    await communicator.wait()


@pytest.mark.asyncio
async def test_the_size_limit_comes_from_settings(ws_origin):
    with override_settings(WS_ECHO_MAX_MESSAGE_BYTES=10):
        communicator = await connected(ws_origin)
        await communicator.send_to(text_data="0123456789")
        assert await communicator.receive_from() == "0123456789"
        await communicator.send_to(bytes_data=b"01234567890")
        assert await communicator.receive_output() == {"type": "websocket.close", "code": 1009}
        await communicator.wait()


@pytest.mark.asyncio
async def test_a_hundred_messages_come_back_in_order(ws_origin):
    communicator = await connected(ws_origin)
    for number in range(100):
        await communicator.send_to(text_data=f"message {number}")
    assert [await communicator.receive_from() for _ in range(100)] == [f"message {n}" for n in range(100)]
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_a_page_from_another_site_cannot_connect():
    communicator = WebsocketCommunicator(
        application, "/ws/echo/", headers=[(b"origin", b"https://evil.example.net"), (b"host", b"127.0.0.1")]
    )
    accepted, _code = await communicator.connect()
    assert not accepted


@pytest.mark.asyncio
async def test_an_unknown_websocket_path_is_refused(ws_origin):
    communicator = WebsocketCommunicator(application, "/ws/nothing/", headers=ws_origin)
    accepted, _subprotocol = await communicator.connect()
    assert accepted is False


def test_the_echo_page_renders_in_both_languages():
    english = Client().get("/ws-echo/", HTTP_ACCEPT_LANGUAGE="en")
    chinese = Client().get("/ws-echo/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert english.status_code == chinese.status_code == 200
    assert "WebSocket echo" in english.content.decode()
    assert "WebSocket 回显" in chinese.content.decode()
    assert 'data-path="/ws/echo/"' in english.content.decode()
    assert "/static/js/ws_echo.js" in english.content.decode()
