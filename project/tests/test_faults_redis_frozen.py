"""Redis frozen: every request still answers at once, without limits or caches (SPEC §8, 3rd).

A frozen Redis accepts connections and never answers: a `FreezableProxy`
(project/testing.py) between a live server and Redis stops forwarding
while the server holds connections that were working a moment ago. The
short socket timeouts cost the first request that meets the outage one
timeout; the breaker then skips Redis for REDIS_BREAKER_SECONDS, so the
requests after it pay nothing (project/lib/redis_breaker.py). Before, each
Redis call waited 2 s with no back-off: a download took 16.3 s, a login
8.2 s, `/server-status` 5.2 s.

Both servers (uvicorn for production, daphne for `make run`). The test
brings its own Redis URL, through the proxy, so it runs in both CI passes;
it needs a Redis server at REDIS_URL's address (default 127.0.0.1:6379).
"""

import os
import time

import httpx
import pytest

from conftest import PASSWORD
from project.testing import FreezableProxy, LiveServer

pytestmark = pytest.mark.live

BOUND = 1.5  # seconds for any request while Redis is frozen
BREAKER_SECONDS = 1.0  # short, so the rounds below meet the breaker closing and opening again
PROBE_TIMEOUT = 3.0  # SERVER_STATUS_PROBE_TIMEOUT's default
STATUS_BOUND = PROBE_TIMEOUT + 0.5
PATIENCE = 30  # the test's own patience, to see what the server does past the bound


def _redis_address() -> tuple[int, str]:
    """The port of the Redis to freeze, and the database to use there (never 0: others' data)."""
    url = httpx.URL(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/1")
    database = url.path.strip("/") or "1"
    return url.port or 6379, database if database != "0" else "1"


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def frozen(request):
    """A live server reaching Redis through a proxy, with a share and a short link made (and cached)."""
    port, database = _redis_address()
    with FreezableProxy(port) as proxy:
        env = {
            "REDIS_URL": f"redis://127.0.0.1:{proxy.port}/{database}",
            "REDIS_BREAKER_SECONDS": str(BREAKER_SECONDS),
            "RATE_LIMIT_WARNING_INTERVAL": "3600",
        }
        with LiveServer(extra_env=env, server=request.param) as live:
            live.register("frozen-redis-admin", PASSWORD)
            with httpx.Client(base_url=live.url, timeout=PATIENCE) as client:
                login = client.post("/api/login", json={"username": "frozen-redis-admin", "password": PASSWORD})
                owner = {"Authorization": f"Bearer {login.json()['access']}"}
                share = client.post("/api/shares", files=[("file", ("a.txt", b"kept\n"))], headers=owner)
                assert share.status_code == 201, share.text
                short = client.post("/api/short", json={"url": "https://example.com/redis-frozen"}, headers=owner)
                assert short.status_code == 201, short.text
                key = short.json()["key"]
                assert client.get(f"/s/{key}").status_code == 302  # now in the cache
                # Redis really is there, so the freeze below is what the test measures.
                status = client.get("/server-status", params={"token": live.env["SERVER_STATUS_TOKEN"]})
                assert status.status_code == 200, status.text
                yield live, proxy, client, owner, share.json(), key


def test_every_request_answers_within_a_second_and_a_half_and_status_names_the_cache(frozen):
    live, proxy, client, owner, share, key = frozen
    content = f"/api/shares/{share['id']}/items/{share['items'][0]['id']}/content"
    login = {"username": "frozen-redis-admin", "password": PASSWORD}
    requests = {
        "login": ("POST", "/api/login", {"json": login}, 200),
        "upload": ("POST", "/api/shares", {"files": [("file", ("b.txt", b"while frozen\n"))], "headers": owner}, 201),
        "download": ("GET", content, {"headers": {"X-Share-Code": share["code"]}}, 200),
        "share page": ("GET", f"/f/{share['id']}/", {}, 200),
        "redirect": ("GET", f"/s/{key}", {}, 302),
        "pickup": ("POST", "/api/pickup", {"json": {"code": share["code"]}}, 200),
    }
    proxy.freeze()
    answers = []
    try:
        for round_ in range(3):  # consecutive requests: none may pay the outage again and again
            # Behaviour under test, not synchronisation: the breaker's interval
            # must pass before it lets one call try again (second round on).
            time.sleep(BREAKER_SECONDS * round_)
            for name, (method, path, kwargs, expected) in requests.items():
                started = time.monotonic()
                try:
                    status = client.request(method, path, **kwargs).status_code
                except httpx.TimeoutException:
                    status = "no answer"
                answers.append((round_, name, status, expected, round(time.monotonic() - started, 2)))
        token = live.env["SERVER_STATUS_TOKEN"]
        started = time.monotonic()
        status = client.get("/server-status", params={"token": token})
        status_seconds = time.monotonic() - started
    finally:
        proxy.thaw()
    slow_or_wrong = [answer for answer in answers if answer[2] != answer[3] or answer[4] > BOUND]
    assert not slow_or_wrong, answers
    assert status.status_code == 503, status.text
    body = status.json()
    assert body["cache"] != "ok" and body["database"] == "ok" and body["storage"] == "ok", body
    assert status_seconds < STATUS_BOUND, (status_seconds, body)
    log = live.log()
    assert "Traceback" not in log and " 500 " not in log, log
    assert log.count("Redis did not answer") == 1, log  # one warning per interval, however often it trips


def test_status_meeting_the_outage_first_answers_within_its_bound(frozen):
    live, proxy, client, _owner, _share, _key = frozen
    time.sleep(BREAKER_SECONDS)  # behaviour under test: the breaker's interval passes (a server's clock)
    # Redis works again (the breaker closes on its next answer); then it freezes under /server-status.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and client.get(f"/s/{_key}").status_code != 302:
        time.sleep(0.2)
    token = live.env["SERVER_STATUS_TOKEN"]
    assert client.get("/server-status", params={"token": token}).status_code == 200
    time.sleep(BREAKER_SECONDS)  # behaviour under test: the breaker's interval passes (a server's clock)
    proxy.freeze()
    try:
        started = time.monotonic()
        status = client.get("/server-status", params={"token": token})
        seconds = time.monotonic() - started
    finally:
        proxy.thaw()
    body = status.json()
    assert status.status_code == 503 and body["cache"] != "ok" and body["channel_layer"] != "ok", body
    assert body["database"] == body["storage"] == "ok", body
    assert seconds < PROBE_TIMEOUT + 0.3, (seconds, body)
