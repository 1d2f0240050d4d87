"""The app under uvicorn, the documented alternative to daphne (make run SERVER=uvicorn).

The WebSocket echo is tested under both servers in test_live_ws.py; here the
redirect fast path and a file round trip, which lean on the ASGI layer.
"""

import hashlib
import secrets

import httpx
import pytest

pytestmark = pytest.mark.live

PASSWORD = "Uvicorn-Field-71"


def test_a_short_link_redirects_and_counts_under_uvicorn(uvicorn_server):
    with httpx.Client(base_url=uvicorn_server.url, timeout=10) as client:
        key = client.post("/api/short", json={"url": "https://example.com/uvicorn"}).json()["key"]
        redirect = client.get(f"/s/{key}")
        assert redirect.status_code == 302
        assert redirect.headers["location"] == "https://example.com/uvicorn"
        assert redirect.headers["server-timing"].startswith("app;dur=")


def test_a_file_round_trips_byte_for_byte_under_uvicorn(uvicorn_server):
    name = f"uv-{secrets.token_hex(3)}"
    uvicorn_server.register(name, PASSWORD)
    uvicorn_server.manage("grant_role", name, "admin")
    payload = secrets.token_bytes(3 * 1024 * 1024 + 7)
    with httpx.Client(base_url=uvicorn_server.url, timeout=30) as client:
        tokens = client.post("/api/login", json={"username": name, "password": PASSWORD}).json()
        auth = {"Authorization": f"Bearer {tokens['access']}"}
        created = client.post("/api/files", files={"file": ("数据.bin", payload)}, headers=auth)
        assert created.status_code == 201, created.text
        shared = created.json()
        assert shared["sha256"] == hashlib.sha256(payload).hexdigest()
        content = client.get(
            f"/api/files/{shared['unique_name']}/content", headers={"X-Share-Code": shared["share_code"]}
        )
        assert content.status_code == 200
        assert content.content == payload
        tail = client.get(
            f"/api/files/{shared['unique_name']}/content",
            headers={"X-Share-Code": shared["share_code"], "Range": "bytes=-7"},
        )
        assert tail.status_code == 206 and tail.content == payload[-7:]
