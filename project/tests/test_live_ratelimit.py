"""Rate limits and the access log in daphne processes started as the README starts them."""

import asyncio
import os
import re
import urllib.request

import httpx
import pytest

from conftest import PASSWORD
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


def a_share(server: LiveServer) -> dict:
    """A share made through the API by a new account (its page is the kept one for visitors without a session)."""
    server.register("limited", PASSWORD)
    login = httpx.post(f"{server.url}/api/login", json={"username": "limited", "password": PASSWORD}, timeout=30)
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access']}"}
    made = httpx.post(f"{server.url}/api/shares", files=[("file", ("secret-plan.txt", b"x" * 100))], headers=auth)
    assert made.status_code == 201, made.text
    return made.json()


async def burst_of(requests: list[tuple[str, str, dict | None]]) -> list[httpx.Response]:
    """(method, url, json) each on its own connection, all sent at once."""
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30)) as client:
        sends = (client.request(method, url, json=body) for method, url, body in requests)
        return await asyncio.wait_for(asyncio.gather(*sends), timeout=90)


def test_kept_pages_and_plain_creations_at_once_let_exactly_the_limit_through():
    """The answers made in front of Django that count against a rule (project/fast_path.py)
    count as Django would: 120 visits of a kept page and 120 plain creations, all at
    once, against limits of 30 each."""
    env = {"RATE_LIMITS": "/f/=31/3600,/api/short=30/3600"}
    with LiveServer(extra_env=env) as server:
        share = a_share(server)
        page = f"{server.url}/f/{share['id']}/"
        first = httpx.get(page, timeout=30)  # Django renders and keeps it: 1 of 31
        assert first.status_code == 200 and first.headers["RateLimit-Remaining"] == "30"
        requests = [("GET", page, None)] * 120
        requests += [("POST", f"{server.url}/api/short", {"url": f"https://example.com/{n}"}) for n in range(120)]
        answers = asyncio.run(burst_of(requests))
    pages, creations = answers[:120], answers[120:]
    for kind, group, allowed in (("page", pages, 200), ("creation", creations, 201)):
        statuses = [answer.status_code for answer in group]
        assert statuses.count(allowed) == 30, (kind, statuses)
        assert statuses.count(429) == 90, (kind, statuses)
        remaining = sorted(
            int(answer.headers["RateLimit-Remaining"]) for answer in group if answer.status_code == allowed
        )
        assert remaining == list(range(30)), kind
    assert all("secret-plan.txt" not in answer.text for answer in pages)  # the locked page, nothing before the code
    assert len({answer.json()["key"] for answer in creations if answer.status_code == 201}) == 30


def test_with_redis_unreachable_requests_are_still_served_and_the_status_says_so():
    closed = f"redis://127.0.0.1:{refusing_port()}/0"
    env = {"REDIS_URL": closed, "RATE_LIMITS": f"{LIMITED}=5/3600", "RATE_LIMIT_WARNING_INTERVAL": "3600"}
    with LiveServer(extra_env=env) as server:
        answers = [urllib.request.urlopen(f"{server.url}{LIMITED}", timeout=10) for _ in range(10)]  # noqa: S310
        assert [answer.status for answer in answers] == [200] * 10
        assert all(answer.headers["RateLimit-Limit"] is None for answer in answers)
        assert all(answer.headers["X-Process-Time"] for answer in answers)
        # What is answered in front of Django without Redis too: the share page
        # (nothing kept: Django renders it each time), a plain creation (made,
        # no limit to count), a redirect to the link made.
        share = a_share(server)
        pages = [httpx.get(f"{server.url}/f/{share['id']}/", timeout=20) for _ in range(3)]
        assert [page.status_code for page in pages] == [200] * 3
        assert all("secret-plan.txt" not in page.text for page in pages)
        created = httpx.post(f"{server.url}/api/short", json={"url": "https://example.com/no-redis"}, timeout=20)
        assert created.status_code == 201, created.text
        assert "RateLimit-Limit" not in created.headers
        visit = httpx.get(f"{server.url}/s/{created.json()['key']}", timeout=20)
        assert (visit.status_code, visit.headers["location"]) == (302, "https://example.com/no-redis")
        token = server.env["SERVER_STATUS_TOKEN"]
        status = httpx.get(f"{server.url}/server-status", params={"token": token}, timeout=20)
        log = server.log()
    assert status.status_code == 503
    body = status.json()
    assert body["database"] == "ok"
    assert body["cache"] != "ok"
    assert body["channel_layer"] != "ok"
    assert log.count("Rate limiting is off for now: the cache is unreachable") == 1
