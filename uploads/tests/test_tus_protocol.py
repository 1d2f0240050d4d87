"""tus 1.0.0 at /api/uploads/ against a live server (uvicorn), local storage:
the protocol, its bad input, and who may create what (SPEC §4.4b)."""

import base64
import hashlib
import os

import httpx
import pytest

from .conftest import TusSite, metadata, offset_when_free, raw_patch_then_vanish

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
MiB = 1024 * 1024


def _stored_files(site: TusSite) -> list:
    return sorted(path for path in (site.media / "uploads").glob("*") if path.is_file())


def test_options_advertises_the_protocol(tus_site):
    answer = httpx.options(f"{tus_site.url}/api/uploads/")
    assert answer.status_code == 204
    assert answer.headers["Tus-Version"] == "1.0.0"
    assert set(answer.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "expiration",
        "checksum",
    }
    assert int(answer.headers["Tus-Max-Size"]) > 0
    assert set(answer.headers["Tus-Checksum-Algorithm"].split(",")) == {"sha256", "sha1", "md5"}


@pytest.mark.parametrize("version", [None, "0.2.2", "1.0"])
def test_wrong_or_missing_tus_resumable_is_412(tus_site, version):
    headers = {"Upload-Length": "10", **tus_site.auth("owner")}
    if version:
        headers["Tus-Resumable"] = version
    answer = httpx.post(f"{tus_site.url}/api/uploads/", headers=headers)
    assert answer.status_code == 412
    assert answer.headers["Tus-Version"] == "1.0.0"
    location = tus_site.created(5)
    answer = httpx.head(location, headers={} if version is None else {"Tus-Resumable": version})
    assert answer.status_code == 412


def test_a_method_the_url_never_answers_is_405_before_the_version_check(tus_site):
    # Found by schemathesis (project/tests/test_schema_conformance.py): a PUT
    # without Tus-Resumable was told 412, as if another version could PUT.
    location = tus_site.created(5)
    for method, url, allowed in [
        ("PUT", f"{tus_site.url}/api/uploads/", "OPTIONS, POST"),
        ("GET", f"{tus_site.url}/api/uploads/", "OPTIONS, POST"),
        ("PATCH", f"{tus_site.url}/api/uploads/", "OPTIONS, POST"),
        ("POST", location, "OPTIONS, HEAD, PATCH, DELETE, GET"),
        ("PUT", location, "OPTIONS, HEAD, PATCH, DELETE, GET"),
    ]:
        answer = httpx.request(method, url)
        assert answer.status_code == 405, (method, url)
        assert answer.headers["Allow"] == allowed
    assert tus_site.offset(location) == 0  # the upload is untouched


def test_upload_in_chunks_becomes_a_share_with_its_digest(tus_site):
    data = os.urandom(3 * MiB + 17)
    location = tus_site.created(len(data), meta=metadata(filename="photo.jpg", filetype="image/jpeg"))
    assert len(location.rsplit("/", 1)[-1]) >= 32  # 192 random bits, URL-safe base64
    offset = 0
    for size in (MiB, 2 * MiB, 17):
        answer = tus_site.patch(location, offset, data[offset : offset + size])
        assert answer.status_code == 204, answer.text
        offset += size
        assert int(answer.headers["Upload-Offset"]) == offset
        assert tus_site.offset(location) == offset
    share = tus_site.share(answer.headers["Pan-Share"])
    assert [(item["name"], item["size"], item["sha256"], item["content_type"]) for item in share["items"]] == [
        ("photo.jpg", len(data), hashlib.sha256(data).hexdigest(), "image/jpeg")
    ]
    assert tus_site.content(share, share["items"][0]) == data


def test_creation_with_upload_and_deferred_length(tus_site):
    data = os.urandom(300_000)
    headers = {"Content-Type": "application/offset+octet-stream"}
    answer = httpx.post(
        f"{tus_site.url}/api/uploads/",
        content=data[:100_000],
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Defer-Length": "1",
            "Upload-Metadata": metadata(filename="later.bin"),
            **headers,
            **tus_site.auth("owner"),
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["Upload-Offset"] == "100000"
    location = answer.headers["Location"]
    assert tus_site.head(location).headers["Upload-Defer-Length"] == "1"
    answer = tus_site.patch(location, 100_000, data[100_000:], **{"Upload-Length": str(len(data))})
    assert answer.status_code == 204, answer.text
    share = tus_site.share(answer.headers["Pan-Share"])
    assert share["items"][0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_empty_upload_completes_at_creation(tus_site):
    answer = tus_site.create(0, meta=metadata(filename="empty.txt"))
    assert answer.status_code == 201
    assert answer.headers["Upload-Offset"] == "0"
    share = tus_site.share(answer.headers["Pan-Share"])
    assert share["items"][0]["size"] == 0
    assert share["items"][0]["sha256"] == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Upload-Length": "-1"}, 400),
        ({"Upload-Length": "ten"}, 400),
        ({"Upload-Length": "1e3"}, 400),
        ({}, 400),
        ({"Upload-Length": "10", "Upload-Defer-Length": "1"}, 400),
        ({"Upload-Defer-Length": "2"}, 400),
        ({"Upload-Length": str(10**15)}, 413),
        ({"Upload-Length": "10", "Upload-Metadata": "filename !!notbase64"}, 400),
        ({"Upload-Length": "10", "Upload-Metadata": "colour cmVk"}, 400),
        ({"Upload-Length": "10", "Upload-Metadata": metadata(filename="../../etc/passwd")}, 400),
        ({"Upload-Length": "10", "Upload-Metadata": metadata(filename="a\x00b")}, 400),
        ({"Upload-Length": "10", "Upload-Metadata": metadata(filename="evil\u202etxt.exe")}, 400),
        ({"Upload-Length": "10", "Upload-Metadata": metadata(share="x", request="y")}, 400),
    ],
)
def test_bad_creation_is_refused_and_keeps_nothing(tus_site, headers, status):
    before = _stored_files(tus_site)
    answer = httpx.post(
        f"{tus_site.url}/api/uploads/",
        headers={"Tus-Resumable": "1.0.0", "Accept-Language": "zh-hans", **tus_site.auth("owner"), **headers},
    )
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"] and not error["message"].isascii()  # in the caller's language
    assert _stored_files(tus_site) == before


def test_metadata_names_are_kept_as_display_paths(tus_site):
    location = tus_site.created(3, meta=metadata(filename="ignored.txt", relativePath="photos/2026/a b.txt"))
    answer = tus_site.patch(location, 0, b"abc")
    item = tus_site.share(answer.headers["Pan-Share"])["items"][0]
    assert (item["name"], item["path"]) == ("a b.txt", "photos/2026/a b.txt")


# Zero-width space, variation selector 16, soft hyphen, Hangul filler: drawn as nothing (issue 27, G10).
INVISIBLE = {"U+200B": "\u200b", "U+FE0F": "\ufe0f", "U+00AD": "\u00ad", "U+3164": "\u3164"}


@pytest.mark.parametrize("ch", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_characters_are_removed_from_metadata_names(tus_site, ch):
    location = tus_site.created(3, meta=metadata(filename=f"re{ch}port.pdf"))
    item = tus_site.share(tus_site.patch(location, 0, b"abc").headers["Pan-Share"])["items"][0]
    assert (item["name"], item["path"]) == ("report.pdf", "report.pdf")
    location = tus_site.created(3, meta=metadata(filename="x", relativePath=f"ph{ch}otos/a{ch}.txt"))
    item = tus_site.share(tus_site.patch(location, 0, b"abc").headers["Pan-Share"])["items"][0]
    assert (item["name"], item["path"]) == ("a.txt", "photos/a.txt")
    # A drop into a request: the same name, the same rule.
    request = tus_site.new_request("owner", max_files=5)
    answer = tus_site.create(3, None, metadata(filename=f"in{ch}voice.pdf", request=request["code"]))
    assert answer.status_code == 201, answer.text
    done = tus_site.patch(answer.headers["Location"], 0, b"pdf")
    assert tus_site.share(done.headers["Pan-Share"])["items"][0]["path"] == "invoice.pdf"


def test_a_metadata_name_made_only_of_invisible_characters_is_refused(tus_site):
    before = _stored_files(tus_site)
    for meta in (metadata(filename="\u200b\u3164"), metadata(filename="a", relativePath="\ufe0f/a.txt")):
        answer = tus_site.create(3, meta=meta, **{"Accept-Language": "zh-hans"})
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["fields"]["file"] == ["文件或文件夹名称只由不可见字符组成。"]
    assert _stored_files(tus_site) == before


def test_patch_bad_input(tus_site):
    location = tus_site.created(1000)
    assert tus_site.patch(location, 0, b"x" * 10, **{"Content-Type": "application/json"}).status_code == 415
    assert tus_site.patch(location, 5, b"x" * 10).status_code == 409
    answer = tus_site.patch(location, 0, b"x" * 10, **{"Upload-Offset": "zero"})
    assert answer.status_code == 400
    assert tus_site.patch(location, 0, b"x" * 1001).status_code == 413
    assert tus_site.offset(location) == 0
    # A wrong checksum: 460, and the chunk is discarded.
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    answer = tus_site.patch(location, 0, b"y" * 100, **{"Upload-Checksum": f"sha256 {wrong}"})
    assert answer.status_code == 460
    assert tus_site.offset(location) == 0
    answer = tus_site.patch(location, 0, b"y" * 100, **{"Upload-Checksum": "crc32 AAAA"})
    assert answer.status_code == 400
    for algorithm in ("sha256", "sha1", "md5"):
        offset = tus_site.offset(location)
        chunk = os.urandom(100)
        digest = base64.b64encode(hashlib.new(algorithm, chunk).digest()).decode()
        answer = tus_site.patch(location, offset, chunk, **{"Upload-Checksum": f"{algorithm} {digest}"})
        assert answer.status_code == 204, answer.text
        assert tus_site.offset(location) == offset + 100


def test_more_bytes_than_remain_are_refused_before_they_are_read(tus_site):
    """The answer comes while the client still holds 1 GiB it announced."""
    import socket
    from urllib.parse import urlsplit

    location = tus_site.created(1000)
    parts = urlsplit(location)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            (
                f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n"
                "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {1024**3}\r\n\r\n"
            ).encode()
            + b"z" * 65536
        )
        answer = sock.recv(65536).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert tus_site.offset(location) == 0


def test_finished_terminated_and_guessed_uploads(tus_site):
    location = tus_site.created(3)
    assert tus_site.patch(location, 0, b"abc").status_code == 204
    assert tus_site.patch(location, 3, b"d").status_code == 404  # complete: takes no more
    assert tus_site.head(location).headers["Upload-Offset"] == "3"

    location = tus_site.created(10)
    tus_site.patch(location, 0, b"12345")
    before = _stored_files(tus_site)
    answer = httpx.delete(location, headers={"Tus-Resumable": "1.0.0"})
    assert answer.status_code == 204
    assert len(_stored_files(tus_site)) == len(before) - 1  # its bytes are gone
    assert tus_site.head(location).status_code == 404
    assert tus_site.patch(location, 5, b"67890").status_code == 404

    live = tus_site.created(10)
    for guessed in (live[:-1], live[:-8], live + "A", f"{tus_site.url}/api/uploads/" + "A" * 32):
        assert tus_site.head(guessed).status_code == 404
        assert tus_site.patch(guessed, 0, b"1").status_code == 404
        assert httpx.delete(guessed, headers={"Tus-Resumable": "1.0.0"}).status_code == 404
    assert tus_site.offset(live) == 0


def test_expired_upload_is_gone_and_purged(tus_site):
    location = tus_site.created(10)
    tus_site.patch(location, 0, b"12345")
    tus_site.expire(location)
    assert tus_site.head(location).status_code == 410
    assert tus_site.patch(location, 5, b"67890").status_code == 410
    before = _stored_files(tus_site)
    purge = tus_site.server.manage("purge_expired")
    assert "removed unfinished upload a.bin (5 bytes stored)" in purge.stdout
    assert len(_stored_files(tus_site)) == len(before) - 1
    assert tus_site.head(location).status_code == 404


def test_client_vanishing_mid_body_keeps_what_arrived(tus_site):
    data = os.urandom(24 * MiB)
    location = tus_site.created(len(data))
    raw_patch_then_vanish(location, 0, data[: 10 * MiB], announced=len(data))
    # What arrived before the close is stored (all of it here: a local file
    # keeps every byte written), and the upload takes the rest from there.
    offset = offset_when_free(location, at_least=1)
    assert 0 < offset <= 10 * MiB
    # Vanishing on the last byte: everything but it arrives.
    raw_patch_then_vanish(location, offset, data[offset:-1], announced=len(data) - offset)
    offset = offset_when_free(location, at_least=offset + 1)
    answer = tus_site.patch(location, offset, data[offset:])
    assert answer.status_code == 204, answer.text
    share = tus_site.share(answer.headers["Pan-Share"])
    assert share["items"][0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_two_patches_at_once_never_interleave(tus_site):
    import threading

    data = os.urandom(40 * MiB)
    location = tus_site.created(len(data))
    answers = []
    barrier = threading.Barrier(2)

    def send(chunk: bytes) -> None:
        barrier.wait()
        answers.append(tus_site.patch(location, 0, chunk))

    threads = [
        threading.Thread(target=send, args=(data[: 20 * MiB],)),
        threading.Thread(target=send, args=(bytes(20 * MiB),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    codes = sorted(answer.status_code for answer in answers)
    assert codes[0] == 204 and codes[1] in (409, 423), codes
    assert tus_site.offset(location) == 20 * MiB
    winner = (
        data[: 20 * MiB]
        if any(a.status_code == 204 and a.request.content[:64] == data[:64] for a in answers)
        else bytes(20 * MiB)
    )
    answer = tus_site.patch(location, 20 * MiB, data[20 * MiB :])
    assert answer.status_code == 204
    share = tus_site.share(answer.headers["Pan-Share"])
    assert share["items"][0]["sha256"] == hashlib.sha256(winner + data[20 * MiB :]).hexdigest()


def test_bytes_the_storage_lost_are_sent_again_not_padded(tus_site):
    """A file shorter than its recorded offset (a machine that lost its page
    cache) is never padded with zeros: the offset goes back to what is kept."""
    data = os.urandom(2 * MiB)
    location = tus_site.created(len(data))
    assert tus_site.patch(location, 0, data[:MiB]).status_code == 204
    (stored,) = [path for path in _stored_files(tus_site) if path.stat().st_size == MiB]
    with open(stored, "r+b") as cut:
        cut.truncate(300_000)
    answer = tus_site.patch(location, MiB, data[MiB:])
    assert answer.status_code == 409
    assert answer.headers["Upload-Offset"] == "300000"
    assert tus_site.offset(location) == 300_000
    answer = tus_site.patch(location, 300_000, data[300_000:])
    assert answer.status_code == 204, answer.text
    share = tus_site.share(answer.headers["Pan-Share"])
    assert share["items"][0]["sha256"] == hashlib.sha256(data).hexdigest()
