"""Concurrent visits against a real daphne server (its own database and cache)."""

import asyncio
import secrets

import httpx
import pytest

from conftest import PASSWORD

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def owner_api(daphne_server):
    """An httpx client signed in as a fresh user of the live server."""
    name = f"short-{secrets.token_hex(4)}"
    daphne_server.register(name, PASSWORD)
    with httpx.Client(base_url=daphne_server.url, timeout=20) as client:
        token = client.post("/api/login", json={"username": name, "password": PASSWORD}).json()["access"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def burst(base_url: str, path: str, count: int) -> list[int]:
    """`count` GETs of `path` at once (bounded: one pool of 50 connections, 60 s)."""

    async def run():
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
        async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
            responses = await asyncio.wait_for(asyncio.gather(*(client.get(path) for _ in range(count))), 60)
        return [response.status_code for response in responses]

    return asyncio.run(run())


def test_200_concurrent_visits_are_all_redirected_and_counted_exactly(daphne_server, owner_api):
    created = owner_api.post("/api/short", json={"url": "https://example.com/busy"})
    assert created.status_code == 201
    key = created.json()["key"]
    statuses = burst(daphne_server.url, f"/s/{key}", 200)
    assert statuses == [302] * 200
    assert owner_api.get(f"/api/short/{key}").json()["visits"] == 200


def test_the_visit_limit_holds_under_concurrency(daphne_server, owner_api):
    key = owner_api.post("/api/short", json={"url": "https://example.com/scarce", "max_visits": 50}).json()["key"]
    statuses = burst(daphne_server.url, f"/short/{key}", 120)
    assert statuses.count(302) == 50
    assert statuses.count(410) == 70
    assert owner_api.get(f"/api/short/{key}").json()["visits"] == 50


def test_a_change_is_seen_by_the_live_server_at_once(daphne_server, owner_api):
    key = owner_api.post("/api/short", json={"url": "https://example.com/v1"}).json()["key"]
    with httpx.Client(base_url=daphne_server.url, timeout=20) as visitor:
        assert visitor.get(f"/s/{key}").headers["location"] == "https://example.com/v1"
        assert owner_api.patch(f"/api/short/{key}", json={"url": "https://example.com/v2"}).status_code == 200
        assert visitor.get(f"/s/{key}").headers["location"] == "https://example.com/v2"
        assert owner_api.delete(f"/api/short/{key}").status_code == 204
        assert visitor.get(f"/s/{key}", headers={"Accept": "application/json"}).status_code == 404
