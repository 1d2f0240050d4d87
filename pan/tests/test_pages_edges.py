"""/files/ offers only what works in a share's state, and edits shares
through the same service as `PATCH /api/shares/<id>` (issue 19, item 4).

dana owns the shares and manages nothing; bob is a stranger to them."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from pan import services
from pan.models import Share

from .test_pages import EN, ZH, browser, make_share

pytestmark = pytest.mark.django_db


def row_of(html: str, share: Share) -> str:
    found = re.search(
        rf'<li class="share-row" data-unique="{share.unique_name}".*?</li>\s*(?=<li class="share-row"|</ul>)',
        html,
        re.S,
    )
    assert found, share.unique_name
    return found.group(0)


def expired_share(owner, **fields) -> Share:
    with time_machine.travel(datetime.now(tz=UTC) - timedelta(days=2)):
        return make_share(owner, expires_in=3600, **fields)


def used_up_share(owner) -> Share:
    share = make_share(owner, max_downloads=1)
    Share.objects.filter(pk=share.pk).update(download_count=1)
    return share


def test_dead_shares_offer_no_new_code_and_hide_their_code_link_and_qr(dana):
    active = make_share(dana, title="Alive")
    expired = expired_share(dana, title="Old")
    used_up = used_up_share(dana)
    revoked = services.share_revoke(share=make_share(dana, title="Stopped"))
    client, _token = browser(dana)
    html = client.get("/files/", **EN).content.decode()
    alive = row_of(html, active)
    assert "new-code" in alive and active.code_display in alive and "share-details" in alive
    for share in (expired, used_up, revoked):
        row = row_of(html, share)
        assert "new-code" not in row, share.state()
        assert share.code_display not in row and "share-details" not in row and "qr.svg" not in row
        assert "share-dead" in row and "share-edit" in row
    assert "restore" in row_of(html, revoked) and "restore" not in row_of(html, expired)
    assert "Set a new expiry under Edit" in row_of(html, expired)
    assert "Raise the download limit under Edit" in row_of(html, used_up)


@pytest.mark.parametrize("make_dead", [expired_share, used_up_share])
def test_a_new_code_for_a_dead_share_is_refused_and_says_why(dana, make_dead):
    share = make_dead(dana)
    old_code = share.code
    client, token = browser(dana)
    response = client.post(f"/files/{share.unique_name}/code", {"csrfmiddlewaretoken": token}, follow=True, **EN)
    share.refresh_from_db()
    assert share.code == old_code
    html = response.content.decode()
    assert "has a new share code" not in html
    assert "first" in html and ('class="message error"' in html)


def test_the_api_refuses_a_new_code_for_a_dead_share_with_409(dana, api_as):
    share = expired_share(dana)
    response = api_as(dana).post(f"/api/shares/{share.unique_name}/code")
    assert response.status_code == 409 and response.json()["error"]["code"] == "share_not_live"
    revoked = services.share_revoke(share=make_share(dana))
    assert api_as(dana).post(f"/api/shares/{revoked.unique_name}/code").status_code == 409


def edit(client, token, share, **fields):
    data = {"csrfmiddlewaretoken": token, "title": share.title, "message": share.message, **fields}
    return client.post(f"/files/{share.unique_name}/edit", data, follow=True, **EN)


def test_the_owner_edits_title_message_expiry_limit_password_and_listed(dana):
    share = expired_share(dana, title="Before", max_downloads=3)
    client, token = browser(dana)
    response = edit(
        client,
        token,
        share,
        title="After",
        message="Read me",
        expires_in="86400",
        max_downloads="10",
        password="Secret-Word-42",
        listed="true",
    )
    assert response.status_code == 200 and "Saved the changes to After." in response.content.decode()
    share.refresh_from_db()
    assert (share.title, share.message, share.max_downloads, share.listed) == ("After", "Read me", 10, True)
    assert share.has_password and share.state() == "active"
    assert timedelta(hours=23) < share.expires_at - datetime.now(tz=UTC) <= timedelta(days=1)
    row = row_of(response.content.decode(), share)
    assert "After" in row and "new-code" in row  # alive again: its code is offered
    # Empty fields: no limit, the expiry and password kept; the box unticked: no longer listed.
    expires_at = share.expires_at
    edit(client, token, share, max_downloads="", password="")
    share.refresh_from_db()
    assert (share.max_downloads, share.expires_at, share.listed, share.has_password) == (None, expires_at, False, True)
    edit(client, token, share, password_clear="true", expires_in="0")
    share.refresh_from_db()
    assert not share.has_password and share.expires_at is None


def test_an_invalid_edit_changes_nothing_and_says_why_in_chinese(dana):
    share = make_share(dana, title="Kept")
    client, token = browser(dana)
    data = {"csrfmiddlewaretoken": token, "title": "x" * 201, "max_downloads": "0"}
    html = client.post(f"/files/{share.unique_name}/edit", data, follow=True, **ZH).content.decode()
    share.refresh_from_db()
    assert share.title == "Kept" and share.max_downloads is None
    assert 'class="message error"' in html and "已保存" not in html


def test_editing_someone_elses_share_is_a_404_and_anonymous_is_sent_to_log_in(dana, bob):
    share = make_share(dana, title="Mine")
    stranger, token = browser(bob)
    assert (
        stranger.post(f"/files/{share.unique_name}/edit", {"csrfmiddlewaretoken": token, "title": "Theirs"}).status_code
        == 404
    )
    anonymous, token = browser()
    response = anonymous.post(f"/files/{share.unique_name}/edit", {"csrfmiddlewaretoken": token, "title": "Theirs"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert Share.objects.get(pk=share.pk).title == "Mine"
    owner, token = browser(dana)
    assert owner.get(f"/files/{share.unique_name}/edit").status_code == 405
    response = owner.post(f"/files/{share.unique_name}/edit", {"csrfmiddlewaretoken": token, "title": "Renamed"})
    assert response.status_code == 302 and Share.objects.get(pk=share.pk).title == "Renamed"


def test_sizes_are_written_one_way(dana):
    share = make_share(dana, files=(("tiny.txt", b"x" * 99),))
    client, _token = browser(dana)
    for language in (EN, ZH):
        html = client.get(share.get_absolute_url(), **language).content.decode()
        assert "99 B" in html and "bytes" not in html and "字节" not in html
        assert "99 B" in client.get("/files/", **language).content.decode()
