"""tus over S3: one multipart upload per tus upload, the tail shorter than a
part kept in a temporary object between PATCHes, nothing copied at the end,
nothing left behind by termination or expiry (SPEC §4.4b)."""

import hashlib
import os
import secrets

import pytest

from project.testing import LiveServer

from .conftest import TusSite, metadata, offset_when_free, raw_patch_then_vanish

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
MiB = 1024 * 1024


@pytest.fixture(scope="module", params=["seaweedfs", "moto"])
def s3_site(request):
    """A real object store (SeaweedFS) and moto's server, each behind its own Pan."""
    store = request.getfixturevalue({"moto": "s3_server", "seaweedfs": "seaweedfs"}[request.param])
    bucket = f"tus-{secrets.token_hex(4)}"
    store.create_bucket(bucket)
    env = {"RATE_LIMIT_ENABLED": "false", "PAN_UPLOAD_PART_SIZE": str(5 * MiB), **store.env(bucket)}
    with LiveServer(server="uvicorn", extra_env=env) as server:
        site = TusSite.open(server)
        site.bucket = bucket
        site.s3 = store.client()
        yield site


def _open_multiparts(site) -> list[str]:
    return [upload["Key"] for upload in site.s3.list_multipart_uploads(Bucket=site.bucket).get("Uploads", [])]


def _keys(site) -> set[str]:
    return {entry["Key"] for entry in site.s3.list_objects_v2(Bucket=site.bucket).get("Contents", [])}


def test_an_upload_is_one_multipart_upload_and_survives_a_vanished_client(s3_site):
    data = os.urandom(17 * MiB + 5)
    location = s3_site.created(len(data))
    assert len(_open_multiparts(s3_site)) == 1
    offset = 0
    for size in (3 * MiB, 3 * MiB):  # 6 MiB: one 5 MiB part, a 1 MiB tail in a temporary object
        assert s3_site.patch(location, offset, data[offset : offset + size]).status_code == 204
        offset += size
    assert any(key.endswith(".tail") for key in _keys(s3_site))
    raw_patch_then_vanish(location, offset, data[offset : offset + 4 * MiB], announced=9 * MiB)
    offset = offset_when_free(location, at_least=offset + 1)
    assert 6 * MiB < offset <= 10 * MiB
    answer = s3_site.patch(location, offset, data[offset:])
    assert answer.status_code == 204, answer.text
    share = s3_site.share(answer.headers["Pan-Share"])
    item = share["items"][0]
    assert item["sha256"] == hashlib.sha256(data).hexdigest()
    assert s3_site.content(share, item) == data
    assert _open_multiparts(s3_site) == []
    assert not any(key.endswith(".tail") for key in _keys(s3_site))


def test_an_upload_shorter_than_a_part_is_one_object(s3_site):
    data = os.urandom(MiB)
    location = s3_site.created(len(data))
    answer = s3_site.patch(location, 0, data[:1000])
    answer = s3_site.patch(location, 1000, data[1000:])
    share = s3_site.share(answer.headers["Pan-Share"])
    assert s3_site.content(share, share["items"][0]) == data
    assert _open_multiparts(s3_site) == []


def test_termination_and_expiry_abort_the_multipart_upload(s3_site):
    keys_before = _keys(s3_site)
    terminated = s3_site.created(20 * MiB)
    s3_site.patch(terminated, 0, os.urandom(6 * MiB))
    expired = s3_site.created(20 * MiB, meta=metadata(filename="old.bin"))
    s3_site.patch(expired, 0, os.urandom(7 * MiB))
    assert len(_open_multiparts(s3_site)) == 2
    import httpx

    assert httpx.delete(terminated, headers={"Tus-Resumable": "1.0.0"}).status_code == 204
    assert len(_open_multiparts(s3_site)) == 1
    s3_site.expire(expired)
    purge = s3_site.server.manage("purge_expired")
    assert "removed unfinished upload old.bin" in purge.stdout
    assert _open_multiparts(s3_site) == []
    assert _keys(s3_site) == keys_before  # no tail, no object


def test_a_lost_tail_object_is_sent_again(s3_site):
    data = os.urandom(7 * MiB)
    location = s3_site.created(len(data))
    assert s3_site.patch(location, 0, data[: 6 * MiB]).status_code == 204  # one 5 MiB part and a 1 MiB tail
    (tail,) = [key for key in _keys(s3_site) if key.endswith(".tail")]
    s3_site.s3.delete_object(Bucket=s3_site.bucket, Key=tail)
    answer = s3_site.patch(location, 6 * MiB, data[6 * MiB :])
    assert answer.status_code == 409
    assert answer.headers["Upload-Offset"] == str(5 * MiB)
    answer = s3_site.patch(location, 5 * MiB, data[5 * MiB :])
    assert answer.status_code == 204, answer.text
    share = s3_site.share(answer.headers["Pan-Share"])
    assert s3_site.content(share, share["items"][0]) == data


def test_curl_t_put_is_one_multipart_upload_and_a_vanished_one_leaves_nothing(s3_site):
    """`PUT /api/put/<name>` (docs/uploads.md, "curl -T") goes through the same S3 session as tus."""
    import httpx

    from project.testing import wait_until

    from .test_put import _chunked

    keys_before = _keys(s3_site)
    data = os.urandom(12 * MiB + 3)  # two 5 MiB parts and a last one
    answer = httpx.put(
        f"{s3_site.url}/api/put/s3.bin",
        content=data,
        headers={**s3_site.auth("owner"), "Accept": "application/json"},
        timeout=120,
    )
    assert answer.status_code == 201, answer.text
    share = answer.json()
    assert share["items"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert s3_site.content(share, share["items"][0]) == data
    assert _open_multiparts(s3_site) == []
    stored = _keys(s3_site)

    # A chunked PUT whose client goes after 7 MiB (a part sent, a tail buffered): nothing stays.
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(s3_site.url)
    head = (
        f"PUT /api/put/gone.bin HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: {s3_site.auth('owner')['Authorization']}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head.encode() + _chunked(os.urandom(7 * MiB))[: -len(b"0\r\n\r\n")])
        wait_until(lambda: len(_open_multiparts(s3_site)) == 1, timeout=30)  # under way, a part sent
        sock.shutdown(socket.SHUT_RDWR)
    wait_until(lambda: _open_multiparts(s3_site) == [] and _keys(s3_site) == stored, timeout=30)
    assert stored - keys_before  # the first PUT's object is there
