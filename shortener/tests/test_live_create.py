"""Concurrent identical creations against a real server (its own database and cache):
"the same URL from the same owner returns the same link" holds when they race."""

import asyncio
import secrets

import httpx
import pytest

from conftest import PASSWORD
from project.testing import LiveServer

pytestmark = pytest.mark.live

BURST = 30


@pytest.fixture(scope="module")
def server():
    # Rate limits off: a burst from one address is the point here, not a flood.
    with LiveServer(extra_env={"RATE_LIMIT_ENABLED": "false"}) as live:
        yield live


def burst_create(base_url: str, url: str, headers: dict) -> list[httpx.Response]:
    """`BURST` identical POST /api/short at once (bounded: one pool, 60 s)."""

    async def run():
        limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
        async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits, headers=headers) as client:
            posts = (client.post("/api/short", json={"url": url}) for _ in range(BURST))
            return await asyncio.wait_for(asyncio.gather(*posts), 60)

    return asyncio.run(run())


@pytest.mark.parametrize("who", ["owner", "anonymous"])
def test_simultaneous_identical_creations_make_one_link(server, who):
    headers = {}
    if who == "owner":
        name = f"short-{secrets.token_hex(4)}"
        server.register(name, PASSWORD)
        with httpx.Client(base_url=server.url, timeout=20) as client:
            token = client.post("/api/login", json={"username": name, "password": PASSWORD}).json()["access"]
        headers = {"Authorization": f"Bearer {token}"}
    url = f"https://example.com/race/{secrets.token_hex(4)}"
    answers = burst_create(server.url, url, headers)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * (BURST - 1) + [201], statuses
    assert len({answer.json()["key"] for answer in answers}) == 1
    if who == "owner":
        with httpx.Client(base_url=server.url, timeout=20, headers=headers) as client:
            mine = client.get("/api/short").json()
        assert [row["url"] for row in mine["results"]] == [url]
