"""What counts as a download (SPEC §4.4): grants, their window, leases."""

import threading
from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.test import Client
from django.utils import timezone

from pan import grants
from pan.models import DownloadGrant, Share
from project.testing import released_at_once

from .conftest import body_of

pytestmark = pytest.mark.django_db

DATA = bytes(range(256)) * 4096  # 1 MiB: several chunks
FILES = [("a.bin", DATA), ("b.txt", b"bee"), ("c/d.txt", b"dee")]


def count() -> int:
    return Share.objects.get().download_count


def leases() -> int:
    return DownloadGrant.objects.filter(lease_until__gt=timezone.now()).count()


def item_url(info, number=0) -> str:
    return f"/api/shares/{info['id']}/items/{info['items'][number]['id']}/content"


def tool_get(api, info, url, **headers):
    response = api.get(url, HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="curl/8.5", **headers)
    return response, body_of(response)


def test_a_tool_counts_once_per_full_download_and_resumes_free(share_as, dana, api):
    info = share_as(dana, FILES)
    tool_get(api, info, item_url(info))
    assert count() == 1
    # A resume from the same tool within the window: free.
    response, body = tool_get(api, info, item_url(info), HTTP_RANGE="bytes=1000-")
    assert response.status_code == 206 and body == DATA[1000:]
    assert count() == 1
    # Its other items and the zip are free too...
    tool_get(api, info, item_url(info, 1))
    tool_get(api, info, f"/api/shares/{info['id']}/zip")
    assert count() == 1
    # ...but a second full download of what it already has is a new one.
    tool_get(api, info, item_url(info))
    assert count() == 2
    tool_get(api, info, f"/api/shares/{info['id']}/zip")
    tool_get(api, info, f"/api/shares/{info['id']}/zip")
    assert count() == 3


def test_people_behind_one_address_with_other_tools_are_other_recipients(share_as, dana, api):
    info = share_as(dana, FILES, max_downloads="1")
    tool_get(api, info, item_url(info))
    assert count() == 1
    other = api.get(item_url(info), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="Wget/1.21")
    assert other.status_code == 410
    # Not even a resume: the used-up share is only open to a grant that counted.
    resumed = api.get(
        item_url(info), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="Wget/1.21", HTTP_RANGE="bytes=1-"
    )
    assert resumed.status_code == 410


def test_a_used_up_share_still_serves_the_counted_tool_its_other_items_and_resumes(share_as, dana, api):
    info = share_as(dana, FILES, max_downloads="1")
    tool_get(api, info, item_url(info))
    response, body = tool_get(api, info, item_url(info, 2))
    assert response.status_code == 200 and body == b"dee"
    response, body = tool_get(api, info, item_url(info), HTTP_RANGE="bytes=10-")
    assert response.status_code == 206 and body == DATA[10:]
    # A second full copy would be a second download: refused.
    assert tool_get(api, info, item_url(info))[0].status_code == 410
    assert count() == 1


def test_the_grant_window_ends(share_as, dana, api):
    info = share_as(dana, FILES, max_downloads="1", expires_in="0")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        tool_get(api, info, item_url(info))
        clock.shift(timedelta(minutes=59))
        assert tool_get(api, info, item_url(info, 1))[0].status_code == 200
        clock.shift(timedelta(minutes=2))
        assert tool_get(api, info, item_url(info, 2))[0].status_code == 410


def test_a_browser_session_is_one_recipient_for_every_item_and_zip(share_as, dana):
    info = share_as(dana, FILES, max_downloads="1")
    browser = Client()
    assert browser.post(f"/f/{info['id']}/", {"code": info["code_display"].lower()}).status_code == 302
    for url in (
        f"/f/{info['id']}/items/{info['items'][0]['id']}/download",
        f"/f/{info['id']}/zip",
        f"/f/{info['id']}/items/{info['items'][0]['id']}/download",
        f"/f/{info['id']}/items/{info['items'][1]['id']}/download",
    ):
        response = browser.get(url)
        assert response.status_code == 200, url
        body_of(response)
    assert count() == 1
    other = Client()
    other.post(f"/f/{info['id']}/", {"code": info["code"]})
    assert other.get(f"/f/{info['id']}/zip").status_code == 410


def test_a_page_download_needs_the_session_unlock(share_as, dana):
    info = share_as(dana, FILES)
    url = f"/f/{info['id']}/items/{info['items'][0]['id']}/download"
    assert Client().get(url).status_code == 403
    assert Client().get(f"/f/{info['id']}/zip").status_code == 403
    assert count() == 0


def test_the_owner_downloads_count_nothing(share_as, dana, api_as):
    info = share_as(dana, FILES, max_downloads="1")
    owner = api_as(dana)
    for _attempt in range(3):
        assert body_of(owner.get(item_url(info))) == DATA
        body_of(owner.get(f"/api/shares/{info['id']}/zip"))
    page = Client()
    page.force_login(Share.objects.get().owner)
    body_of(page.get(f"/f/{info['id']}/zip"))
    assert count() == 0 and not DownloadGrant.objects.exists()


def test_head_and_short_ranges_count_nothing_but_short_ranges_hold_a_slot(share_as, dana, api, settings):
    settings.PAN_DOWNLOAD_LEASE_SECONDS = 120
    info = share_as(dana, [("pic.png", DATA, "image/png")], max_downloads="1")
    assert api.head(item_url(info), HTTP_X_SHARE_CODE=info["code"]).status_code == 200
    assert api.head(f"/api/shares/{info['id']}/zip", HTTP_X_SHARE_CODE=info["code"]).status_code == 200
    assert count() == 0 and leases() == 0
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for start in range(0, len(DATA) - 1, 300_000):
            response, body = tool_get(api, info, item_url(info), HTTP_RANGE=f"bytes={start}-{start + 9}")
            assert response.status_code == 206 and body == DATA[start : start + 10]
        # Nothing counted, but the slot stays with the tool until its lease lapses...
        assert count() == 0 and leases() == 1
        browser = Client()
        browser.post(f"/f/{info['id']}/", {"code": info["code"]})
        preview_url = f"/f/{info['id']}/items/{info['items'][0]['id']}/preview"
        assert browser.get(preview_url).status_code == 410
        # ...and then goes to whoever comes: a preview is the file, so it counts.
        clock.shift(timedelta(seconds=121))
        preview = browser.get(preview_url)
        assert preview.status_code == 200 and body_of(preview) == DATA
        assert preview["Content-Disposition"].startswith("inline;")
        assert count() == 1 and leases() == 0


PDF = b"%PDF-1.4\n" + bytes(range(256)) * 2048 + b"\n%%EOF\n"


def unlocked_browser(info) -> Client:
    browser = Client()
    assert browser.post(f"/f/{info['id']}/", {"code": info["code_display"]}).status_code == 302
    return browser


def preview_url(info) -> str:
    return f"/f/{info['id']}/items/{info['items'][0]['id']}/preview"


def test_five_browser_sessions_previewing_a_once_only_pdf_get_one_full_copy_and_it_counts(share_as, dana):
    import hashlib

    info = share_as(dana, [("report.pdf", PDF, "application/pdf")], max_downloads="1")
    browsers = [unlocked_browser(info) for _session in range(5)]
    full = []
    for browser in browsers:
        response = browser.get(preview_url(info))
        if response.status_code == 200:
            assert response["Content-Disposition"].startswith("inline;")
            full.append(hashlib.sha256(body_of(response)).hexdigest())
        else:
            assert response.status_code == 410
    assert full == [hashlib.sha256(PDF).hexdigest()]
    assert count() == 1
    # The session that counted may look again (and download) within the window; the others may not.
    assert body_of(browsers[0].get(preview_url(info))) == PDF
    assert body_of(browsers[0].get(f"/f/{info['id']}/items/{info['items'][0]['id']}/download")) == PDF
    assert [browser.get(preview_url(info)).status_code for browser in browsers[1:]] == [410] * 4
    assert count() == 1


def test_short_ranges_under_separate_grants_cannot_all_be_served_nor_be_pieced_together(share_as, dana, api):
    info = share_as(dana, [("report.pdf", PDF, "application/pdf")], max_downloads="1")
    all_but_last = f"bytes=0-{len(PDF) - 2}"
    served = []
    for browser in [unlocked_browser(info) for _session in range(5)]:
        response = browser.get(preview_url(info), HTTP_RANGE=all_but_last)
        served.append(response.status_code)
        if response.status_code == 206:
            assert body_of(response) == PDF[:-1]
    for number in range(5):
        response = api.get(
            item_url(info), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT=f"tool/{number}", HTTP_RANGE=all_but_last
        )
        served.append(response.status_code)
    assert sorted(served) == [206] + [410] * 9
    assert count() == 0
    # Nobody else gets the last byte that would complete the file...
    for number in range(3):
        last = api.get(
            item_url(info), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT=f"other/{number}", HTTP_RANGE="bytes=-1"
        )
        assert last.status_code == 410
    assert unlocked_browser(info).get(preview_url(info), HTTP_RANGE="bytes=-1").status_code == 410
    # ...and the one who has the rest counts when it fetches it.
    assert count() == 0


def test_the_grant_that_holds_the_short_range_counts_when_it_fetches_the_last_byte(share_as, dana):
    info = share_as(dana, [("report.pdf", PDF, "application/pdf")], max_downloads="1")
    browser, other = unlocked_browser(info), unlocked_browser(info)
    assert body_of(browser.get(preview_url(info), HTTP_RANGE=f"bytes=0-{len(PDF) - 2}")) == PDF[:-1]
    assert other.get(preview_url(info), HTTP_RANGE="bytes=0-99").status_code == 410
    assert count() == 0
    last = browser.get(preview_url(info), HTTP_RANGE=f"bytes={len(PDF) - 1}-")
    assert last.status_code == 206 and body_of(last) == PDF[-1:]
    assert count() == 1
    assert other.get(preview_url(info), HTTP_RANGE="bytes=0-99").status_code == 410


def test_a_tools_second_full_get_at_once_needs_its_own_slot(share_as, dana, api):
    info = share_as(dana, FILES, max_downloads="1")
    # Responses stream lazily: the first is in flight while the second starts.
    first = api.get(item_url(info), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="curl/8.5")
    assert first.status_code == 200
    second = api.get(item_url(info), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="curl/8.5")
    from_zero = api.get(
        item_url(info), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="curl/8.5", HTTP_RANGE="bytes=0-"
    )
    assert (second.status_code, from_zero.status_code) == (410, 410)
    assert body_of(first) == DATA
    assert count() == 1


def test_a_tools_full_gets_at_once_each_count_where_slots_are_free(share_as, dana, api):
    info = share_as(dana, FILES, max_downloads="3")
    responses = [
        api.get(item_url(info), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="curl/8.5") for _get in range(4)
    ]
    assert [response.status_code for response in responses] == [200, 200, 200, 410]
    assert [body_of(response) == DATA for response in responses[:3]] == [True] * 3
    assert count() == 3
    assert not DownloadGrant.objects.filter(lease_until__gt=timezone.now()).exists()


def test_a_tools_full_gets_at_once_of_an_unlimited_share_are_each_a_download(share_as, dana, api):
    info = share_as(dana, FILES)
    responses = [
        api.get(item_url(info), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="curl/8.5") for _get in range(3)
    ]
    assert [body_of(response) for response in responses] == [DATA] * 3
    assert count() == 3
    # Later ones reuse the grants the first ones took.
    responses = [
        api.get(item_url(info), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="curl/8.5") for _get in range(3)
    ]
    assert [body_of(response) for response in responses] == [DATA] * 3
    assert count() == 6 and DownloadGrant.objects.count() == 3


def test_an_accelerators_ranges_are_all_served_and_count_once(share_as, dana, api):
    info = share_as(dana, FILES, max_downloads="1")
    cuts = [0, 100_000, 300_000, 450_000, 600_000, 750_000, 900_000, 1_000_000, len(DATA)]

    def piece(start: int, end: int):
        return api.get(
            item_url(info),
            HTTP_X_SHARE_CODE=info["code"],
            HTTP_USER_AGENT="aria2/1.37.0",
            HTTP_RANGE=f"bytes={start}-{end - 1}",
        )

    # The first connection from byte 0 and six past it, all in flight at once (responses stream lazily).
    responses = [piece(start, end) for start, end in zip(cuts[:7], cuts[1:8], strict=True)]
    assert [response.status_code for response in responses] == [206] * 7
    bodies = [body_of(response) for response in responses]
    # Their pieces are in, the last one is still to come: the slot is still theirs.
    assert tool_get(api, info, item_url(info))[0].status_code == 410
    last = piece(cuts[7], cuts[8])
    assert last.status_code == 206
    assert b"".join([*bodies, body_of(last)]) == DATA
    assert count() == 1


def test_an_aborted_stream_gives_its_slot_back_at_once(share_as, dana, api):
    info = share_as(dana, FILES, max_downloads="1")
    response = api.get(item_url(info), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="first")
    assert leases() == 1
    assert api.get(item_url(info), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="second").status_code == 410

    async def take_one_chunk_then_go_away():
        stream = aiter(response)
        await anext(stream)
        await stream.aclose()

    async_to_sync(take_one_chunk_then_go_away)()
    assert leases() == 0 and count() == 0
    response, body = tool_get(api, info, item_url(info))
    assert body == DATA and count() == 1


def test_a_killed_process_lease_lapses_and_frees_the_slot(share_as, dana, api, settings):
    settings.PAN_DOWNLOAD_LEASE_SECONDS = 120
    info = share_as(dana, FILES, max_downloads="1")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        # A download starts and its process dies: nothing ever releases the lease.
        api.get(item_url(info), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="doomed")
        assert tool_get(api, info, item_url(info))[0].status_code == 410
        clock.shift(timedelta(seconds=121))
        response, body = tool_get(api, info, item_url(info))
        assert response.status_code == 200 and body == DATA
    assert count() == 1


def test_a_stream_whose_lease_lapsed_and_lost_its_slot_stops_short(share_as, dana, api, settings):
    settings.PAN_DOWNLOAD_LEASE_SECONDS = 120
    info = share_as(dana, FILES, max_downloads="1")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        slow = api.get(item_url(info), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="slow")
        clock.shift(timedelta(seconds=121))
        assert tool_get(api, info, item_url(info))[1] == DATA  # the slot went to someone else
        with pytest.raises(grants.DownloadSlotLost):
            body_of(slow)
    assert count() == 1


@pytest.mark.django_db(transaction=True)
def test_simultaneous_recipients_never_take_more_slots_than_the_limit(make_user):
    from io import BytesIO

    from pan.services import IncomingFile, share_create

    owner = make_user("dana", roles=["uploaders"])
    share = share_create(owner=owner, files=[IncomingFile(BytesIO(b"x"), "x.txt")], max_downloads=3)

    def recipient(number: int):
        return grants.download_begin(share=share, grant_key=f"c:{number}", target="zip", session=False).counting

    outcomes = released_at_once(recipient, 20, timeout=30)
    assert sorted(map(str, outcomes)) == ["FileUsedUp"] * 17 + ["True"] * 3
    assert leases() == 3


@pytest.mark.django_db(transaction=True)
def test_simultaneous_full_downloads_under_one_tool_grant_each_need_a_slot(make_user):
    from io import BytesIO

    from pan.services import IncomingFile, share_create

    owner = make_user("dana", roles=["uploaders"])
    share = share_create(owner=owner, files=[IncomingFile(BytesIO(b"x"), "x.txt")], max_downloads=3)
    barrier = threading.Barrier(20)
    outcomes = []

    def same_tool(start: int) -> None:
        barrier.wait(timeout=10)
        try:
            ticket = grants.download_begin(share=share, grant_key="c:same", target="item:1", start=start, session=False)
            outcomes.append(("joins" if start else "slot", ticket.counting))
        except Exception as exc:  # noqa: BLE001 - the kind is asserted below
            outcomes.append(("joins" if start else "slot", type(exc).__name__))
        finally:
            from django.db import connection

            connection.close()

    # 15 from byte 0 at once, 5 resumes past byte 0 among them.
    threads = [threading.Thread(target=same_tool, args=(0 if n < 15 else 5,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    from_zero = sorted(str(outcome) for kind, outcome in outcomes if kind == "slot")
    assert from_zero == ["FileUsedUp"] * 12 + ["True"] * 3
    assert sorted(outcome for kind, outcome in outcomes if kind == "joins") == [True] * 5
    assert leases() == 3


def test_a_page_that_shows_a_text_in_full_counts_like_a_download(share_as, dana, api):
    secret = b"The launch code is lantern-field-71.\n" * 20
    info = share_as(dana, [("notes.txt", secret, "text/plain"), ("pic.png", DATA, "image/png")], max_downloads="1")
    browsers = [unlocked_browser(info) for _session in range(5)]
    # While another recipient holds the only slot, the page shows no text...
    holder = api.get(item_url(info, 1), HTTP_X_SHARE_CODE=info["code"], HTTP_USER_AGENT="holder")
    page = browsers[0].get(f"/f/{info['id']}/")
    assert page.status_code == 200 and b"lantern-field-71" not in page.content
    assert count() == 0

    async def take_one_chunk_then_go_away():
        stream = aiter(holder)
        await anext(stream)
        await stream.aclose()

    async_to_sync(take_one_chunk_then_go_away)()  # gone before the last byte: the slot comes back
    # ...then the first session to see it counts, and the others find the share used up.
    pages = [browser.get(f"/f/{info['id']}/") for browser in browsers]
    assert [b"lantern-field-71" in page.content for page in pages] == [True, False, False, False, False]
    assert [page.status_code for page in pages] == [200, 410, 410, 410, 410]
    assert count() == 1
    assert b"lantern-field-71" in browsers[0].get(f"/f/{info['id']}/").content
    assert browsers[0].head(f"/f/{info['id']}/").status_code == 200
    assert count() == 1
