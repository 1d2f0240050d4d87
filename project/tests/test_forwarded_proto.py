"""`X-Forwarded-Proto` is believed only from TRUSTED_PROXIES (attack run
finding D13): with BEHIND_TLS_PROXY a client that reaches the server
directly over plain HTTP and claims `https` is still plain HTTP (the HTTPS
redirect, no HSTS), on Django's pages and on the short-link fast path
(project/fast_path.py); from the proxy it is HTTPS. BEHIND_TLS_PROXY without
TRUSTED_PROXIES refuses to start. The WebSocket origin check:
project/tests/test_live_ws_origin.py."""

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.core.asgi import get_asgi_application
from django.test import Client, override_settings

from project.fast_path import FastPath
from project.tests.test_settings import _start
from shortener.models import ShortLink

PROXY = "10.0.0.5"
STRANGER = "203.0.113.7"
BEHIND_PROXY = {
    "BEHIND_TLS_PROXY": True,
    "TRUSTED_PROXIES": ["10.0.0.0/24"],
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 3600,
}
HTTPS = {"HTTP_X_FORWARDED_PROTO": "https"}


@pytest.mark.django_db
@override_settings(**BEHIND_PROXY)
def test_a_page_from_a_peer_that_is_no_proxy_claiming_https_is_redirected_to_https():
    answer = Client(REMOTE_ADDR=STRANGER).get("/", **HTTPS)
    assert answer.status_code == 301
    assert answer["Location"] == "https://testserver/"


@pytest.mark.django_db
@override_settings(**BEHIND_PROXY)
def test_a_page_through_the_trusted_proxy_is_https():
    answer = Client(REMOTE_ADDR=PROXY).get("/", **HTTPS)
    assert answer.status_code == 200
    assert answer["Strict-Transport-Security"].startswith("max-age=3600")
    # Plain HTTP through the proxy is still sent to HTTPS.
    assert Client(REMOTE_ADDR=PROXY).get("/", HTTP_X_FORWARDED_PROTO="http").status_code == 301


@pytest.mark.django_db
@override_settings(**{**BEHIND_PROXY, "SECURE_SSL_REDIRECT": False})
def test_absolute_urls_follow_the_scheme_only_from_the_proxy():
    """A link made for the client (the short-link API's `short_url`) says https only through the proxy."""
    for peer, scheme in ((STRANGER, "http"), (PROXY, "https")):
        answer = Client(REMOTE_ADDR=peer).post(
            "/api/short", {"url": "https://example.com/x"}, content_type="application/json", **HTTPS
        )
        assert answer.status_code in (200, 201), answer.content
        assert answer.json()["short_url"].startswith(f"{scheme}://testserver"), answer.json()


def asgi_get(app, path: str, peer: str, headers: dict) -> httpx.Response:
    async def fetch():
        transport = httpx.ASGITransport(app=app, client=(peer, 50123))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.get(path, headers=headers)

    return async_to_sync(fetch)()


@pytest.mark.django_db(transaction=True)
def test_the_short_link_fast_path_believes_x_forwarded_proto_only_from_the_proxy():
    ShortLink.objects.create(key="ProtoFw1", target_url="https://example.com/a")
    with override_settings(**BEHIND_PROXY):
        app = FastPath(get_asgi_application())  # Django's middleware reads settings when built
        stranger = asgi_get(app, "/s/ProtoFw1", STRANGER, {"X-Forwarded-Proto": "https"})
        proxied = asgi_get(app, "/s/ProtoFw1", PROXY, {"X-Forwarded-Proto": "https"})
    assert stranger.status_code == 301
    assert stranger.headers["location"] == "https://127.0.0.1/s/ProtoFw1"
    assert proxied.status_code == 302
    assert proxied.headers["location"] == "https://example.com/a"
    assert proxied.headers["strict-transport-security"].startswith("max-age=3600")


def test_behind_tls_proxy_without_trusted_proxies_refuses_to_start():
    result = _start(BEHIND_TLS_PROXY="true", TRUSTED_PROXIES="")
    assert result.returncode != 0
    assert "BEHIND_TLS_PROXY is on but TRUSTED_PROXIES is empty" in result.stderr
    assert _start(BEHIND_TLS_PROXY="true", TRUSTED_PROXIES="10.0.0.5").returncode == 0
