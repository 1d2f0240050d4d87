"""The production command (`make serve`, project/serve.py) and Pan as several processes.

Two uvicorn processes, each started as `make serve` starts its workers, on
PostgreSQL, Redis and S3 (moto's server, then SeaweedFS): a share uploaded through one is
downloaded through the other, a resumable (tus) upload begun through one is
finished through the other, and a download limit holds across both. Then
`python -m project.serve --workers 2` itself: its metrics add up over its
workers. These need PostgreSQL and Redis, so they run in CI's second pass
(DATABASE_URL and REDIS_URL set) and are reported as skipped, with the
reason, on the embedded default, as the two-process rate-limit test is
(test_live_ratelimit.py). The refusal to start several processes without
Redis runs everywhere.

WebSocket: Pan has no cross-process WebSocket feature yet (the echo answers
on its own connection and uses no channel layer), so nothing can be sent
through one process and received through the other. What is checked is
what such a feature would stand on: both processes reach the same Redis
channel layer (`/server-status`), and the echo works through each.
"""

import asyncio
import hashlib
import os
import secrets
import subprocess
import sys
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from conftest import PASSWORD
from project.testing import BASE_DIR, LiveServer, refusing_port, wait_until

pytestmark = pytest.mark.live

on_postgres_and_redis = pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")),
    reason="several processes share state through PostgreSQL and Redis; the embedded default is one process by design",
)
TOKEN = "metrics-token-for-the-serve-test-0123456789"


def admin_token(base: str) -> dict:
    login = httpx.post(f"{base}/api/login", json={"username": "serve-admin", "password": PASSWORD}, timeout=10)
    return {"Authorization": f"Bearer {login.json()['access']}"}


def upload(base: str, auth: dict, name: str, data: bytes, **fields) -> dict:
    answer = httpx.post(f"{base}/api/shares", files=[("file", (name, data))], data=fields, headers=auth, timeout=60)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def download(url: str, code: str, user_agent: str) -> tuple[int, bytes]:
    async with httpx.AsyncClient(timeout=60) as client:
        answer = await client.get(url, headers={"X-Share-Code": code, "User-Agent": user_agent})
        return answer.status_code, answer.content


async def two_recipients(urls: list[str], code: str) -> list[tuple[int, bytes]]:
    return await asyncio.gather(*(download(url, code, f"recipient-{i}") for i, url in enumerate(urls)))


@on_postgres_and_redis
def test_two_processes_share_uploads_download_limits_and_the_channel_layer(object_store, mailbox):
    bucket = f"pan-serve-{secrets.token_hex(4)}"
    object_store.create_bucket(bucket)
    box, smtp_port = mailbox
    env = {**object_store.env(bucket), "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_port)}
    with LiveServer(extra_env=env, processes=2, server="uvicorn", task_workers=1) as server:
        one, other = (f"http://127.0.0.1:{port}" for port in server.ports)
        server.register("serve-admin", PASSWORD)
        auth = admin_token(one)

        # A drop-off through the other process: its receipt e-mail, sent once by the task worker.
        me = {"email": "serve-admin@example.com", "receipts_by_email": True}
        assert httpx.patch(f"{one}/api/me", json=me, headers=auth, timeout=10).status_code == 200
        request = httpx.post(f"{one}/api/requests", json={"title": "Papers"}, headers=auth, timeout=10).json()
        dropped = httpx.post(
            f"{other}/api/requests/{request['code'].replace('-', '')}/drops",
            files=[("file", ("papers.txt", b"signed"))],
            data={"name": "Mallory"},
            timeout=30,
        )
        assert dropped.status_code == 201, dropped.text

        def drop_receipts() -> int:
            return sum(b"Mallory" in message for message in box.accepted)

        wait_until(lambda: drop_receipts() == 1, timeout=30, message="the drop's receipt e-mail")

        # Uploaded through one process, downloaded byte for byte through the other.
        data = secrets.token_bytes(3 * 1024 * 1024 + 17)
        share = upload(one, auth, "across.bin", data)
        item = share["items"][0]["id"]
        status, body = asyncio.run(
            download(f"{other}/api/shares/{share['id']}/items/{item}/content", share["code"], "t")
        )
        assert status == 200
        assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest()

        # max_downloads=1: two recipients at once, one through each process; one gets the body.
        limited = upload(other, auth, "once.bin", data, max_downloads="1")
        path = f"/api/shares/{limited['id']}/items/{limited['items'][0]['id']}/content"
        answers = asyncio.run(two_recipients([one + path, other + path], limited["code"]))
        assert sorted(status for status, _body in answers) == [200, 410]
        assert [body for status, body in answers if status == 200] == [data]
        details = httpx.get(f"{one}/api/shares/{limited['id']}", headers=auth, timeout=10).json()
        assert details["download_count"] == 1

        # A resumable upload begun through one process, cut off, and resumed through the other.
        big = secrets.token_bytes(13 * 1024 * 1024 + 5)
        created = httpx.post(
            f"{one}/api/uploads/",
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Length": str(len(big)),
                "Upload-Metadata": "filename dHVzLmJpbg==",
                **auth,
            },
            timeout=30,
        )
        assert created.status_code == 201, created.text
        token = created.headers["Location"].rsplit("/", 1)[-1]
        tus = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}
        first = httpx.patch(
            f"{one}/api/uploads/{token}",
            content=big[: 6 * 1024 * 1024 + 3],
            headers={**tus, "Upload-Offset": "0"},
            timeout=60,
        )
        assert first.status_code == 204, first.text
        offset = int(httpx.head(f"{other}/api/uploads/{token}", headers=tus, timeout=10).headers["Upload-Offset"])
        assert offset == 6 * 1024 * 1024 + 3
        rest = httpx.patch(
            f"{other}/api/uploads/{token}",
            content=big[offset:],
            headers={**tus, "Upload-Offset": str(offset)},
            timeout=60,
        )
        assert rest.status_code == 204, rest.text
        done = httpx.get(f"{one}/api/shares/{rest.headers['Pan-Share']}", headers=auth, timeout=10).json()
        assert done["items"][0]["sha256"] == hashlib.sha256(big).hexdigest()

        # Still one receipt for the drop (the downloads above had theirs: the owner asked for receipts).
        assert drop_receipts() == 1

        # The channel layer both would use is one (Redis), and the echo answers through each.
        token = server.env["SERVER_STATUS_TOKEN"]
        for base in (one, other):
            state = httpx.get(f"{base}/server-status", params={"token": token}, timeout=20).json()
            assert state["channel_layer"] == "ok", state
            assert state["storage"] == "ok", state
            with connect(base.replace("http", "ws", 1) + "/ws/echo/", open_timeout=10) as ws:
                ws.send("across")
                assert ws.recv(timeout=10) == "across"


def scrape_count(base: str, route: str) -> float:
    text = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "pan_http_requests_total" and sample.labels["route"] == route
    )


@on_postgres_and_redis
def test_make_serve_with_two_workers_adds_up_their_metrics(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_99999.db").write_bytes(b"a previous run's file")
    with (
        LiveServer(extra_env={"METRICS_TOKEN": TOKEN}, processes=0) as server,
        server.production_command(workers=2, metrics_dir=metrics_dir) as base,
    ):
        assert not (metrics_dir / "counter_99999.db").exists()

        async def burst():
            limits = httpx.Limits(max_keepalive_connections=0)
            async with httpx.AsyncClient(limits=limits, timeout=30) as client:
                return await asyncio.gather(*(client.get(f"{base}/ws-echo/") for _ in range(60)))

        assert {answer.status_code for answer in asyncio.run(burst())} == {200}
        workers = {path.name for path in metrics_dir.glob("counter_*.db")}
        # Whichever worker answers the scrape counts every worker's requests.
        counts = {scrape_count(base, "/ws-echo/") for _ in range(8)}
    assert len(workers) >= 2, workers
    assert counts == {60.0}


def test_serve_refuses_several_processes_without_redis(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL")}
    env.update(
        {
            "ENV_FILE": "",
            "REDIS_URL": "",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "JWT_SIGNING_KEY": secrets.token_urlsafe(50),
            "SERVER_STATUS_TOKEN": secrets.token_urlsafe(32),
            "MEDIA_ROOT": str(tmp_path / "media"),
        }
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "project.serve", "--port", str(refusing_port()), "--workers", "2"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to start 2 processes without REDIS_URL" in result.stderr
    assert time.monotonic() - started < 30
    # One process needs no Redis (`make serve` checks first, before migrating).
    alone = subprocess.run(
        [sys.executable, "-m", "project.serve", "--workers", "1", "--check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (alone.returncode, alone.stderr) == (0, "")
