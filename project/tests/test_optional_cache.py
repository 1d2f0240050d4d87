"""With the cache unreachable, caches are skipped and limits fail open, logged once
per interval (SPEC §8). In process, on both backends: an unreachable django-redis,
and a backend that raises django-redis's own ConnectionInterrupted, which is
neither an OSError nor a RedisError."""

import logging

import pytest
from asgiref.sync import async_to_sync
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client, override_settings
from django_redis.exceptions import ConnectionInterrupted
from rest_framework.test import APIClient

from conftest import PASSWORD
from pan.models import Post
from project.lib.attempts import Layer, attempts_locked_for, attempts_take
from project.lib.errors import TooManyRequests
from project.lib.optional_cache import optional_cache, warn_cache_unreachable
from project.testing import refusing_port
from shortener.models import ShortLink

pytestmark = pytest.mark.django_db


class InterruptedCache(LocMemCache):
    """Every call fails the way django-redis's client fails when used directly."""

    def _interrupted(self, *args, **kwargs):
        raise ConnectionInterrupted(connection=None)

    get = set = add = incr = decr = delete = delete_many = get_many = set_many = _interrupted


def unreachable_redis():
    broken = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{refusing_port()}/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
    return {"default": broken, "limits": {**broken, "KEY_PREFIX": "limits"}}


def interrupted():
    broken = {"BACKEND": "project.tests.test_optional_cache.InterruptedCache"}
    return {"default": broken, "limits": broken}


@pytest.fixture(params=["unreachable-redis", "connection-interrupted"])
def broken_cache(request, caplog):
    caplog.set_level(logging.WARNING, logger="pan.ratelimit")
    warn_cache_unreachable._last = float("-inf")  # a fresh interval for this test
    caches = unreachable_redis() if request.param == "unreachable-redis" else interrupted()
    with override_settings(CACHES=caches):
        yield
    warnings = [record for record in caplog.get_records("call") if record.name == "pan.ratelimit"]
    assert len(warnings) == 1, [record.getMessage() for record in warnings]
    assert "the cache is unreachable" in warnings[0].getMessage()


def test_reads_are_misses_and_writes_do_nothing(broken_cache):
    assert optional_cache.get("key") is None
    assert optional_cache.get("key", "fallback") == "fallback"
    optional_cache.set("key", "value", 60)
    optional_cache.delete("key")
    optional_cache.delete_many(["key", "other"])

    async def the_async_calls():
        assert await optional_cache.aget("key", "fallback") == "fallback"
        await optional_cache.aset("key", "value", 60)
        await optional_cache.adelete("key")

    async_to_sync(the_async_calls)()


def test_the_attempt_limiter_lets_attempts_through(broken_cache):
    layer = Layer(key="test:broken", limit=1, window=60, error=TooManyRequests)
    for _attempt in range(3):
        attempts_take([layer])
    assert attempts_locked_for(layer) == 0


def test_short_links_are_created_visited_and_changed_from_the_database(broken_cache, bob, api_as):
    owner = api_as(bob)
    created = owner.post("/api/short", {"url": "https://example.com/one"}, format="json")
    assert created.status_code == 201, created.content
    key = created.json()["key"]
    visitor = Client()
    assert visitor.get(f"/s/{key}")["Location"] == "https://example.com/one"
    assert owner.patch(f"/api/short/{key}", {"url": "https://example.com/two"}, format="json").status_code == 200
    assert visitor.get(f"/s/{key}")["Location"] == "https://example.com/two"
    assert visitor.get("/s/NoSuchKey").status_code == 404
    assert ShortLink.objects.get(key=key).visit_count == 2
    assert owner.delete(f"/api/short/{key}").status_code == 204
    assert visitor.get(f"/s/{key}").status_code == 404


def test_posts_are_built_from_the_database_and_edits_show_at_once(broken_cache):
    post = Post.objects.create(title="Before", body="text", published=True)
    assert "Before" in Client().get(f"/post/{post.pk}/").content.decode()
    post.title = "After"
    post.save()
    assert "After" in Client().get(f"/post/{post.pk}/").content.decode()


def test_login_and_the_rate_limiter_work(broken_cache, bob):
    client = APIClient()
    for _attempt in range(3):
        assert client.post("/api/login", {"username": "bob", "password": "wrong"}, format="json").status_code == 401
    response = client.post("/api/login", {"username": "bob", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert "RateLimit-Limit" not in response


def test_the_first_outage_is_logged_however_short_the_uptime(monkeypatch, settings, caplog):
    """A machine up for less than the interval still logs the first outage (it once did not)."""
    from project.lib import optional_cache

    settings.RATE_LIMIT_WARNING_INTERVAL = 3600
    monkeypatch.setattr(optional_cache.time, "monotonic", lambda: 5.0)
    warn = optional_cache.WarnOncePerInterval(logging.getLogger("pan.test"), "down (%s)")
    with caplog.at_level(logging.WARNING, logger="pan.test"):
        warn(ConnectionError("refused"))
        warn(ConnectionError("refused"))
    assert [record.getMessage() for record in caplog.records] == ["down (ConnectionError: refused)"]
