"""Downloads: codes, guessing limits, states, ranges, headers, counting."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone

from pan.models import DownloadGrant, Share

from .conftest import body_of

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
DATA = bytes(range(256)) * 40  # 10 240 bytes


def content_url(info, code=None):
    url = f"/api/files/{info['unique_name']}/content"
    return url + (f"?code={code}" if code else "")


def fetch(api, info, code=None, **headers):
    response = api.get(content_url(info, code if code is not None else info["share_code"]), **headers)
    return response, body_of(response)


def leases() -> int:
    """Download slots reserved right now."""
    return DownloadGrant.objects.filter(lease_until__gt=timezone.now()).count()


def wrong_code(info) -> str:
    return "22222222" if info["share_code"] != "22222222" else "33333333"


def test_the_code_works_in_the_header_the_query_and_in_lower_case(shared, api):
    info = shared(data=DATA)
    header = api.get(content_url(info), HTTP_X_SHARE_CODE=info["share_code"])
    assert header.status_code == 200 and body_of(header) == DATA
    query, body = fetch(api, info, info["share_code"].lower())
    assert query.status_code == 200 and body == DATA


def test_served_files_carry_the_safety_headers(shared, api):
    info = shared(data=b"<html><script>alert(1)</script></html>", filename="page.html", content_type="text/html")
    response, _body = fetch(api, info)
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Content-Type"] == "application/octet-stream"  # never served as HTML
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"] == f'"{hashlib.sha256(b"<html><script>alert(1)</script></html>").hexdigest()}"'
    assert response["Last-Modified"]


def test_wrong_code_is_refused_then_throttled(shared, api):
    info = shared()
    for _attempt in range(5):
        response, _body = fetch(api, info, wrong_code(info), **EN)
        assert response.status_code == 403
        assert response.json()["error"]["message"] == "The share code is not correct."
    response, _body = fetch(api, info, wrong_code(info))
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 900
    # While the limit holds, even the right code is refused from this client...
    assert fetch(api, info)[0].status_code == 429
    # ...but not from another client.
    assert fetch(api, info, REMOTE_ADDR="198.51.100.7")[0].status_code == 200


def test_the_guessing_limit_ends_with_its_window(shared, api):
    info = shared()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _attempt in range(6):
            fetch(api, info, wrong_code(info))
        assert fetch(api, info)[0].status_code == 429
        clock.shift(timedelta(minutes=16))
        assert fetch(api, info)[0].status_code == 200


@override_settings(PAN_CODE_SHARE_LIMIT=8, PAN_CODE_CLIENT_LIMIT=3)
def test_a_file_under_attack_stops_accepting_codes_and_its_owner_sees_it(shared, api, uploader):
    info = shared()
    for number in range(8):
        fetch(api, info, wrong_code(info), REMOTE_ADDR=f"203.0.113.{number}")
    response, _body = fetch(api, info, REMOTE_ADDR="192.0.2.99")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "file_locked"
    seen = uploader.get(f"/api/files/{info['unique_name']}").json()
    assert seen["code_locked_seconds"] > 0
    owner_page = Client()
    owner_page.force_login(Share.objects.get().owner)
    assert "data-locked=" in owner_page.get("/files/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # A new code lifts the lock.
    new = uploader.post(f"/api/files/{info['unique_name']}/code").json()
    assert new["code_locked_seconds"] == 0
    assert fetch(api, new, REMOTE_ADDR="192.0.2.99")[0].status_code == 200


def test_code_errors_in_both_languages(shared, api):
    info = shared()
    english = fetch(api, info, wrong_code(info), **EN)[0].json()["error"]["message"]
    chinese = fetch(api, info, wrong_code(info), **ZH)[0].json()["error"]["message"]
    assert english == "The share code is not correct."
    assert chinese == "提取码不正确。"
    missing_en = api.get("/api/files/AAAAAAAAAAAAAAAAAAAAAA/content?code=222222", **EN).json()["error"]["message"]
    missing_zh = api.get("/api/files/AAAAAAAAAAAAAAAAAAAAAA/content?code=222222", **ZH).json()["error"]["message"]
    assert missing_en == "No such share."
    assert missing_zh == "没有这个分享。"


def test_a_missing_code_is_403_and_an_unknown_file_404(shared, api):
    info = shared()
    assert api.get(content_url(info)).status_code == 403
    assert api.get("/api/files/AAAAAAAAAAAAAAAAAAAAAA/content?code=ABCDEF").status_code == 404
    assert api.get("/api/files/not%20a%20name/content").status_code == 404


def test_expired_revoked_and_used_up_files_are_410(shared, api, uploader):
    expiring = shared(expires_in="60")
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        response, _body = fetch(api, expiring, **ZH)
        assert response.status_code == 410
        assert response.json()["error"]["message"] == "这个分享已过期。"
    revoked = shared()
    assert uploader.post(f"/api/files/{revoked['unique_name']}/revoke").status_code == 200
    response, _body = fetch(api, revoked)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "file_revoked"
    once = shared(max_downloads="1")
    assert fetch(api, once)[0].status_code == 200
    response, _body = fetch(api, once, REMOTE_ADDR="198.51.100.20")
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "file_used_up"


def test_a_completed_download_counts_once_and_head_does_not_count(shared, api):
    info = shared(data=DATA)
    assert api.head(content_url(info, info["share_code"])).status_code == 200
    assert Share.objects.get().download_count == 0
    fetch(api, info)
    assert Share.objects.get().download_count == 1
    # The same tool again within the window: a resume is free...
    fetch(api, info, HTTP_RANGE="bytes=100-")
    assert Share.objects.get().download_count == 1
    # ...but a second full download is a new one, as is another client's.
    fetch(api, info)
    assert Share.objects.get().download_count == 2
    fetch(api, info, REMOTE_ADDR="198.51.100.30")
    assert Share.objects.get().download_count == 3


def test_partial_ranges_that_stop_short_do_not_count(shared, api):
    info = shared(data=DATA, max_downloads="1")
    for _attempt in range(3):
        response, body = fetch(api, info, HTTP_RANGE="bytes=0-99")
        assert response.status_code == 206 and body == DATA[:100]
    assert Share.objects.get().download_count == 0
    response, body = fetch(api, info, HTTP_RANGE="bytes=100-")
    assert body == DATA[100:]
    assert Share.objects.get().download_count == 1


def test_an_interrupted_download_gives_its_slot_back(shared, api):
    from asgiref.sync import async_to_sync, sync_to_async

    info = shared(data=DATA * 100, max_downloads="1")  # several chunks
    response = api.get(content_url(info, info["share_code"]))
    seen = {}

    async def start_then_go_away():
        # As the ASGI handler does: iterate, then close when the client is gone.
        stream = aiter(response)
        seen["first"] = await anext(stream)
        seen["in_flight"] = await sync_to_async(leases)()
        # Another client cannot take the reserved (last) download meanwhile.
        other = await sync_to_async(fetch)(api, info, REMOTE_ADDR="198.51.100.40")
        seen["other"] = other[0].status_code
        await stream.aclose()

    async_to_sync(start_then_go_away)()
    assert seen == {"first": (DATA * 100)[: len(seen["first"])], "in_flight": 1, "other": 410}
    assert (leases(), Share.objects.get().download_count) == (0, 0)
    assert fetch(api, info, REMOTE_ADDR="198.51.100.40")[1] == DATA * 100


@pytest.mark.parametrize(
    ("header", "status", "start", "end"),
    [
        ("bytes=0-9", 206, 0, 9),
        ("bytes=5000-5099", 206, 5000, 5099),
        ("bytes=-100", 206, 10140, 10239),
        ("bytes=10000-", 206, 10000, 10239),
        ("bytes=10000-99999", 206, 10000, 10239),
        ("bytes=0-", 206, 0, 10239),
        ("bytes=0-1,5-6", 200, 0, 10239),  # several ranges: the whole file
        ("pages=1-2", 200, 0, 10239),
    ],
)
def test_ranges(shared, api, header, status, start, end):
    info = shared(data=DATA)
    response, body = fetch(api, info, HTTP_RANGE=header)
    assert response.status_code == status
    assert body == DATA[start : end + 1]
    assert response["Content-Length"] == str(end - start + 1)
    if status == 206:
        assert response["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=99999-100000", "bytes=-0"])
def test_unsatisfiable_ranges_are_416(shared, api, header):
    info = shared(data=DATA)
    response = api.get(content_url(info, info["share_code"]), HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(DATA)}"


def test_if_range_with_a_stale_etag_gets_the_whole_file(shared, api):
    info = shared(data=DATA)
    etag = f'"{info["sha256"]}"'
    fresh, body = fetch(api, info, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag)
    assert fresh.status_code == 206 and body == DATA[:10]
    stale, body = fetch(api, info, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"something-else"')
    assert stale.status_code == 200 and body == DATA
    weak, body = fetch(api, info, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=f"W/{etag}")
    assert weak.status_code == 200


def test_a_zero_byte_file_downloads_and_counts(shared, api):
    info = shared(data=b"")
    response, body = fetch(api, info)
    assert response.status_code == 200 and body == b""
    assert Share.objects.get().download_count == 1


def test_the_owner_and_manage_need_no_code(shared, api_as, alice, bob, make_user):
    info = shared(data=DATA)
    assert api_as(alice).get(content_url(info)).status_code == 200
    assert api_as(bob).get(content_url(info)).status_code == 403


@override_settings(PAN_DOWNLOAD_REQUIRES_LOGIN=True)
def test_a_setting_can_require_login_and_the_download_permission(shared, api, api_as, bob, charlie):
    info = shared(data=DATA)
    assert fetch(api, info)[0].status_code == 401
    assert fetch(api_as(charlie), info)[0].status_code == 403
    response, body = fetch(api_as(bob), info)
    assert response.status_code == 200 and body == DATA


def test_max_downloads_is_never_exceeded_when_clients_race(shared, api):
    info = shared(data=DATA * 50, max_downloads="1")
    from asgiref.sync import async_to_sync

    first = api.get(content_url(info, info["share_code"]), REMOTE_ADDR="198.51.100.1")
    second = api.get(content_url(info, info["share_code"]), REMOTE_ADDR="198.51.100.2")
    assert first.status_code == 200
    assert second.status_code == 410  # the only slot is reserved by the first
    stream = aiter(first)
    received = b""

    async def drain():
        nonlocal received
        async for chunk in stream:
            received += chunk

    async_to_sync(drain)()
    assert received == DATA * 50
    assert (Share.objects.get().download_count, leases()) == (1, 0)
