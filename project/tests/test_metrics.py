"""GET /metrics: who may scrape it, and what everyone else sees (SPEC §7).

The counts themselves are checked against a real server in
test_live_metrics.py (a fresh process, so the numbers are exact).
"""

import re

import pytest
from django.db.utils import OperationalError
from django.test import Client, override_settings
from prometheus_client import REGISTRY

TOKEN = "a-metrics-token-long-enough-for-anyone-0123"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_metrics_token")]


@pytest.fixture
def _metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []


def _normalised(page: bytes) -> str:
    """A page without what differs on every request (CSRF token) or by path (the language form's `next`)."""
    html = page.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    return re.sub(r'name="next" type="hidden" value="[^"]*"', "NEXT", html)


def _assert_like_an_unknown_path(hidden, unknown):
    assert hidden.status_code == unknown.status_code == 404
    assert hidden["Content-Type"] == unknown["Content-Type"]
    assert _normalised(hidden.content) == _normalised(unknown.content)
    assert set(hidden.headers) == set(unknown.headers)


def test_the_right_token_gets_the_series_in_prometheus_text_format():
    Client().get("/ws-echo/")  # at least one request by route
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-cache" in response["Cache-Control"]
    text = response.content.decode()
    for series in (
        "pan_http_requests_total",
        "pan_http_request_duration_seconds_bucket",
        "pan_uploads_total",
        "pan_upload_bytes_total",
        "pan_downloads_total",
        "pan_download_bytes_total",
        "pan_download_bytes_sendfile_total",
        "pan_downloads_completed_total",
        "pan_short_link_visits_total",
        "pan_cache_errors_total",
        "pan_database_errors_total",
    ):
        assert f"\n{series}" in text, series
    assert 'pan_http_requests_total{method="GET",route="/ws-echo/",status="200"}' in text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer wrong"},
        {"HTTP_AUTHORIZATION": "Bearer "},
        {"HTTP_AUTHORIZATION": f"Basic {TOKEN}"},
        {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}x"},
        {"HTTP_AUTHORIZATION": "Bearer " + "x" * 500},
    ],
)
def test_without_the_right_token_it_is_exactly_an_unknown_path(headers):
    _assert_like_an_unknown_path(Client().get("/metrics", **headers), Client().get("/no-such-page", **headers))


def test_the_token_in_the_query_string_is_not_enough():
    _assert_like_an_unknown_path(Client().get(f"/metrics?token={TOKEN}"), Client().get(f"/no-such-page?token={TOKEN}"))


def test_a_json_client_without_the_token_gets_the_json_404():
    hidden = Client().get("/metrics", HTTP_ACCEPT="application/json")
    assert hidden.status_code == 404
    assert hidden.json() == {"error": {"code": "not_found", "message": "Not found."}}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_any_other_method_even_with_the_token_is_exactly_an_unknown_path(method):
    client = Client(enforce_csrf_checks=True)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    _assert_like_an_unknown_path(getattr(client, method)("/metrics", **auth), getattr(client, method)("/x", **auth))


def test_no_token_configured_means_no_bearer_gets_in(settings):
    settings.METRICS_TOKEN = ""
    _assert_like_an_unknown_path(
        Client().get("/metrics", HTTP_AUTHORIZATION="Bearer "),
        Client().get("/no-such-page", HTTP_AUTHORIZATION="Bearer "),
    )


@pytest.mark.parametrize(
    ("networks", "address", "allowed"),
    [
        (["127.0.0.0/8"], "127.0.0.1", True),
        (["10.1.2.3"], "10.1.2.3", True),
        (["2001:db8::/32"], "2001:db8::5", True),
        (["10.0.0.0/8"], "::ffff:10.0.0.9", True),
        (["10.0.0.0/8"], "192.168.1.1", False),
        ([], "127.0.0.1", False),
    ],
)
def test_a_client_in_an_allowed_network_needs_no_token(settings, networks, address, allowed):
    settings.METRICS_ALLOWED_NETWORKS = networks
    response = Client(REMOTE_ADDR=address).get("/metrics")
    assert response.status_code == (200 if allowed else 404)


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    forged = Client(REMOTE_ADDR="203.0.113.7").get("/metrics", HTTP_X_FORWARDED_FOR="10.0.0.1")
    assert forged.status_code == 404
    with override_settings(TRUSTED_PROXIES=["203.0.113.7"]):
        proxied = Client(REMOTE_ADDR="203.0.113.7").get("/metrics", HTTP_X_FORWARDED_FOR="10.0.0.1")
    assert proxied.status_code == 200


def test_the_metrics_endpoint_is_not_in_the_api_schema():
    schema = Client().get("/api/schema/?format=json").json()
    assert not [path for path in schema["paths"] if "metrics" in path]


def test_a_database_outage_is_counted_once_per_503(monkeypatch, alice, api_as):
    def unreachable(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("pan.selectors.share_get_visible", unreachable)
    before = REGISTRY.get_sample_value("pan_database_errors_total")
    answer = api_as(alice).get("/api/shares/AAAAAAAAAAAAAAAAAAAAAA")
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "database_unavailable"
    assert REGISTRY.get_sample_value("pan_database_errors_total") == before + 1
