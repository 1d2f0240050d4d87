"""X-Process-Time, Server-Timing and the access log, on every kind of response."""

import logging
import re

import pytest
from django.test import AsyncClient, Client, override_settings
from django.urls import path

from project.urls import urlpatterns as project_urlpatterns


def explode(request):
    raise RuntimeError("boom")


async def aexplode(request):
    raise RuntimeError("async boom")


urlpatterns = [path("explode/", explode), path("aexplode/", aexplode), *project_urlpatterns]
handler404 = "project.views.page_not_found"
handler500 = "project.views.server_error"

pytestmark = [pytest.mark.django_db, pytest.mark.urls("project.tests.test_timing")]


class AsyncClientAt(AsyncClient):
    """An ASGI test client connecting from a given address and port."""

    def __init__(self, address: str, port: int, **defaults):
        super().__init__(**defaults)
        self.peer = [address, port]

    def _base_scope(self, **request):
        return {**super()._base_scope(**request), "client": self.peer}


SERVER_TIMING = re.compile(r"^app;dur=(\d+\.\d{3})$")


def assert_timed(response):
    seconds = float(response["X-Process-Time"])
    match = SERVER_TIMING.match(response["Server-Timing"])
    assert match, response["Server-Timing"]
    assert 0 <= seconds < 30
    # Both headers describe the same measurement, in seconds and in milliseconds.
    assert float(match.group(1)) == pytest.approx(seconds * 1000, abs=0.002)


@pytest.mark.parametrize(
    ("path", "status"),
    [("/", 200), ("/ws-echo/", 200), ("/nothing-here/", 404), ("/api/nothing", 404), ("/explode/", 500)],
)
def test_every_response_is_timed(path, status):
    response = Client(raise_request_exception=False).get(path)
    assert response.status_code == status
    assert_timed(response)


@pytest.mark.asyncio
@pytest.mark.parametrize(("path", "status"), [("/", 200), ("/nothing-here/", 404), ("/aexplode/", 500)])
async def test_every_response_is_timed_under_asgi(path, status):
    response = await AsyncClient(raise_request_exception=False).get(path)
    assert response.status_code == status
    assert_timed(response)


@override_settings(RATE_LIMITS={"default": (1, 60)})
def test_a_refused_request_is_timed_too():
    client = Client()
    client.get("/ws-echo/")
    response = client.get("/ws-echo/")
    assert response.status_code == 429
    assert_timed(response)


def test_a_crash_page_is_timed_and_keeps_its_body():
    response = Client(raise_request_exception=False).get("/explode/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert_timed(response)


@pytest.mark.asyncio
async def test_one_access_log_line_per_request_with_address_port_method_path_status_duration(caplog):
    caplog.set_level(logging.INFO, logger="pan.access")
    await AsyncClientAt("198.51.100.4", 43210).get("/ws-echo/?token=secret-in-query")
    await AsyncClientAt("198.51.100.4", 43211).post("/nothing-here/")
    await AsyncClientAt("198.51.100.4", 43212, raise_request_exception=False).get("/aexplode/")
    records = [r for r in caplog.records if r.name == "pan.access"]
    assert [(r.client_address, r.client_port, r.method, r.path, r.status) for r in records] == [
        ("198.51.100.4", 43210, "GET", "/ws-echo/", 200),
        ("198.51.100.4", 43211, "POST", "/nothing-here/", 404),
        ("198.51.100.4", 43212, "GET", "/aexplode/", 500),
    ]
    first = records[0].getMessage()
    assert re.fullmatch(r"198\.51\.100\.4:43210 GET /ws-echo/ 200 \d+\.\d{3}ms", first), first
    # Query strings carry share codes and tokens: they stay out of the log.
    assert all("secret" not in r.getMessage() for r in records)
    assert all(r.duration_ms >= 0 for r in records)


def test_the_access_log_names_the_client_behind_a_trusted_proxy(caplog):
    caplog.set_level(logging.INFO, logger="pan.access")
    with override_settings(TRUSTED_PROXIES=["10.0.0.1"]):
        Client().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
        Client().get("/", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.7")
    records = [r for r in caplog.records if r.name == "pan.access"]
    assert [r.client_address for r in records] == ["203.0.113.7", "198.51.100.9"]


@override_settings(ACCESS_LOG_ENABLED=False)
def test_the_access_log_can_be_switched_off(caplog):
    caplog.set_level(logging.INFO, logger="pan.access")
    response = Client().get("/")
    assert_timed(response)
    assert [r for r in caplog.records if r.name == "pan.access"] == []


@override_settings(TIMING_ENABLED=False)
def test_timing_can_be_switched_off():
    response = Client().get("/")
    assert "X-Process-Time" not in response
    assert "Server-Timing" not in response
