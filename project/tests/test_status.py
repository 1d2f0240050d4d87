"""GET /server-status: the state of the database, cache, channel layer and storage, for the token holder only."""

import re
import threading
import time

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
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "channel_layer": "ok", "storage": "ok"}
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


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
@pytest.mark.parametrize("query", ["", "?token=wrong", "?token={token}"])
def test_any_other_method_gets_exactly_what_an_unknown_path_gets(method, query):
    # As browsers and scripts send them: CSRF enforced, no token, no cookie
    # (a CSRF failure page, 403, would tell the path exists).
    client = Client(enforce_csrf_checks=True)
    hidden = getattr(client, method)("/server-status" + query.format(token=settings.SERVER_STATUS_TOKEN))
    unknown = getattr(client, method)("/no-such-page" + query.format(token=settings.SERVER_STATUS_TOKEN))
    assert hidden.status_code == unknown.status_code == 404
    assert hidden["Content-Type"] == unknown["Content-Type"]
    assert _normalised(hidden.content) == _normalised(unknown.content)
    assert set(hidden.headers) == set(unknown.headers)


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
    assert body["database"] == body["channel_layer"] == body["storage"] == "ok"
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
    assert body["database"] == body["cache"] == body["storage"] == "ok"
    assert body["channel_layer"] != "ok"
    assert "Error" in body["channel_layer"] or "timed out" in body["channel_layer"]


@pytest.mark.asyncio
async def test_a_probe_that_hangs_is_reported_and_the_answer_waits_no_longer_than_the_timeout(monkeypatch):
    from project import status

    released = threading.Event()
    monkeypatch.setattr(status, "_probe_storage", lambda: released.wait(30))
    try:
        with override_settings(SERVER_STATUS_PROBE_TIMEOUT=0.5):
            started = time.monotonic()
            response = await AsyncClient().get("/server-status", {"token": settings.SERVER_STATUS_TOKEN})
            seconds = time.monotonic() - started
    finally:
        released.set()
    assert response.status_code == 503
    body = response.json()
    assert body["storage"] == "timed out after 0.5s"
    assert body["database"] == body["cache"] == body["channel_layer"] == "ok"
    assert seconds < 1.5


@pytest.mark.asyncio
async def test_a_storage_that_cannot_store_is_a_503_naming_the_failure(tmp_path):
    not_a_directory = tmp_path / "media"
    not_a_directory.write_bytes(b"")  # (the tests may run as root, who ignores permissions)
    storages = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    with override_settings(STORAGES=storages, MEDIA_ROOT=str(not_a_directory)):
        response = await AsyncClient().get("/server-status", {"token": settings.SERVER_STATUS_TOKEN})
    assert response.status_code == 503
    body = response.json()
    assert re.match(r"\w+Error: ", body["storage"]), body
    assert body["database"] == body["cache"] == body["channel_layer"] == "ok"


def test_the_status_endpoint_is_not_in_the_api_schema():
    schema = Client().get("/api/schema/?format=json").json()
    assert not [path for path in schema["paths"] if "status" in path]
