"""The redirect's fast path (project/fast_path.py) through the real ASGI app.

It must answer exactly like the Django view would — same status, every
header the same (bar an explicit list whose values are timings), same
counting — and leave every other case to Django.
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
from project.fast_path import FastPath
from shortener.models import ShortLink

# The ASGI app reads the database from its own thread: the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def asgi_get(path, method="GET", headers=None, app=application, base_url="http://127.0.0.1"):
    async def fetch():
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50123))
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            return await client.request(method, path, headers=headers or {})

    return async_to_sync(fetch)()


@pytest.fixture
def link():
    return ShortLink.objects.create(key="FastPth1", target_url="https://example.com/a?b=c")


# Headers whose values differ between any two answers by nature (the time
# each took, the clock): their presence is compared, not their values.
# Everything else must be the same, header for header.
VALUES_DIFFER = {"x-process-time", "server-timing", "date"}


def header_map(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in response.headers.multi_items():
        found.setdefault(name.lower(), []).append("…" if name.lower() in VALUES_DIFFER else value)
    return {name: sorted(values) for name, values in found.items()}


def recording(inner, calls: list):
    """The app behind the fast path, noting each request that reached it."""

    async def app(scope, receive, send):
        calls.append(scope["path"])
        return await inner(scope, receive, send)

    return app


HTTPS_SETTINGS = {
    "SECURE_HSTS_SECONDS": 3600,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
}


@pytest.mark.parametrize(
    "method,path,headers,base_url,extra_settings",
    [
        pytest.param("GET", "/s/FastPth1", {}, "http://127.0.0.1", {}, id="get"),
        pytest.param("HEAD", "/short/FastPth1", {}, "http://127.0.0.1", {}, id="head-short"),
        pytest.param("GET", "/s/FastPth1", {"Accept-Language": "zh-CN,zh;q=0.9"}, "http://127.0.0.1", {}, id="zh"),
        pytest.param("GET", "/s/FastPth1", {"Cookie": "django_language=zh-hans"}, "http://127.0.0.1", {}, id="cookie"),
        pytest.param("GET", "/s/FastPth1", {}, "https://127.0.0.1", HTTPS_SETTINGS, id="https-hsts"),
    ],
)
def test_a_redirect_carries_every_header_django_would_send(link, method, path, headers, base_url, extra_settings):
    with override_settings(**extra_settings):
        # Django's middleware reads its settings when the app is built.
        django_app = get_asgi_application()
        behind: list[str] = []
        app = FastPath(recording(django_app, behind))
        fast = asgi_get(path, method=method, headers=headers, app=app, base_url=base_url)
        assert behind == [], "the fast path declined: nothing compared"
        with override_settings(SHORT_LINK_FAST_PATH=False):
            slow = asgi_get(path, method=method, headers=headers, app=app, base_url=base_url)
        assert behind == [path]
    assert fast.status_code == slow.status_code == 302
    assert header_map(fast) == header_map(slow)
    assert fast.headers["location"] == "https://example.com/a?b=c"
    assert (fast.headers["vary"], fast.headers["content-language"]) == (
        "Accept-Language, origin",
        "en" if base_url.startswith("https") or not headers else "zh-hans",
    )
    if extra_settings:
        assert fast.headers["strict-transport-security"] == "max-age=3600; includeSubDomains; preload"
    for response in (fast, slow):
        assert float(response.headers["x-process-time"]) >= 0
        assert response.headers["server-timing"].startswith("app;dur=")
        assert not any(name.lower().startswith("ratelimit") for name in response.headers)
    link.refresh_from_db()
    assert link.visit_count == (2 if method == "GET" else 0)
    assert (link.last_visit is not None) == (method == "GET")


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
        app = FastPath(get_asgi_application())
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
