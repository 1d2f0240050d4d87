"""The redirect's fast path (shortener/asgi.py) through the real ASGI app.

It must answer exactly like the Django view would — same status, same
headers, same counting — and leave every other case to Django.
"""

import logging
from datetime import timedelta

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.core.asgi import get_asgi_application
from django.test import override_settings
from django.utils import timezone

from project.asgi import application
from shortener.asgi import ShortLinkFastPath
from shortener.models import ShortLink

# The ASGI app reads the database from its own thread: the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def asgi_get(path, method="GET", headers=None, app=application):
    async def fetch():
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50123))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.request(method, path, headers=headers or {})

    return async_to_sync(fetch)()


@pytest.fixture
def link():
    return ShortLink.objects.create(key="FastPth1", target_url="https://example.com/a?b=c")


COMPARED = [
    "location",
    "cache-control",
    "referrer-policy",
    "x-content-type-options",
    "cross-origin-opener-policy",
    "x-frame-options",
    "content-length",
]


def test_a_redirect_looks_the_same_with_and_without_the_fast_path(link):
    fast = asgi_get("/s/FastPth1")
    with override_settings(SHORT_LINK_FAST_PATH=False):
        slow = asgi_get("/s/FastPth1")
    assert fast.status_code == slow.status_code == 302
    for name in COMPARED:
        assert fast.headers.get(name) == slow.headers.get(name), name
    assert fast.headers["location"] == "https://example.com/a?b=c"
    for response in (fast, slow):
        assert float(response.headers["x-process-time"]) >= 0
        assert response.headers["server-timing"].startswith("app;dur=")
        assert not any(name.lower().startswith("ratelimit") for name in response.headers)
    link.refresh_from_db()
    assert link.visit_count == 2
    assert link.last_visit is not None


def test_both_paths_and_both_prefixes_count_each_get_once_and_head_never(link):
    for path in ("/s/FastPth1", "/short/FastPth1", "/s/FastPth1"):
        assert asgi_get(path).status_code == 302
    assert asgi_get("/s/FastPth1", method="HEAD").status_code == 302
    link.refresh_from_db()
    assert link.visit_count == 3


@pytest.mark.parametrize(
    "path,language,status,text",
    [
        ("/s/NoSuchK1", "en", 404, "no short link"),
        ("/s/NoSuchK1", "zh-CN", 404, "没有这个短链接"),
        ("/s/Expired1", "en", 410, "expired"),
    ],
)
def test_errors_are_answered_by_the_view_in_the_callers_language(path, language, status, text):
    ShortLink.objects.create(
        key="Expired1", target_url="https://example.com/", expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = asgi_get(path, headers={"Accept-Language": language, "Accept": "application/json"})
    assert response.status_code == status
    assert text in response.json()["error"]["message"].lower()


def test_a_used_up_link_answers_410_and_is_not_counted_past_its_limit():
    limited = ShortLink.objects.create(key="Limited1", target_url="https://example.com/", max_visits=2)
    statuses = [asgi_get("/s/Limited1").status_code for _ in range(4)]
    assert statuses == [302, 302, 410, 410]
    limited.refresh_from_db()
    assert limited.visit_count == 2


def test_a_host_outside_allowed_hosts_goes_to_django_and_gets_400(link):
    response = asgi_get("/s/FastPth1", headers={"Host": "evil.example"})
    assert response.status_code == 400
    link.refresh_from_db()
    assert link.visit_count == 0


def test_plain_http_is_sent_to_https_first_when_tls_is_required(link):
    with override_settings(SECURE_SSL_REDIRECT=True):
        # Django's middleware reads its settings when the app is built.
        app = ShortLinkFastPath(get_asgi_application())
        response = asgi_get("/s/FastPth1", app=app)
    assert response.status_code == 301
    assert response.headers["location"] == "https://127.0.0.1/s/FastPth1"
    link.refresh_from_db()
    assert link.visit_count == 0


def test_the_fast_path_writes_one_access_log_line(link, caplog):
    with caplog.at_level(logging.INFO, logger="pan.access"):
        asgi_get("/s/FastPth1?utm=secret")
    lines = [record for record in caplog.records if record.name == "pan.access"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.client_address, line.client_port, line.method, line.path, line.status) == (
        "203.0.113.7",
        50123,
        "GET",
        "/s/FastPth1",
        302,
    )
    assert "secret" not in line.getMessage()


def test_a_changed_target_is_never_served_stale(link):
    assert asgi_get("/s/FastPth1").headers["location"] == "https://example.com/a?b=c"
    from shortener import services

    services.short_link_update(link=link, url="https://example.org/new", request_host="127.0.0.1")
    assert asgi_get("/s/FastPth1").headers["location"] == "https://example.org/new"
