"""CORS for configured origins, with the timing and rate-limit headers readable."""

import pytest
from django.test import Client, override_settings

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("cors_origin"),
]

ALLOWED = "https://app.example.com"
OTHER = "https://evil.example.net"


@pytest.fixture
def cors_origin():
    with override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED]):
        yield


def test_preflight_from_an_allowed_origin_allows_the_share_code_header():
    response = Client().options(
        "/api/login",
        HTTP_ORIGIN=ALLOWED,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, authorization, x-share-code",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    allowed_headers = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "authorization", "x-share-code", "x-share-password"} <= allowed_headers
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_preflight_from_another_origin_gets_no_permission():
    response = Client().options("/api/login", HTTP_ORIGIN=OTHER, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in response


@override_settings(RATE_LIMITS={"default": (5, 60)})
def test_an_allowed_origin_can_read_the_timing_and_rate_limit_headers():
    response = Client().get("/api/me", HTTP_ORIGIN=ALLOWED)
    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    expected = {"x-process-time", "server-timing", "retry-after", "ratelimit-limit", "ratelimit-remaining"}
    assert expected | {"ratelimit-reset", "ratelimit-policy", "ratelimit"} <= exposed
    for header in ("X-Process-Time", "Server-Timing", "RateLimit-Limit", "RateLimit"):
        assert header in response


@override_settings(RATE_LIMITS={"default": (1, 60)})
def test_a_429_reaches_the_browser_with_cors_headers():
    client = Client()
    client.get("/api/me", HTTP_ORIGIN=ALLOWED)
    refused = client.get("/api/me", HTTP_ORIGIN=ALLOWED)
    assert refused.status_code == 429
    assert refused["Access-Control-Allow-Origin"] == ALLOWED
    assert "retry-after" in refused["Access-Control-Expose-Headers"].lower()


def test_another_origin_gets_no_cors_headers_on_a_real_request():
    response = Client().get("/api/me", HTTP_ORIGIN=OTHER)
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Expose-Headers" not in response
