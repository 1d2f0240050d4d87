"""WebSocket handshakes that are refused or let in (SPEC §7): unknown paths are a
404/403 and never a 500, clients without `Origin` may use the echo, foreign
origins may not, and the echo needs no channel layer."""

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from project.asgi import application
from project.testing import refusing_port

# Channels closes stale database connections around each consumer event,
# in worker threads that may hold one from an earlier test.
pytestmark = pytest.mark.django_db(transaction=True)

HOST = [(b"host", b"127.0.0.1")]
UNKNOWN_PATHS = ["/ws/nope/", "/api/me", "/", "/ws/echo/extra", "/ws/echo"]


async def handshake(path: str, headers) -> tuple[bool, WebsocketCommunicator]:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    accepted, _code = await communicator.connect(timeout=5)
    return accepted, communicator


@pytest.mark.asyncio
@pytest.mark.parametrize("path", UNKNOWN_PATHS)
async def test_an_upgrade_on_a_path_without_a_route_is_refused(path, ws_origin):
    accepted, communicator = await handshake(path, ws_origin)
    assert not accepted
    await communicator.wait()


@pytest.mark.asyncio
async def test_a_client_without_origin_uses_the_echo():
    accepted, communicator = await handshake("/ws/echo/", HOST)
    assert accepted
    await communicator.send_to(text_data="no origin, 你好")
    assert await communicator.receive_from() == "no origin, 你好"
    await communicator.disconnect()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "origins",
    [
        [b"https://evil.example.net"],
        [b"null"],
        [b"http://127.0.0.1.evil.example.net"],
        [b"http://127.0.0.1", b"https://evil.example.net"],  # two: which one would a check believe?
    ],
    ids=["foreign", "null", "look-alike", "two-origins"],
)
async def test_a_foreign_origin_is_still_refused(origins):
    headers = HOST + [(b"origin", origin) for origin in origins]
    accepted, communicator = await handshake("/ws/echo/", headers)
    assert not accepted
    await communicator.wait()


def _unreachable_redis_layer():
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{refusing_port()}/0"]},
        }
    }


@pytest.mark.asyncio
async def test_the_echo_and_its_refusals_need_no_channel_layer(ws_origin):
    with override_settings(CHANNEL_LAYERS=_unreachable_redis_layer()):
        accepted, communicator = await handshake("/ws/echo/", ws_origin)
        assert accepted
        await communicator.send_to(text_data="still here")
        assert await communicator.receive_from(timeout=5) == "still here"
        await communicator.send_to(bytes_data=b"\x00\xff")
        assert await communicator.receive_from(timeout=5) == b"\x00\xff"
        await communicator.disconnect()
        for path, headers in [("/ws/nope/", ws_origin), ("/ws/echo/", HOST + [(b"origin", b"https://evil.example")])]:
            accepted, communicator = await handshake(path, headers)
            assert not accepted
            await communicator.wait()


# --- Through real servers: the status the client sees, and a clean log ------------


@pytest.fixture(params=["daphne", "uvicorn"])
def live(request):
    return request.getfixturevalue(f"{request.param}_server")


def ws_url(server, path: str) -> str:
    return server.url.replace("http://", "ws://") + path


@pytest.mark.live
@pytest.mark.parametrize("path", ["/ws/nope/", "/api/me"])
def test_a_live_upgrade_on_a_path_without_a_route_is_404_or_403_and_logs_no_traceback(live, path):
    before = len(live.log())
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(live, path), origin=live.url, open_timeout=10)
    # uvicorn can send the status (ASGI websocket.http.response); daphne answers 403 to a refusal.
    assert refused.value.response.status_code in (403, 404)
    if live.server == "uvicorn":
        assert refused.value.response.status_code == 404
    new_lines = live.log()[before:]
    assert "Traceback" not in new_lines and "No route found" not in new_lines, new_lines


@pytest.mark.live
def test_a_live_client_without_origin_gets_its_echo_and_a_foreign_one_is_refused(live):
    with connect(ws_url(live, "/ws/echo/"), open_timeout=10, close_timeout=5) as socket:
        assert "Origin" not in socket.request.headers
        socket.send("websocat-style")
        assert socket.recv(timeout=5) == "websocat-style"
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(live, "/ws/echo/"), origin="https://evil.example.net", open_timeout=10)
    assert refused.value.response.status_code == 403
