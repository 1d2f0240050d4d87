"""GET /server-status: the state of the database, cache, channel layer and storage, for the token holder only."""

import os
import re
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import AsyncClient, Client, override_settings

from project.lib.limit_store import limits_cache, redis_eviction_policy, redis_eviction_warning
from project.testing import refusing_port

pytestmark = pytest.mark.django_db(transaction=True)  # the probes run in other threads


def _normalised(page: bytes) -> str:
    """A page without what differs on every request (CSRF token) or by path (the language form's `next`)."""
    html = page.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    return re.sub(r'name="next" type="hidden" value="[^"]*"', "NEXT", html)


def _limits_state() -> str:
    """What the limits probe must say here: on Redis, the rule applied to the real policy."""
    if not os.environ.get("REDIS_URL"):
        return "ok"
    return redis_eviction_warning(redis_eviction_policy()) or "ok"


@pytest.mark.asyncio
async def test_the_right_token_gets_the_state_of_every_dependency():
    limits = await sync_to_async(_limits_state)()
    response = await AsyncClient().get("/server-status", {"token": settings.SERVER_STATUS_TOKEN})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok" if limits == "ok" else "degraded",
        "database": "ok",
        "cache": "ok",
        "limits": limits,
        "channel_layer": "ok",
        "storage": "ok",
        "tasks": "ok",
    }
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.asyncio
async def test_a_task_worker_not_seen_for_the_lease_makes_the_status_degraded():
    from datetime import timedelta

    from django.utils import timezone

    from jobs.models import TaskWorker

    seen = timezone.now() - timedelta(seconds=settings.PAN_TASK_WORKER_LEASE + 5)
    await TaskWorker.objects.acreate(worker_id="gone", host="h", pid=1, started_at=seen, seen_at=seen)
    response = await AsyncClient().get("/server-status", {"token": settings.SERVER_STATUS_TOKEN})
    body = response.json()
    assert response.status_code == 200 and body["tasks"].startswith("warning: no task worker seen"), body
    assert body["status"] == "degraded"
    await TaskWorker.objects.filter(worker_id="gone").aupdate(seen_at=timezone.now())
    body = (await AsyncClient().get("/server-status", {"token": settings.SERVER_STATUS_TOKEN})).json()
    assert body["tasks"] == "ok"


@pytest.mark.parametrize(
    "policy",
    ["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"],
)
def test_every_eviction_policy_but_noeviction_is_a_warning(policy):
    # volatile-* evict keys that have a TTL, and every limit window has one.
    warning = redis_eviction_warning(policy)
    assert warning.startswith("warning: ") and repr(policy) in warning and "noeviction" in warning
    assert redis_eviction_warning("noeviction") is None


@pytest.mark.asyncio
async def test_a_limit_store_that_can_lose_windows_makes_the_status_degraded(monkeypatch):
    from project import status

    if os.environ.get("REDIS_URL"):
        # CONFIG SET is server-wide and this Redis is shared: the policy is read
        # through the one function, which answers another policy here.
        monkeypatch.setattr(status, "redis_eviction_policy", lambda: "allkeys-lru")
        context = override_settings()
        expected = "warning: Redis maxmemory-policy is 'allkeys-lru'"
    else:
        small = {**settings.CACHES["limits"], "LOCATION": "pan-limits-status", "OPTIONS": {"MAX_ENTRIES": 3}}
        # No rate limit here: it would need a window in the full store, and be refused.
        context = override_settings(CACHES={**settings.CACHES, "limits": small}, RATE_LIMITS={})
        expected = "warning: the limit store is full (3 live windows)"
    with context:
        if not os.environ.get("REDIS_URL"):
            for n in range(3):
                await sync_to_async(limits_cache().set)(f"live-{n}", 1, 600)
        response = await AsyncClient().get("/server-status", {"token": settings.SERVER_STATUS_TOKEN})
        if not os.environ.get("REDIS_URL"):
            await sync_to_async(limits_cache().clear)()
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["limits"].startswith(expected), body
    assert body["database"] == body["cache"] == body["channel_layer"] == body["storage"] == "ok"


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
    return f"redis://127.0.0.1:{refusing_port()}/0"


@pytest.mark.asyncio
async def test_an_unreachable_cache_is_a_503_naming_the_failure():
    broken = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": _closed_redis_url(),
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
    cache = {"default": broken, "limits": {**broken, "KEY_PREFIX": "limits"}}
    with override_settings(CACHES=cache):
        response = await AsyncClient().get("/server-status", {"token": settings.SERVER_STATUS_TOKEN})
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == body["channel_layer"] == body["storage"] == "ok"
    assert body["cache"].startswith("ConnectionError")
    assert body["limits"].startswith("ConnectionError")


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
