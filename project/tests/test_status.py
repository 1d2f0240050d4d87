"""GET /server-status: the state of the database, cache and channel layer, for the token holder only."""

import re

import pytest
from django.conf import settings
from django.test import AsyncClient, Client, override_settings

from project.testing import free_port

pytestmark = pytest.mark.django_db(transaction=True)  # the probes run in other threads


def _normalised(page: bytes) -> str:
    """A page without what differs on every request (CSRF token) or by path (the language form's `next`)."""
    html = page.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    return re.sub(r'name="next" type="hidden" value="[^"]*"', "NEXT", html)


@pytest.mark.asyncio
async def test_the_right_token_gets_the_state_of_every_dependency():
    response = await AsyncClient().get("/server-status", {"token": settings.SERVER_STATUS_TOKEN})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "channel_layer": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("query", ["", "?token=", "?token=wrong", f"?token={'x' * 500}", "?Token=whatever"])
def test_no_or_a_wrong_token_gets_the_same_404_as_an_unknown_path(query):
    hidden = Client().get(f"/server-status{query}")
    unknown = Client().get("/no-such-page")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden["Content-Type"] == unknown["Content-Type"]
    assert _normalised(hidden.content) == _normalised(unknown.content)
    assert set(hidden.headers) == set(unknown.headers)
    assert "application/json" not in hidden["Content-Type"]


def test_a_json_client_without_the_token_gets_the_json_404():
    hidden = Client().get("/server-status?token=wrong", HTTP_ACCEPT="application/json")
    unknown = Client().get("/no-such-page", HTTP_ACCEPT="application/json")
    assert hidden.status_code == 404
    assert hidden.json() == unknown.json() == {"error": {"code": "not_found", "message": "Not found."}}


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_other_methods_are_404_even_with_the_token(method):
    response = getattr(Client(), method)(f"/server-status?token={settings.SERVER_STATUS_TOKEN}")
    assert response.status_code == 404


def _closed_redis_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.mark.asyncio
async def test_an_unreachable_cache_is_a_503_naming_the_failure():
    cache = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": _closed_redis_url(),
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    with override_settings(CACHES=cache):
        response = await AsyncClient().get("/server-status", {"token": settings.SERVER_STATUS_TOKEN})
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == "ok"
    assert body["channel_layer"] == "ok"
    assert body["cache"].startswith("ConnectionError")


@pytest.mark.asyncio
async def test_an_unreachable_channel_layer_is_a_503_naming_the_failure():
    layers = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [_closed_redis_url()]}}
    }
    with override_settings(CHANNEL_LAYERS=layers, SERVER_STATUS_PROBE_TIMEOUT=2.0):
        response = await AsyncClient().get("/server-status", {"token": settings.SERVER_STATUS_TOKEN})
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == body["cache"] == "ok"
    assert body["channel_layer"] != "ok"
    assert "Error" in body["channel_layer"] or "timed out" in body["channel_layer"]


def test_the_status_endpoint_is_not_in_the_api_schema():
    schema = Client().get("/api/schema/?format=json").json()
    assert not [path for path in schema["paths"] if "status" in path]
