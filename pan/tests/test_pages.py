"""Pages: the share page /f/<id>/ and its downloads, /share/, /files/ and its
actions, /welcome/. Every access rule with the personas: alice (admin, so
`manage`), dana (owner with only `uploaders`), erin (uploaders and users:
an owner who may visit /share/), bob (member), charlie (no roles), anonymous."""

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client, override_settings

from pan import services
from pan.models import Share

from .conftest import body_of, post_share

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
FOLDER = (("photos/2024/a.txt", b"first file"), ("photos/b.txt", b"second"), ("notes.txt", b"third, at the top"))


@pytest.fixture
def erin(make_user):
    """An owner who may visit the share list but manages nothing (uploaders and users)."""
    return make_user("erin", roles=["uploaders", "users"])


def make_share(owner, files=(("hello.txt", b"hello world"),), **fields) -> Share:
    incoming = [services.IncomingFile(io.BytesIO(data), name) for name, data in files]
    return services.share_create(owner=owner, files=incoming, **fields)


def browser(user=None) -> tuple[Client, str]:
    """A client that checks CSRF like a browser would, with its token."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.get("/")  # every page sets the CSRF cookie (the language form)
    return client, client.cookies["csrftoken"].value


def unlock(client, token, share, code=None, **headers):
    return client.post(
        f"/f/{share.unique_name}/",
        {"code": share.code if code is None else code, "csrfmiddlewaretoken": token},
        **headers,
    )


def first_heading(response) -> str:
    """The text of a page's first <h1>, what a reader sees first."""
    found = re.search(r"<h1[^>]*>(.*?)</h1>", response.content.decode(), re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else ""


def item_url(share, item, what="download") -> str:
    return f"/f/{share.unique_name}/items/{item.pk}/{what}"


def download_count(share) -> int:
    return Share.objects.get(pk=share.pk).download_count


# --- The share page -----------------------------------------------------------


def test_the_share_page_shows_title_message_items_expiry_and_downloads_left(dana):
    with time_machine.travel(datetime(2026, 11, 30, 0, 22, tzinfo=UTC), tick=False) as clock:
        share = make_share(
            dana, FOLDER, title="Holiday", message="For you <b>all</b>", expires_in=7 * 86400, max_downloads=5
        )
        clock.shift(timedelta(days=1))
        locked = Client().get(f"/f/{share.unique_name}/", **EN).content.decode()
        # Locked, the page shows only the title (SPEC §4.3); the details as its owner sees them
        # (a recipient who opens it sees the same, and the texts shown count as a download).
        owner, _token = browser(dana)
        page = owner.get(f"/f/{share.unique_name}/", **EN)
        chinese = owner.get(f"/f/{share.unique_name}/", **ZH).content.decode()
    assert "<h1" in locked and "Holiday" in locked and 'name="code"' in locked
    assert "For you" not in locked and "a.txt" not in locked and "3 files" not in locked
    html = page.content.decode()
    assert page.status_code == 200
    assert "<h1" in html and "Holiday" in html
    assert "For you &lt;b&gt;all&lt;/b&gt;" in html
    for name in ("a.txt", "b.txt", "notes.txt", "photos/2024/a.txt", "photos/b.txt"):
        assert name in html
    assert "3 files" in html and f'data-size="{10 + 6 + 17}"' in html
    assert "expires in 6\xa0days (7 Dec 00:22 UTC)" in html  # timeuntil keeps "6 days" on one line
    assert "5 of 5 downloads left" in html
    assert "6\xa0日后过期（12月7日 00:22 UTC）" in chinese and "还可下载 5 次（共 5 次）" in chinese
    # Locked: a code field, no way to the bytes, and the code nowhere.
    assert 'name="code"' in locked and "/items/" not in locked and "/zip" not in locked
    assert share.code not in locked and share.code_display not in locked
    assert share.code not in html and share.code_display not in html
    assert download_count(share) == 0


def test_the_code_field_takes_new_and_old_codes_in_any_spelling(dana):
    share = make_share(dana)
    html = Client().get(f"/f/{share.unique_name}/?code={share.code_display.lower()}").content.decode()
    field = re.search(r'<input[^>]*name="code"[^>]*>', html, re.S).group(0)
    assert f'value="{share.code_display.lower()}"' in field
    assert int(re.search(r'maxlength="(\d+)"', field).group(1)) >= 9
    assert "minlength" not in field and "pattern" not in field


@pytest.mark.parametrize("spelling", ["lower-dash", "upper", "spaced"])
def test_a_stranger_unlocks_with_the_code_then_downloads_items_and_the_zip_counted_once(dana, spelling):
    share = make_share(dana, FOLDER, max_downloads=3)
    typed = {
        "lower-dash": share.code_display.lower(),
        "upper": share.code,
        "spaced": f" {share.code[:4]} {share.code[4:].lower()} ",
    }[spelling]
    first, second, third = share.items.all()
    client, token = browser()
    assert client.get(item_url(share, first)).status_code == 403  # not unlocked yet
    response = unlock(client, token, share, typed)
    assert response.status_code == 302 and response["Location"] == f"/f/{share.unique_name}/"
    html = client.get(f"/f/{share.unique_name}/").content.decode()
    assert 'name="code"' not in html
    for item in (first, second, third):
        assert f'href="{item_url(share, item)}"' in html
    assert f'href="/f/{share.unique_name}/zip"' in html
    assert "code=" not in html and share.code not in html  # no code in any URL once unlocked
    download = client.get(item_url(share, first))
    assert download.status_code == 200 and body_of(download) == b"first file"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download_count(share) == 1
    archive = zipfile.ZipFile(io.BytesIO(body_of(client.get(f"/f/{share.unique_name}/zip"))))
    assert sorted(archive.namelist()) == ["notes.txt", "photos/2024/a.txt", "photos/b.txt"]
    assert archive.read("photos/b.txt") == b"second"
    picked = zipfile.ZipFile(io.BytesIO(body_of(client.get(f"/f/{share.unique_name}/zip?items={third.pk}"))))
    assert picked.namelist() == ["notes.txt"]
    assert download_count(share) == 1  # one recipient, one download
    assert "2 of 3 downloads left" in client.get(f"/f/{share.unique_name}/", **EN).content.decode()


@pytest.mark.parametrize("persona", ["dana", "alice"])
def test_the_owner_and_a_manager_download_from_the_page_without_a_code_and_count_nothing(persona, request, dana):
    share = make_share(dana, FOLDER, max_downloads=1)
    client, _token = browser(request.getfixturevalue(persona))
    html = client.get(f"/f/{share.unique_name}/", **EN).content.decode()
    assert 'name="code"' not in html
    first = share.items.first()
    assert f'href="{item_url(share, first)}"' in html
    assert body_of(client.get(item_url(share, first))) == b"first file"
    assert body_of(client.get(f"/f/{share.unique_name}/zip")).startswith(b"PK")
    assert body_of(client.get(item_url(share, first))) == b"first file"
    assert download_count(share) == 0
    assert ("This is your share" in html) is (persona == "dana")


@pytest.mark.parametrize("persona", ["bob", "charlie", "erin", None])
def test_everyone_else_needs_the_code(persona, request, dana):
    share = make_share(dana, FOLDER)
    user = request.getfixturevalue(persona) if persona else None
    client, token = browser(user)
    html = client.get(f"/f/{share.unique_name}/").content.decode()
    assert 'name="code"' in html and "/items/" not in html
    first = share.items.first()
    assert client.get(item_url(share, first)).status_code == 403
    assert client.get(item_url(share, first, "preview")).status_code == 403
    assert client.get(f"/f/{share.unique_name}/zip").status_code == 403
    assert unlock(client, token, share).status_code == 302
    assert body_of(client.get(item_url(share, first))) == b"first file"
    assert download_count(share) == 1


def test_a_new_code_ends_every_session_unlock(dana, bob):
    share = make_share(dana, FOLDER)
    old_code = share.code
    first = share.items.first()
    recipient, token = browser(bob)
    unlock(recipient, token, share)
    assert recipient.get(item_url(share, first)).status_code == 200
    owner, owner_token = browser(dana)
    owner.post(f"/files/{share.unique_name}/code", {"csrfmiddlewaretoken": owner_token})
    share.refresh_from_db()
    assert share.code != old_code
    assert 'name="code"' in recipient.get(f"/f/{share.unique_name}/").content.decode()
    assert recipient.get(item_url(share, first)).status_code == 403
    assert recipient.get(f"/f/{share.unique_name}/zip").status_code == 403
    assert unlock(recipient, token, share, old_code).status_code == 403
    assert unlock(recipient, token, share).status_code == 302
    assert recipient.get(item_url(share, first)).status_code == 200


def test_images_and_videos_preview_inline_once_unlocked_and_count_like_a_download(dana):
    share = make_share(dana, (("dot.png", PNG), ("clip.mp4", b"\x00\x00\x00\x18ftypmp42"), ("x.svg", b"<svg/>")))
    image, video, svg = share.items.all()
    client, token = browser()
    assert "/preview" not in client.get(f"/f/{share.unique_name}/").content.decode()
    unlock(client, token, share)
    html = client.get(f"/f/{share.unique_name}/").content.decode()
    assert f'<img src="{item_url(share, image, "preview")}"' in html
    assert re.search(rf'<video[^>]*src="{item_url(share, video, "preview")}"', html)
    assert item_url(share, svg, "preview") not in html
    preview = client.get(item_url(share, image, "preview"))
    assert body_of(preview) == PNG
    assert preview["Content-Type"] == "image/png"
    assert preview["Content-Disposition"].startswith("inline;")
    assert preview["X-Content-Type-Options"] == "nosniff"
    assert preview["Content-Security-Policy"] == "sandbox"
    assert client.get(item_url(share, svg, "preview")).status_code == 404
    # A preview is the file: the session's first one counts, the rest of its previews and downloads are free.
    assert download_count(share) == 1
    assert body_of(client.get(item_url(share, video, "preview"))) == b"\x00\x00\x00\x18ftypmp42"
    assert body_of(client.get(item_url(share, image))) == PNG
    assert download_count(share) == 1


def test_download_all_is_offered_only_for_several_items(dana):
    single = make_share(dana)
    several = make_share(dana, FOLDER)
    client, _token = browser(dana)
    assert "/zip" not in client.get(f"/f/{single.unique_name}/").content.decode()
    assert f'href="/f/{several.unique_name}/zip"' in client.get(f"/f/{several.unique_name}/").content.decode()


def test_the_first_wave_form_downloads_the_only_item_or_the_zip(dana):
    single = make_share(dana, (("notes.txt", b"page bytes"),))
    several = make_share(dana, FOLDER)
    client, token = browser()
    one = client.post(f"/f/{single.unique_name}/download", {"code": single.code.lower(), "csrfmiddlewaretoken": token})
    assert body_of(one) == b"page bytes" and download_count(single) == 1
    both = client.post(f"/f/{several.unique_name}/download", {"code": several.code, "csrfmiddlewaretoken": token})
    assert both["Content-Type"] == "application/zip"
    assert len(zipfile.ZipFile(io.BytesIO(body_of(both))).namelist()) == 3


def test_wrong_codes_are_refused_then_the_page_says_how_long_to_wait(dana):
    share = make_share(dana)
    client, token = browser()
    for _attempt in range(5):
        response = unlock(client, token, share, "ZZZZ-ZZZZ", **ZH)
        assert response.status_code == 403
        assert "提取码不正确。" in response.content.decode()
    response = unlock(client, token, share, share.code, **EN)
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert 0 < wait <= 15 * 60
    html = response.content.decode()
    assert "Too many wrong codes. Try again later." in html
    assert f'data-retry-after="{wait}"' in html and "You can try again in about 15 minutes." in html


@pytest.mark.parametrize("code, status", [("", 403), ("x" * 5000, 400), (None, 403), ("hello there", 400)])
def test_an_empty_missing_or_overlong_code_is_refused(dana, code, status):
    share = make_share(dana)
    client, token = browser()
    data = {"csrfmiddlewaretoken": token} if code is None else {"code": code, "csrfmiddlewaretoken": token}
    assert client.post(f"/f/{share.unique_name}/", data).status_code == status
    assert client.post(f"/f/{share.unique_name}/download", data).status_code == status


def test_unknown_shares_get_a_404_page_and_gone_ones_a_410_page_saying_which(dana):
    missing = Client().get("/f/AAAAAAAAAAAAAAAAAAAAAA/", **EN)
    assert missing.status_code == 404 and "There is nothing shared at this address." in missing.content.decode()
    assert "这个地址没有分享任何内容" in Client().get("/f/AAAAAAAAAAAAAAAAAAAAAA/", **ZH).content.decode()
    revoked = services.share_revoke(share=make_share(dana))
    used_up = make_share(dana, max_downloads=1)
    Share.objects.filter(pk=used_up.pk).update(download_count=1)
    with time_machine.travel(datetime.now(tz=UTC) - timedelta(days=2)):
        expired = make_share(dana, expires_in=3600)
    expected = [
        (revoked, "The owner has stopped sharing this.", "所有者已停止分享。"),
        (used_up, "This share has reached its download limit.", "这个分享已达到下载次数上限。"),
        (expired, "This share has expired.", "这个分享已过期。"),
    ]
    for share, sentence, chinese in expected:
        page = Client().get(f"/f/{share.unique_name}/", **EN)
        assert page.status_code == 410
        # The page leads with a plain sentence, not a big status number (issue 19).
        assert first_heading(page) == sentence
        assert first_heading(Client().get(f"/f/{share.unique_name}/", **ZH)) == chinese
        client, token = browser()
        assert unlock(client, token, share).status_code == 410


def test_a_share_still_uploading_says_so_and_opens_when_complete(dana):
    share = services.share_create(owner=dana, files=[], uploading=True)
    services.share_items_add(share=share, files=[services.IncomingFile(io.BytesIO(b"early"), "first.txt")])
    owner, _token = browser(dana)
    assert "Still uploading" in owner.get(f"/f/{share.unique_name}/", **EN).content.decode()
    stranger, token = browser()
    page = stranger.get(f"/f/{share.unique_name}/", **EN)
    assert page.status_code == 200
    # Before the code: that it is still uploading, not what it holds.
    assert "Still uploading" in page.content.decode() and "first.txt" not in page.content.decode()
    # The code opens the page to watch it fill (live events follow it); downloads wait.
    assert unlock(stranger, token, share, **EN).status_code == 302
    assert "first.txt" in stranger.get(f"/f/{share.unique_name}/", **EN).content.decode()
    item = share.items.get()
    # No working-looking download while uploading: a disabled button beside the note.
    html = stranger.get(f"/f/{share.unique_name}/", **EN).content.decode()
    assert f"/items/{item.pk}/download" not in html and "disabled" in html
    # A stale link leads back to the share page (which follows the upload live), not to a bare 409 page.
    early = stranger.get(f"/f/{share.unique_name}/items/{item.pk}/download", **EN)
    assert early.status_code == 302 and early["Location"] == f"/f/{share.unique_name}/"
    assert "still being uploaded" in stranger.get(early["Location"], **EN).content.decode()
    services.share_update(share=share, changes={"complete": True})
    html = stranger.get(f"/f/{share.unique_name}/", **EN).content.decode()
    assert "Still uploading" not in html and "/items/" in html
    assert stranger.get(f"/f/{share.unique_name}/items/{item.pk}/download").status_code == 200


def test_looking_at_the_page_never_counts(dana):
    share = make_share(dana, max_downloads=1)
    for _fetch in range(3):
        Client().get(f"/f/{share.unique_name}/?code={share.code}", HTTP_USER_AGENT="Slackbot-LinkExpanding")
        Client().head(f"/f/{share.unique_name}/")
    assert download_count(share) == 0


@override_settings(PAN_DOWNLOAD_REQUIRES_LOGIN=True)
def test_with_login_required_visitors_are_asked_to_log_in(dana, bob, charlie):
    share = make_share(dana)
    page = Client().get(f"/f/{share.unique_name}/", **EN)
    assert "Log in to download these files." in page.content.decode() and 'name="code"' not in page.content.decode()
    client, token = browser()
    response = unlock(client, token, share)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=/f/")
    member, token = browser(bob)
    unlock(member, token, share)
    assert body_of(member.get(item_url(share, share.items.first()))) == b"hello world"
    stranger, token = browser(charlie)
    assert unlock(stranger, token, share).status_code == 403
    owner, _token = browser(dana)
    assert body_of(owner.get(item_url(share, share.items.first()))) == b"hello world"


# --- /share/ and /files/ ------------------------------------------------------------


def test_the_share_list_needs_visit(dana, charlie):
    assert Client().get("/share/").status_code == 302
    for user in (charlie, dana):
        client, _token = browser(user)
        assert client.get("/share/").status_code == 403


def test_the_share_list_shows_codes_links_and_qr_only_to_owners_and_managers(dana, erin, bob, alice):
    danas = make_share(dana, FOLDER, title="Dana's folder", listed=True)
    erins = make_share(erin, title="Erin's note", listed=True)
    services.share_revoke(share=make_share(erin, title="Revoked one", listed=True))

    def page(user) -> str:
        client, _token = browser(user)
        return client.get("/share/", **EN).content.decode()

    member = page(bob)
    assert "Dana&#x27;s folder" in member and "Erin&#x27;s note" in member and "Revoked one" not in member
    assert "3 files" in member
    for share in (danas, erins):
        assert share.code_display not in member and share.share_path() not in member
    assert "data:image/svg+xml" not in member and "share-details" not in member
    owner = page(erin)
    assert erins.code_display in owner and erins.share_path() in owner and "data:image/svg+xml" in owner
    assert danas.code_display not in owner and danas.share_path() not in owner
    manager = page(alice)
    for share in (danas, erins):
        assert share.code_display in manager and share.share_path() in manager


def test_the_share_list_paginates_newest_first(dana, bob):
    for number in range(23):
        make_share(dana, title=f"share-{number:02}", listed=True)
    client, _token = browser(bob)
    first = client.get("/share/").content.decode()
    assert "share-22" in first and "share-02" not in first
    second = client.get("/share/?page=2").content.decode()
    assert "share-02" in second and "share-22" not in second


def test_my_files_lists_only_your_own_shares_with_the_share_disclosure(dana, bob, alice):
    mine = make_share(dana, FOLDER, title="Mine", max_downloads=5)
    Share.objects.filter(pk=mine.pk).update(download_count=2)
    alices = make_share(alice, title="Alice's")
    assert Client().get("/files/").status_code == 302
    client, _token = browser(dana)
    html = client.get("/files/", **EN).content.decode()
    row = re.search(rf'<li class="share-row" data-unique="{mine.unique_name}".*?</li>\s*</ul>', html, re.S).group(0)
    assert 'data-state="active"' in row and "state-active" in row
    text = re.sub(r"<[^>]+>", "", row)  # what a reader sees
    assert "Mine" in text and "3 files" in text and "Downloads 2 / 5" in text and "expires in 6" in text
    details = re.search(r"<details class=\"share-details\">.*?</details>", row, re.S).group(0)
    assert mine.code_display in details and mine.share_path() in details and "data:image/svg+xml" in details
    assert "data-copy=" in details
    assert "Alice&#x27;s" not in html and alices.code_display not in html
    other, _token = browser(bob)
    assert mine.unique_name not in other.get("/files/").content.decode()
    manager, _token = browser(alice)
    assert mine.unique_name not in manager.get("/files/").content.decode()  # /files/ is your own


def test_delete_asks_first_and_a_revoked_share_offers_share_again(dana):
    share = make_share(dana, title="Báo cáo")
    client, token = browser(dana)
    html = client.get("/files/", **EN).content.decode()
    assert re.search(rf'action="/files/{share.unique_name}/delete" data-confirm="Delete “Báo cáo”', html)
    assert "onclick" not in html and "onsubmit" not in html
    assert f'action="/files/{share.unique_name}/revoke"' in html
    assert f'action="/files/{share.unique_name}/restore"' not in html
    client.post(f"/files/{share.unique_name}/revoke", {"csrfmiddlewaretoken": token})
    html = client.get("/files/", **EN).content.decode()
    assert 'data-state="revoked"' in html and "state-revoked" in html
    assert f'action="/files/{share.unique_name}/restore"' in html and "Share again" in html
    assert f'action="/files/{share.unique_name}/revoke"' not in html
    response = client.post(f"/files/{share.unique_name}/restore", {"csrfmiddlewaretoken": token}, **EN)
    assert response.status_code == 302
    assert "Báo cáo is shared again." in client.get("/files/", **EN).content.decode()
    assert Share.objects.get(pk=share.pk).state() == "active"


ACTIONS = ["code", "revoke", "restore", "delete"]


@pytest.mark.parametrize("action", ACTIONS)
def test_only_the_owner_or_a_manager_can_act_on_a_share(action, dana, alice, bob, charlie, erin):
    share = make_share(dana)
    if action == "restore":
        services.share_revoke(share=share)
    before = Share.objects.filter(pk=share.pk).values().get()
    url = f"/files/{share.unique_name}/{action}"
    anonymous, token = browser()
    response = anonymous.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    for user in (bob, charlie, erin):
        client, token = browser(user)
        assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 404
    owner, token = browser(dana)
    assert owner.post(url).status_code == 403  # no CSRF token
    assert Share.objects.filter(pk=share.pk).values().get() == before
    for user in (dana, alice):
        client, token = browser(user)
        response = client.post(url, {"csrfmiddlewaretoken": token})
        assert response.status_code == 302 and response["Location"] == "/files/"
        if action == "delete":
            assert not Share.objects.filter(pk=share.pk).exists()
            share = make_share(dana)
            url = f"/files/{share.unique_name}/{action}"
        elif action == "code":
            assert Share.objects.get(pk=share.pk).code != before["code"]
        elif action == "revoke":
            assert Share.objects.get(pk=share.pk).revoked_at is not None
            services.share_restore(share=share)
        else:
            assert Share.objects.get(pk=share.pk).revoked_at is None
            services.share_revoke(share=share)
    client, token = browser(dana)
    assert client.post(f"/files/{share.unique_name}/explode", {"csrfmiddlewaretoken": token}).status_code == 404
    assert client.get(url).status_code == 405


def test_the_owner_sees_when_a_share_refuses_codes(dana, settings):
    settings.PAN_CODE_SHARE_LIMIT = 2
    share = make_share(dana)
    for number in range(3):
        client, token = browser()
        unlock(client, token, share, "ZZZZ-ZZZZ", REMOTE_ADDR=f"10.{number}.0.1")
    owner, token = browser(dana)
    assert "data-locked=" in owner.get("/files/", **EN).content.decode()
    owner.post(f"/files/{share.unique_name}/code", {"csrfmiddlewaretoken": token})
    assert "data-locked=" not in owner.get("/files/", **EN).content.decode()


# --- /welcome/ ----------------------------------------------------------------------


def test_the_upload_page_sends_several_files_and_folders_as_one_share(dana, bob):
    client, token = browser(dana)
    page = client.get("/welcome/", **EN).content.decode()
    assert 'data-endpoint="/api/shares"' in page
    assert re.search(r'<input type="file" id="upload-file"[^>]*multiple', page)
    assert re.search(r'<input type="file" id="upload-folder"[^>]*webkitdirectory', page)
    # What upload.js sends: the session, X-CSRFToken, one `file` part per file named by its path.
    files = [(name, data, "text/plain") for name, data in FOLDER]
    assert post_share(client, files, title="From the page").status_code == 403  # no CSRF token
    response = post_share(client, files, title="From the page", expires_in="3600", headers={"HTTP_X_CSRFTOKEN": token})
    assert response.status_code == 201, response.content
    body = response.json()
    assert [item["path"] for item in body["items"]] == [name for name, _data in FOLDER]
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", body["code_display"])
    assert body["share_url"].endswith(f"/f/{body['id']}/?code={body['code']}")
    assert body["qr"].startswith("data:image/svg+xml")
    member, _token = browser(bob)
    page = member.get("/welcome/", **EN).content.decode()
    assert 'id="upload-form"' not in page and "ask an administrator for the uploaders role" in page
