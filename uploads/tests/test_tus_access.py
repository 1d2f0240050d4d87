"""Who may create which upload, and every limit checked and reserved at
creation, also for uploads created at the same moment (SPEC §4.4b)."""

import hashlib
import os
import threading
from pathlib import Path

import httpx
import pytest

from project.testing import LiveServer

from .conftest import TusSite, metadata

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
MiB = 1024 * 1024
QUOTA = 50_000_000


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    spool = tmp_path_factory.mktemp("spool")
    env = {
        "RATE_LIMIT_ENABLED": "false",
        "PAN_DROP_CLIENT_LIMIT": "1000",
        "PAN_DROP_NETWORK_LIMIT": "1000",
        "PAN_QUOTAS": f"uploaders={QUOTA}",
        "PAN_MAX_SHARE_ITEMS": "4",
        "TMPDIR": str(spool),
        "FILE_UPLOAD_TEMP_DIR": str(spool),
        "PAN_UPLOAD_LEASE_SECONDS": "3",
    }
    with LiveServer(server="uvicorn", extra_env=env) as server:
        tus = TusSite.open(server)
        tus.spool = spool
        yield tus


def _at_once(count: int, action) -> list:
    barrier = threading.Barrier(count)
    answers: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        answers[index] = action(index)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 201), ("manager", 404), ("other", 404), ("member", 403), (None, 401)]
)
def test_uploading_into_a_share_is_for_its_owner(site, who, status):
    share = site.new_share("owner")
    answer = site.create(5, who, metadata(filename="a.txt", share=share["id"]))
    assert answer.status_code == status, answer.text
    if status == 201:
        done = site.patch(answer.headers["Location"], 0, b"hello")
        assert done.headers["Pan-Share"] == share["id"]
        assert [item["name"] for item in site.share(share["id"])["items"]] == ["a.txt"]
    else:
        assert site.share(share["id"])["items"] == []


@pytest.mark.parametrize(("who", "status"), [("owner", 201), ("manager", 201), ("member", 403), (None, 401)])
def test_a_new_share_needs_the_upload_permission(site, who, status):
    answer = site.create(5, who, metadata(filename="a.txt"))
    assert answer.status_code == status, answer.text
    if who is not None and status == 201:
        done = site.patch(answer.headers["Location"], 0, b"hello")
        assert site.share(done.headers["Pan-Share"], who)["items"][0]["size"] == 5


def test_an_invalid_bearer_token_is_401(site):
    answer = httpx.post(
        f"{site.url}/api/uploads/",
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": "5", "Authorization": "Bearer nonsense"},
    )
    assert answer.status_code == 401


def test_a_share_no_longer_filling_takes_no_uploads(site):
    share = site.new_share("owner")
    created = site.created(5, meta=metadata(filename="a.txt", share=share["id"]))
    site.patch(created, 0, b"hello")
    done = httpx.patch(f"{site.url}/api/shares/{share['id']}", json={"complete": True}, headers=site.auth("owner"))
    assert done.status_code == 200, done.text
    assert site.create(5, meta=metadata(filename="b.txt", share=share["id"])).status_code == 409


def test_per_share_items_count_open_uploads(site):
    share = site.new_share("owner")
    for number in range(4):
        site.created(5, meta=metadata(filename=f"{number}.txt", share=share["id"]))
    answer = site.create(5, meta=metadata(filename="5.txt", share=share["id"]))
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_many_items"


def test_drops_need_the_password_and_an_open_request(site):
    request = site.new_request("owner", title="Homework", password="sesame", max_files=5)
    code = request["code"]
    assert site.create(5, None, metadata(filename="a.txt", request=code)).status_code == 401
    assert site.create(5, None, metadata(filename="a.txt", request=code, password="wrong")).status_code == 403
    assert site.create(5, None, metadata(filename="a.txt", request="ZZZZZZZZ")).status_code == 404
    answer = site.create(5, None, metadata(filename="essay.txt", request=code, password="sesame", name="Ann"))
    assert answer.status_code == 201, answer.text
    done = site.patch(answer.headers["Location"], 0, b"words")
    assert done.status_code == 204, done.text
    receipt = httpx.get(f"{site.url}{done.headers['Pan-Receipt']}")
    assert receipt.status_code == 200 and "essay.txt" in receipt.text
    detail = httpx.get(f"{site.url}/api/requests/{request['id']}", headers=site.auth("owner")).json()
    assert detail["received_files"] == 1 and detail["drops"][0]["name"] == "Ann"
    # The share is the requester's: a stranger learns nothing of it without its code.
    share_id = done.headers["Pan-Share"]
    assert site.share(share_id, "owner")["items"][0]["name"] == "essay.txt"
    assert "essay.txt" not in httpx.get(f"{site.url}/api/shares/{share_id}", headers=site.auth("other")).text
    closed = httpx.post(f"{site.url}/api/requests/{request['id']}/close", headers=site.auth("owner"))
    assert closed.status_code == 200
    assert site.create(5, None, metadata(filename="b.txt", request=code, password="sesame")).status_code == 410


def test_eight_uploads_at_once_into_room_for_three(site):
    request = site.new_request("owner", max_files=3, max_bytes=10 * MiB)
    answers = _at_once(8, lambda n: site.create(1000, None, metadata(filename=f"{n}.bin", request=request["code"])))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [201] * 3 + [409] * 5, codes
    for answer in answers:
        if answer.status_code == 201:
            assert site.patch(answer.headers["Location"], 0, os.urandom(1000)).status_code == 204
    detail = httpx.get(f"{site.url}/api/requests/{request['id']}", headers=site.auth("owner")).json()
    assert (detail["received_files"], len(detail["drops"])) == (3, 3)
    assert site.create(1, None, metadata(filename="late.bin", request=request["code"])).status_code == 409


def test_an_upload_beyond_the_bytes_a_request_has_left_is_413(site):
    request = site.new_request("owner", max_files=10, max_bytes=MiB)
    answer = site.create(MiB + 1, None, metadata(filename="big.bin", request=request["code"]))
    assert answer.status_code == 413


def test_six_uploads_at_once_never_pass_the_quota(site):
    size = 15_000_000  # three fit in the 50 MB quota, with what earlier tests stored
    stored_before = _owner_stored(site)
    answers = _at_once(6, lambda n: site.create(size, "other", metadata(filename=f"{n}.bin")))
    admitted = [answer for answer in answers if answer.status_code == 201]
    assert all(answer.status_code in (201, 413) for answer in answers)
    assert len(admitted) == (QUOTA - stored_before) // size
    for answer in admitted:
        assert site.patch(answer.headers["Location"], 0, bytes(size)).status_code == 204
    assert _owner_stored(site) <= QUOTA
    assert site.create(size, "other", metadata(filename="more.bin")).status_code == 413


def _owner_stored(site) -> int:
    shares = httpx.get(f"{site.url}/api/shares", headers=site.auth("other"), params={"page_size": 100}).json()
    results = shares["results"] if isinstance(shares, dict) else shares
    return sum(item["size"] for share in results for item in site.share(share["id"], "other")["items"])


def _disk_use(*roots: Path) -> int:
    return sum(path.stat().st_size for root in roots for path in root.rglob("*") if path.is_file())


def test_four_connections_at_once_never_store_more_than_the_request_allows(site):
    request = site.new_request("manager", max_files=10, max_bytes=100 * MiB)  # an admin: no quota
    before = _disk_use(site.media, site.spool)
    answers = _at_once(4, lambda n: site.create(40 * MiB, None, metadata(filename=f"{n}.bin", request=request["code"])))
    admitted = [answer.headers["Location"] for answer in answers if answer.status_code == 201]
    assert len(admitted) == 2
    data = os.urandom(40 * MiB)
    # Four connections at once, each announcing 100 MiB: refused before their bodies are read.
    refusals = _at_once(4, lambda n: site.patch(admitted[n % 2], 0, bytes(100 * MiB)))
    assert sorted(answer.status_code for answer in refusals) == [413] * 4
    assert _disk_use(site.media, site.spool) - before <= 100 * MiB
    done = _at_once(2, lambda n: site.patch(admitted[n], 0, data))
    assert [answer.status_code for answer in done] == [204, 204]
    assert _disk_use(site.media, site.spool) - before <= 100 * MiB
    detail = httpx.get(f"{site.url}/api/requests/{request['id']}", headers=site.auth("manager")).json()
    assert detail["received_bytes"] == 80 * MiB
    for drop in detail["drops"]:
        share = site.share(drop["share"], "manager")
        assert share["items"][0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_stalled_patch_loses_its_lease_and_writes_nothing_more(site):
    """A client that stops sending mid-body loses the upload to the next PATCH
    once its lease (3 s here) lapses; when it sends again it gets 423 and
    none of its bytes land in what the other PATCH wrote."""
    import socket
    import time
    from urllib.parse import urlsplit

    data = os.urandom(4 * MiB)
    location = site.created(len(data))
    parts = urlsplit(location)
    stalled = socket.create_connection((parts.hostname, parts.port), timeout=30)
    stalled.sendall(
        (
            f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n"
            "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode()
        + bytes(2 * MiB)  # zeros: they must not end up in the file
    )
    assert site.patch(location, 0, data[:MiB]).status_code == 423  # the stalled PATCH holds it
    deadline = time.monotonic() + 20
    while True:
        answer = site.patch(location, 0, data)
        if answer.status_code != 423 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert answer.status_code == 204, answer.text
    stalled.sendall(bytes(2 * MiB))
    stalled.settimeout(20)
    reply = stalled.recv(65536).decode("latin-1")
    stalled.close()
    assert reply.startswith(("HTTP/1.1 423", "HTTP/1.1 404")), reply[:100]
    share = site.share(answer.headers["Pan-Share"])
    assert share["items"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert site.content(share, share["items"][0]) == data


def test_a_session_that_unlocked_a_request_on_its_page_may_drop_without_the_password(site):
    request = site.new_request("owner", title="Locked", password="sesame")
    path = f"/r/{request['code'].replace('-', '')}/"
    with httpx.Client(base_url=site.url, follow_redirects=True) as browser:
        browser.get(path)
        token = browser.cookies["csrftoken"]
        unlocked = browser.post(path, data={"password": "sesame", "csrfmiddlewaretoken": token})
        assert unlocked.status_code == 200
        tus = {
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "3",
            "Upload-Metadata": metadata(filename="a.txt", request=request["code"]),
        }
        assert browser.post("/api/uploads/", headers=tus).status_code == 403  # a session needs its CSRF token
        answer = browser.post("/api/uploads/", headers={**tus, "X-CSRFToken": browser.cookies["csrftoken"]})
        assert answer.status_code == 201, answer.text
        assert site.patch(answer.headers["Location"], 0, b"abc").status_code == 204
    with httpx.Client(base_url=site.url) as stranger:
        stranger.get(path)
        answer = stranger.post("/api/uploads/", headers={**tus, "X-CSRFToken": stranger.cookies["csrftoken"]})
        assert answer.status_code == 401


@pytest.mark.parametrize("who", ["member", None])
def test_a_gigabyte_body_without_the_right_to_upload_is_refused_unread(site, who):
    """creation-with-upload carrying 1 GiB from an account without `upload`
    (or no account): 403/401 before a byte of the body is read or stored."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(site.url)
    before = _disk_use(site.media, site.spool)
    auth = f"Authorization: Bearer {site.tokens[who]}\r\n" if who else ""
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(
            (
                f"POST /api/uploads/ HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n{auth}"
                f"Upload-Length: {1024**3}\r\nUpload-Metadata: {metadata(filename='big.bin')}\r\n"
                f"Content-Type: application/offset+octet-stream\r\nContent-Length: {1024**3}\r\n\r\n"
            ).encode()
            + bytes(4 * MiB)
        )
        answer = sock.recv(65536).decode("latin-1")
        assert answer.startswith("HTTP/1.1 403" if who else "HTTP/1.1 401"), answer[:200]
        assert _disk_use(site.media, site.spool) == before
