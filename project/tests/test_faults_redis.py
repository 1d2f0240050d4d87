"""With Redis unreachable every feature keeps working (SPEC §8).

One daphne server whose `REDIS_URL` points at a closed port: limits fail
open, caches are skipped, the echo needs no channel layer. Each answer comes
within a bound (a refused connection is immediate; nothing may wait for a
socket timeout per request), and the log says so once, not per request.
"""

import re
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from conftest import PASSWORD
from project.testing import LiveServer, refusing_port, wait_until

pytestmark = pytest.mark.live

BOUND = 5.0  # seconds: generous for a loaded CI machine, far below any Redis socket timeout chain
BOUNDARY = "----pan-faults-boundary-5e1d"
WARNING = "Rate limiting is off for now: the cache is unreachable"


@pytest.fixture(scope="module")
def server():
    env = {"REDIS_URL": f"redis://127.0.0.1:{refusing_port()}/0", "RATE_LIMIT_WARNING_INTERVAL": "3600"}
    with LiveServer(extra_env=env) as live:
        # The first account becomes the admin, who may upload.
        live.register("redis-down-admin", PASSWORD)
        yield live


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def timed(call, *args, **kwargs) -> httpx.Response:
    started = time.monotonic()
    response = call(*args, **kwargs)
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"{args[0]} took {elapsed:.1f}s"
    return response


def share_body(name: str, data: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def test_every_feature_works_without_redis_and_the_log_says_so_once(server, client):
    login = timed(client.post, "/api/login", json={"username": "redis-down-admin", "password": PASSWORD})
    assert login.status_code == 200, login.text
    owner = {"Authorization": f"Bearer {login.json()['access']}"}
    wrong = timed(client.post, "/api/login", json={"username": "redis-down-admin", "password": "wrong-Password-1"})
    assert wrong.status_code == 401, wrong.text

    data = b"stored while Redis is down\n" * 100
    headers = {**owner, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    created = timed(client.post, "/api/shares", content=share_body("down.txt", data), headers=headers)
    assert created.status_code == 201, created.text
    share = created.json()
    content = f"/api/shares/{share['id']}/items/{share['items'][0]['id']}/content"
    downloaded = timed(client.get, content, headers={"X-Share-Code": share["code"]})
    assert downloaded.status_code == 200 and downloaded.content == data
    refused = timed(client.get, content, headers={"X-Share-Code": "AAAAAAAA"})
    assert refused.status_code in (403, 404), refused.text
    page = timed(client.get, f"/f/{share['id']}/")
    assert page.status_code == 200

    short = timed(client.post, "/api/short", json={"url": "https://example.com/redis-down"}, headers=owner)
    assert short.status_code == 201, short.text
    key = short.json()["key"]
    for _visit in range(2):  # the first visit would fill the cache, the second read it
        redirect = timed(client.get, f"/s/{key}")
        assert redirect.status_code == 302 and redirect.headers["location"] == "https://example.com/redis-down"
    assert timed(client.get, "/s/NoSuchKey").status_code == 404
    assert timed(client.get, f"/short/{key}").status_code == 302

    server.manage("shell", "-c", "from pan.models import Post; Post.objects.create(title='Down', published=True)")
    assert timed(client.get, "/").status_code == 200
    post = timed(client.get, "/post/1/")
    assert post.status_code == 200 and "Down" in post.text

    url = server.url.replace("http://", "ws://") + "/ws/echo/"
    started = time.monotonic()
    with connect(url, origin=server.url, open_timeout=BOUND, close_timeout=2) as socket:
        socket.send("still here")
        assert socket.recv(timeout=BOUND) == "still here"
    assert time.monotonic() - started < BOUND

    log = server.log()
    assert " 500 " not in log and "Traceback" not in log, log
    assert log.count(WARNING) == 1, log
    assert len(re.findall(r"WARNING pan\.ratelimit", log)) == 1, log


def test_drop_offs_link_statistics_and_live_events_without_redis(server, client):
    login = timed(client.post, "/api/login", json={"username": "redis-down-admin", "password": PASSWORD})
    owner = {"Authorization": f"Bearer {login.json()['access']}"}
    made = timed(
        client.post, "/api/requests", json={"title": "down", "max_files": 5, "max_bytes": 10**6}, headers=owner
    )
    assert made.status_code == 201, made.text
    code = made.json()["code"].replace("-", "")
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    dropped = timed(
        client.post, f"/api/requests/{code}/drops", content=share_body("d.txt", b"dropped"), headers=headers
    )
    assert dropped.status_code == 201, dropped.text  # the drop limit fails open, the live event is skipped

    key = timed(client.post, "/api/short", json={"url": "https://example.com/stats-down"}, headers=owner).json()["key"]
    assert timed(client.get, f"/s/{key}", headers={"User-Agent": "curl/8.5.0"}).status_code == 302
    deadline = time.monotonic() + 10  # statistics are written every 2 s, without Redis too
    while time.monotonic() < deadline:
        stats = timed(client.get, f"/api/short/{key}/stats", headers=owner).json()
        if stats["visits"]:
            break
        time.sleep(0.5)
    assert stats["visits"] == 1 and stats["browsers"] == [{"name": "curl", "visits": 1}]

    # A signed-in page's live events: the socket is refused at once, the page is not.
    session = httpx.Client(base_url=server.url, timeout=30)
    session.get("/login/")
    session.post(
        "/login/",
        data={
            "username": "redis-down-admin",
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
    )
    assert timed(session.get, "/files/").status_code == 200
    url = server.url.replace("http://", "ws://") + "/ws/events/"
    started = time.monotonic()
    with pytest.raises(InvalidStatus):
        connect(
            url,
            origin=server.url,
            open_timeout=BOUND,
            additional_headers={"Cookie": f"sessionid={session.cookies['sessionid']}"},
        )
    assert time.monotonic() - started < BOUND
    wait_until(
        lambda: "live events: the channel layer is unreachable" in server.log(), timeout=10, message="the warning"
    )
    log = server.log()
    assert "Traceback" not in log, log
    assert "live events: the channel layer is unreachable" in log
