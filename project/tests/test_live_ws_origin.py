"""Only this site's pages may open /ws/events/ with a signed-in browser's
cookie (attack run finding G8): `Origin` is compared as scheme + host +
port with the origin the handshake came to, or with a CSRF_TRUSTED_ORIGINS
entry exactly. A page on another port or scheme of the same host (the
attack: `http://127.0.0.1:9999`) is refused and reads nothing.

The scheme the handshake came in on is `wss`, or `X-Forwarded-Proto: https`
from a proxy in TRUSTED_PROXIES with BEHIND_TLS_PROXY (finding D13): from
any other peer the header changes nothing.

Against daphne and uvicorn started as the README starts them, with a real
WebSocket client (`websockets`)."""

import json
import secrets

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from project.testing import LiveServer

pytestmark = pytest.mark.live

PASSWORD = "Lantern-Field-71"
TRUSTED = "http://pan.example.test:8443"


def session_cookie(server: LiveServer, name: str) -> str:
    """The `Cookie` header of a signed-in browser session (sessionid and csrftoken)."""
    return server.session_cookie(name, PASSWORD)


def ws_url(server: LiveServer) -> str:
    return server.url.replace("http://", "ws://") + "/ws/events/"


def open_events(server: LiveServer, cookie: str, origin: str, **headers):
    return connect(
        ws_url(server),
        origin=origin,
        additional_headers={"Cookie": cookie, **headers},
        open_timeout=10,
        close_timeout=5,
    )


def refused(server: LiveServer, cookie: str, origin: str, **headers) -> int:
    with pytest.raises(InvalidStatus) as refusal:
        open_events(server, cookie, origin, **headers)
    return refusal.value.response.status_code


def drop_arrives(server: LiveServer, socket, code: str) -> dict:
    """Drop a file into the request; the event the socket receives."""
    answer = httpx.post(
        f"{server.url}/api/requests/{code}/drops", files={"file": ("a.txt", b"hello", "text/plain")}, timeout=10
    )
    assert answer.status_code == 201, answer.text
    return json.loads(socket.recv(timeout=10))


@pytest.fixture(params=["daphne", "uvicorn"])
def victim(request):
    """A server, a signed-in victim's cookie and one of their drop-off requests."""
    env = {
        "CSRF_TRUSTED_ORIGINS": TRUSTED,
        "BEHIND_TLS_PROXY": "true",
        # A proxy elsewhere: the test client (127.0.0.1) is not one.
        "TRUSTED_PROXIES": "10.9.9.9",
    }
    with LiveServer(extra_env=env, server=request.param) as server:
        name = f"victim-{secrets.token_hex(3)}"
        server.register(name, PASSWORD)
        token = httpx.post(f"{server.url}/api/login", json={"username": name, "password": PASSWORD}).json()["access"]
        made = httpx.post(
            f"{server.url}/api/requests", json={"title": "Scans"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert made.status_code == 201, made.text
        yield server, session_cookie(server, name), made.json()["code"].replace("-", "")


def test_a_page_on_another_port_or_scheme_of_the_same_host_cannot_read_the_events(victim):
    server, cookie, code = victim
    port = server.ports[0]
    assert refused(server, cookie, "http://127.0.0.1:9999") == 403  # only the port differs
    assert refused(server, cookie, f"https://127.0.0.1:{port}") == 403  # only the scheme differs
    assert refused(server, cookie, "http://127.0.0.1") == 403  # port 80, not the server's
    assert refused(server, cookie, "http://pan.example.test:8444") == 403  # a trusted origin's host, other port
    assert refused(server, cookie, "https://pan.example.test:8443") == 403  # ... other scheme
    # The site's own origin, and the trusted origin exactly: the events arrive.
    for origin in (f"http://127.0.0.1:{port}", TRUSTED):
        with open_events(server, cookie, origin) as socket:
            assert drop_arrives(server, socket, code)["type"] == "drop.received"


def test_x_forwarded_proto_from_a_peer_that_is_no_trusted_proxy_changes_nothing(victim):
    server, cookie, code = victim
    port = server.ports[0]
    https = {"X-Forwarded-Proto": "https"}
    assert refused(server, cookie, f"https://127.0.0.1:{port}", **https) == 403
    with open_events(server, cookie, f"http://127.0.0.1:{port}", **https) as socket:
        assert drop_arrives(server, socket, code)["type"] == "drop.received"


@pytest.mark.parametrize("server_kind", ["daphne", "uvicorn"])
def test_x_forwarded_proto_from_a_trusted_proxy_makes_the_site_https(server_kind):
    env = {"BEHIND_TLS_PROXY": "true", "TRUSTED_PROXIES": "127.0.0.1"}
    with LiveServer(extra_env=env, server=server_kind) as server:
        name = f"victim-{secrets.token_hex(3)}"
        server.register(name, PASSWORD)
        cookie = session_cookie(server, name)
        port = server.ports[0]
        https = {"X-Forwarded-Proto": "https"}
        # Behind the proxy the site is https://127.0.0.1:<port>; its http twin is another origin.
        assert refused(server, cookie, f"http://127.0.0.1:{port}", **https) == 403
        with open_events(server, cookie, f"https://127.0.0.1:{port}", **https):
            pass
