"""Rate limits and the access log in daphne processes started as the README starts them."""

import asyncio
import os
import re
import urllib.request

import httpx
import pytest

from project.testing import LiveServer, refusing_port

pytestmark = pytest.mark.live

LIMITED = "/ws-echo/"  # a page that needs no database; LiveServer's own start-up probes hit "/"


async def burst(urls: list[str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(urls), max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30)) as client:
        return await asyncio.wait_for(asyncio.gather(*(client.get(url) for url in urls)), timeout=60)


@pytest.mark.parametrize(
    "processes",
    [
        1,
        pytest.param(
            2,
            marks=pytest.mark.skipif(
                not os.environ.get("REDIS_URL"),
                reason="processes share a limit through Redis; the embedded cache is per process by design",
            ),
        ),
    ],
)
def test_200_concurrent_requests_against_a_limit_of_50_let_exactly_50_through(processes):
    env = {"RATE_LIMITS": f"{LIMITED}=50/3600"}
    with LiveServer(extra_env=env, processes=processes) as server:
        assert len(server.ports) == processes
        urls = [f"http://127.0.0.1:{server.ports[i % processes]}{LIMITED}" for i in range(200)]
        answers = asyncio.run(burst(urls))
        logs = [server.log(port) for port in server.ports]
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == 50, statuses
    assert statuses.count(429) == 150
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.headers["RateLimit-Limit"] == "50"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert int(refused.headers["Retry-After"]) > 0
    assert sorted(int(a.headers["RateLimit-Remaining"]) for a in answers if a.status_code == 200) == list(range(50))
    if processes == 2:
        # Both processes answered, and still only 50 in all.
        assert all(" GET /ws-echo/ " in log for log in logs)
    # One access-log line per request, with the client's port.
    lines = [
        line
        for log in logs
        for line in log.splitlines()
        if re.search(r"pan\.access 127\.0\.0\.1:\d+ GET /ws-echo/ (200|429) ", line)
    ]
    assert len(lines) == 200
    assert all(not re.search(r"127\.0\.0\.1:(0|-) GET", line) for line in lines)


def test_with_redis_unreachable_requests_are_still_served_and_the_status_says_so():
    closed = f"redis://127.0.0.1:{refusing_port()}/0"
    env = {"REDIS_URL": closed, "RATE_LIMITS": f"{LIMITED}=5/3600", "RATE_LIMIT_WARNING_INTERVAL": "3600"}
    with LiveServer(extra_env=env) as server:
        answers = [urllib.request.urlopen(f"{server.url}{LIMITED}", timeout=10) for _ in range(10)]  # noqa: S310
        assert [answer.status for answer in answers] == [200] * 10
        assert all(answer.headers["RateLimit-Limit"] is None for answer in answers)
        assert all(answer.headers["X-Process-Time"] for answer in answers)
        token = server.env["SERVER_STATUS_TOKEN"]
        status = httpx.get(f"{server.url}/server-status", params={"token": token}, timeout=20)
        log = server.log()
    assert status.status_code == 503
    body = status.json()
    assert body["database"] == "ok"
    assert body["cache"] != "ok"
    assert body["channel_layer"] != "ok"
    assert log.count("Rate limiting is off for now: the cache is unreachable") == 1
