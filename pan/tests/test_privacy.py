"""Nothing before the code (SPEC §4.3; issue 19, item 1).

Before its code (and password) is passed, a share shows only that it exists
and its public title: never item names, sizes, hashes, the message, the
owner or the sender of a drop — on its page, through the API, the pickup,
QR codes, zip headers or the WebSocket. `/share/` lists only `listed`
shares, which open for signed-in members without the code.

Personas: dana (owner, only `uploaders`), alice (admin, so `manage`), bob
(member: `users`), erin (a stranger: another uploader), and anonymous.
"""

import io
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework.test import APIClient

from dropoff.services import request_create
from pan import services
from pan.models import Share

from .conftest import body_of, multipart_files, post_share

SECRET_NAMES = ("salary-2026.xlsx", "photos/private.jpg")
MESSAGE = "Meet me at the station"
FILES = ((SECRET_NAMES[0], b"twelve bytes"), (SECRET_NAMES[1], b"\xff\xd8\xff jpeg"))


@pytest.fixture
def erin(make_user):
    """A stranger: another uploader (no `visit`, no `manage`)."""
    return make_user("erin", roles=["uploaders"])


def make_share(owner, files=FILES, **fields) -> Share:
    incoming = [services.IncomingFile(io.BytesIO(data), name) for name, data in files]
    return services.share_create(owner=owner, files=incoming, **fields)


def leaks(text: str, share: Share, *, owner: str = "dana") -> list[str]:
    """What a text says about a share that only its code should open."""
    found = [name for name in ("salary-2026", "private.jpg", MESSAGE) if name in text]
    for item in share.items.all():
        if item.sha256 in text:
            found.append("sha256")
    if share.code in text or share.code_display in text:
        found.append("code")
    if f'"owner": "{owner}"' in text or f'"owner":"{owner}"' in text:
        found.append("owner")
    for size in ('"size"', '"total_size"', "data-size=", "12 bytes", "12 B"):
        if size in text:
            found.append(size)
    return found


def page_client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def drop_into(code: str, files, **fields):
    body, ctype = multipart_files(files, **fields)
    return APIClient().generic("POST", f"/api/requests/{code}/drops", body, content_type=ctype)


@pytest.fixture
def dropped(dana, db):
    """Files an outsider named "Li Wei" dropped into dana's request: (share, request)."""
    made = request_create(owner=dana, title="Scans", max_files=5, max_bytes=10**6)
    answer = drop_into(made.code, list(FILES), name="Li Wei", note=MESSAGE)
    assert answer.status_code == 201, answer.content
    return Share.objects.get(drop__request=made), made


# --- The share page and the API, per persona -----------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["bob", "erin", None])
def test_the_locked_share_page_shows_only_the_title(persona, request, dana):
    share = make_share(dana, title="Quarterly", message=MESSAGE)
    user = request.getfixturevalue(persona) if persona else None
    page = page_client(user).get(f"/f/{share.unique_name}/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200 and "Quarterly" in html and 'name="code"' in html
    assert leaks(html, share) == []
    assert "2 files" not in html and "downloads left" not in html


@pytest.mark.django_db
def test_a_locked_page_without_a_title_never_falls_back_to_an_item_name(dana):
    share = make_share(dana)
    html = Client().get(f"/f/{share.unique_name}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert leaks(html, share) == [] and "<title>Shared files" in html


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["dana", "alice"])
def test_the_owner_and_a_manager_see_everything(persona, request, dana, api_as):
    share = make_share(dana, title="Quarterly", message=MESSAGE)
    user = request.getfixturevalue(persona)
    html = page_client(user).get(f"/f/{share.unique_name}/").content.decode()
    assert "salary-2026.xlsx" in html and MESSAGE in html
    data = api_as(user).get(f"/api/shares/{share.unique_name}").json()
    assert data["locked"] is False and data["message"] == MESSAGE and data["code"] == share.code
    assert {item["name"] for item in data["items"]} == {"salary-2026.xlsx", "private.jpg"}


@pytest.mark.django_db
def test_the_api_answers_a_member_only_what_the_share_shows_before_its_code(dana, bob, api_as):
    share = make_share(dana, title="Quarterly", message=MESSAGE)
    member = api_as(bob)
    answer = member.get(f"/api/shares/{share.unique_name}")
    assert answer.status_code == 200
    assert answer.json() == {
        "id": share.unique_name,
        "locked": True,
        "title": "Quarterly",
        "state": "active",
        "has_password": False,
        "url": f"http://testserver/f/{share.unique_name}/",
    }
    legacy = member.get(f"/api/files/{share.unique_name}")
    assert legacy.status_code == 200 and leaks(legacy.content.decode(), share) == []
    # With the code, the details.
    opened = member.get(f"/api/shares/{share.unique_name}", HTTP_X_SHARE_CODE=share.code).json()
    assert opened["locked"] is False and opened["message"] == MESSAGE and "code" not in opened
    assert member.get(f"/api/shares/{share.unique_name}", HTTP_X_SHARE_CODE="ZZZZ-ZZZZ").status_code == 403


@pytest.mark.django_db
def test_the_api_answers_a_stranger_404_and_anonymous_401(dana, erin, api_as):
    share = make_share(dana, title="Quarterly", message=MESSAGE)
    assert api_as(erin).get(f"/api/shares/{share.unique_name}").status_code == 404
    assert APIClient().get(f"/api/shares/{share.unique_name}").status_code == 401


@pytest.mark.django_db
def test_pickup_of_a_share_with_a_password_waits_for_the_password(dana, api):
    share = make_share(dana, title="Quarterly", message=MESSAGE, password="open sesame")
    answer = api.post("/api/pickup", {"code": share.code}, format="json")
    assert answer.status_code == 200
    assert answer.json()["locked"] is True and answer.json()["has_password"] is True
    assert leaks(answer.content.decode(), share) == []
    wrong = api.post("/api/pickup", {"code": share.code, "password": "nope"}, format="json")
    assert wrong.status_code == 403 and leaks(wrong.content.decode(), share) == []
    right = api.post("/api/pickup", {"code": share.code, "password": "open sesame"}, format="json")
    assert right.status_code == 200 and right.json()["message"] == MESSAGE
    header = api.post("/api/pickup", {"code": share.code}, format="json", HTTP_X_SHARE_PASSWORD="open sesame")
    assert {item["name"] for item in header.json()["items"]} == {"salary-2026.xlsx", "private.jpg"}


@pytest.mark.django_db
def test_pickup_of_a_share_without_a_password_opens_it(dana, api):
    share = make_share(dana, message=MESSAGE)
    answer = api.post("/api/pickup", {"code": share.code}, format="json").json()
    assert answer["locked"] is False and answer["message"] == MESSAGE


@pytest.mark.django_db
def test_the_page_asks_the_password_after_the_code_and_shows_nothing_before(dana):
    share = make_share(dana, title="Quarterly", message=MESSAGE, password="open sesame")
    client = Client()
    client.post(f"/f/{share.unique_name}/", {"code": share.code})
    html = client.get(f"/f/{share.unique_name}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="password"' in html and leaks(html, share) == []


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["bob", "erin", None])
def test_qr_codes_and_zips_tell_nothing_without_the_code(persona, request, dana, api_as):
    share = make_share(dana, title="Quarterly")
    user = request.getfixturevalue(persona) if persona else None
    client = api_as(user) if user else APIClient()
    for kind in ("svg", "png"):
        answer = client.get(f"/api/shares/{share.unique_name}/qr.{kind}")
        assert answer.status_code in (401, 404) and "Content-Disposition" not in answer
    for path in (f"/api/shares/{share.unique_name}/zip", f"/f/{share.unique_name}/zip"):
        answer = (page_client(user) if path.startswith("/f/") else client).get(path)
        assert answer.status_code == 403 and "Content-Disposition" not in answer
        assert leaks(answer.content.decode(errors="replace"), share) == []


@pytest.mark.django_db
def test_gone_and_missing_pages_say_nothing_about_the_share(dana):
    share = make_share(dana, title="Quarterly", message=MESSAGE)
    services.share_revoke(share=share)
    gone = Client().get(f"/f/{share.unique_name}/")
    assert gone.status_code == 410 and leaks(gone.content.decode(), share) == []
    assert "Quarterly" not in gone.content.decode()
    assert Client().get("/f/nothing-here/").status_code == 404


# --- Drops --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_drop_shows_no_sender_no_files_and_is_never_listed(dropped, bob, erin, alice, api_as):
    share, _made = dropped
    for user in (bob, erin, None):
        client = page_client(user)
        html = client.get(f"/f/{share.unique_name}/").content.decode()
        assert "Li Wei" not in html and leaks(html, share) == []
    listing = page_client(bob).get("/share/").content.decode()
    assert share.unique_name not in listing and "Li Wei" not in listing
    locked = api_as(bob).get(f"/api/shares/{share.unique_name}").json()
    assert locked["locked"] is True and locked["title"] == ""
    # The requester (and `manage`) see who sent what.
    for user in (share.owner, alice):
        assert "Li Wei" in page_client(user).get(f"/f/{share.unique_name}/").content.decode()


@pytest.mark.django_db
def test_a_drop_can_never_be_listed(dropped, dana, api_as):
    share, _made = dropped
    answer = api_as(dana).patch(f"/api/shares/{share.unique_name}", {"listed": True}, format="json")
    assert answer.status_code == 400 and "listed" in answer.json()["error"]["fields"]
    share.refresh_from_db()
    assert share.listed is False
    client = page_client(dana)
    assert '/list"' not in client.get("/files/").content.decode()
    client.post(f"/files/{share.unique_name}/list")
    share.refresh_from_db()
    assert share.listed is False


# --- /share/ and listed shares --------------------------------------------------


@pytest.mark.django_db
def test_the_share_list_shows_only_listed_shares(dana, bob):
    listed = make_share(dana, title="For everyone", listed=True)
    unlisted = make_share(dana, title="Only with the code")
    html = page_client(bob).get("/share/").content.decode()
    assert listed.unique_name in html and "For everyone" in html
    assert unlisted.unique_name not in html and "Only with the code" not in html


@pytest.mark.django_db
def test_a_listed_share_opens_for_a_member_without_the_code(dana, bob):
    share = make_share(dana, title="For everyone", message=MESSAGE, listed=True)
    member = page_client(bob)
    html = member.get(f"/f/{share.unique_name}/").content.decode()
    assert 'name="code"' not in html and "salary-2026.xlsx" in html and MESSAGE in html
    item = share.items.order_by("position").first()
    assert body_of(member.get(f"/f/{share.unique_name}/items/{item.pk}/download")) == b"twelve bytes"
    # Anonymous still needs the code.
    anonymous = Client()
    assert 'name="code"' in anonymous.get(f"/f/{share.unique_name}/").content.decode()
    assert anonymous.get(f"/f/{share.unique_name}/items/{item.pk}/download").status_code == 403


@pytest.mark.django_db
def test_a_listed_share_with_a_password_still_asks_it(dana, bob):
    share = make_share(dana, title="For everyone", message=MESSAGE, listed=True, password="open sesame")
    member = page_client(bob)
    html = member.get(f"/f/{share.unique_name}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="password"' in html and 'name="code"' not in html and leaks(html, share) == []
    listing = member.get("/share/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "For everyone" in listing and "Password needed" in listing and leaks(listing, share) == []
    item = share.items.order_by("position").first()
    assert member.get(f"/f/{share.unique_name}/items/{item.pk}/download").status_code == 401
    assert member.post(f"/f/{share.unique_name}/", {"password": "nope"}).status_code == 403
    assert member.post(f"/f/{share.unique_name}/", {"password": "open sesame"}).status_code == 302
    assert MESSAGE in member.get(f"/f/{share.unique_name}/").content.decode()


@pytest.mark.django_db
def test_a_listed_share_opens_through_the_api_for_a_member_not_for_anonymous(dana, bob, api_as, share_as):
    created = share_as(dana, list(FILES), listed="true", message=MESSAGE)
    assert created["listed"] is True
    item = created["items"][0]["id"]
    content = f"/api/shares/{created['id']}/items/{item}/content"
    member = api_as(bob)
    assert member.get(f"/api/shares/{created['id']}").json()["message"] == MESSAGE
    assert body_of(member.get(content)) in (b"twelve bytes", b"\xff\xd8\xff jpeg")
    assert APIClient().get(content).status_code == 403
    # PATCH turns it off: the member is back to the locked view.
    answer = api_as(dana).patch(f"/api/shares/{created['id']}", {"listed": False}, format="json")
    assert answer.status_code == 200 and answer.json()["listed"] is False
    assert member.get(f"/api/shares/{created['id']}").json()["locked"] is True
    assert member.get(content).status_code == 403


@pytest.mark.django_db
def test_listed_is_false_by_default_and_a_stranger_gets_nothing_from_it(dana, erin, api_as):
    answer = post_share(api_as(dana), list(FILES))
    assert answer.json()["listed"] is False
    share = make_share(dana, listed=True)
    # An uploader without `visit` or `download` does not open listed shares without the code.
    html = page_client(erin).get(f"/f/{share.unique_name}/").content.decode()
    assert 'name="code"' in html and leaks(html, share) == []


@pytest.mark.django_db
def test_the_owner_lists_and_unlists_from_my_files(dana):
    share = make_share(dana, title="Mine")
    owner = page_client(dana)
    assert owner.post(f"/files/{share.unique_name}/list").status_code == 302
    share.refresh_from_db()
    assert share.listed is True
    owner.post(f"/files/{share.unique_name}/unlist")
    share.refresh_from_db()
    assert share.listed is False


# --- Live events ----------------------------------------------------------------

ORIGIN = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


def _cookie(client: Client):
    session = client.session
    session.save()
    return [*ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def _follower(share: Share, *, user=None):
    """A browser that opened the share with its code, following it over /ws/events/."""
    from project.asgi import application

    def open_page():
        client = page_client(user)
        client.post(f"/f/{share.unique_name}/", {"code": share.code})
        return _cookie(client)

    page = WebsocketCommunicator(application, "/ws/events/", headers=await sync_to_async(open_page)())
    accepted, _ = await page.connect()
    assert accepted
    await page.send_to(text_data=json.dumps({"follow": share.unique_name}))
    assert json.loads(await page.receive_from(timeout=5)) == {"type": "following", "share": share.unique_name}
    return page


def _download_as_another_recipient(share: Share):
    """A complete share downloaded by a different recipient (a tool with the code)."""
    item = share.items.first()
    answer = APIClient().get(
        f"/api/shares/{share.unique_name}/items/{item.pk}/content",
        HTTP_X_SHARE_CODE=share.code,
        HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0",
    )
    assert body_of(answer)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_follower_gets_progress_and_completion_but_never_another_recipients_download(make_user):
    owner = await sync_to_async(make_user)("dana", roles=[])
    share = await sync_to_async(services.share_create)(owner=owner, files=[], uploading=True)
    follower = await _follower(share)
    await sync_to_async(services.share_items_add)(share=share, files=[services.IncomingFile(io.BytesIO(b"1"), "a.txt")])
    progress = json.loads(await follower.receive_from(timeout=5))
    assert progress["type"] == "share.progress" and progress["complete"] is False
    await sync_to_async(services.share_update)(share=share, changes={"complete": True})
    done = json.loads(await follower.receive_from(timeout=5))
    assert done["type"] == "share.progress" and done["complete"] is True
    await sync_to_async(_download_as_another_recipient)(share)
    assert await follower.receive_nothing(timeout=0.5)  # no browser, OS or country of someone else
    await follower.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("change", ["regenerate", "revoke", "password"])
async def test_a_new_code_a_revoke_or_a_new_password_ends_a_follow(change, make_user):
    owner = await sync_to_async(make_user)("dana", roles=[])
    share = await sync_to_async(services.share_create)(owner=owner, files=[], uploading=True)
    follower = await _follower(share)
    if change == "regenerate":
        await sync_to_async(services.share_code_regenerate)(share=share)
    elif change == "revoke":
        await sync_to_async(services.share_revoke)(share=share)
    else:
        await sync_to_async(services.share_update)(share=share, changes={"password": "new secret"})
    await sync_to_async(services.share_items_add)(share=share, files=[services.IncomingFile(io.BytesIO(b"1"), "a.txt")])
    assert await follower.receive_nothing(timeout=0.5)
    # Following again with the old session is refused (silently).
    await follower.send_to(text_data=json.dumps({"follow": share.unique_name}))
    assert await follower.receive_nothing(timeout=0.5)
    await follower.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_page_that_did_not_pass_the_password_cannot_follow(make_user):
    owner = await sync_to_async(make_user)("dana", roles=[])
    share = await sync_to_async(services.share_create)(owner=owner, files=[], uploading=True, password="open sesame")
    from project.asgi import application

    def code_only():
        client = Client()
        client.post(f"/f/{share.unique_name}/", {"code": share.code})
        return _cookie(client)

    page = WebsocketCommunicator(application, "/ws/events/", headers=await sync_to_async(code_only)())
    accepted, _ = await page.connect()
    assert accepted
    await page.send_to(text_data=json.dumps({"follow": share.unique_name}))
    assert await page.receive_nothing(timeout=0.5)
    await page.disconnect()


@pytest.mark.django_db
@pytest.mark.parametrize("value", [None, "yes", 1])
def test_patch_takes_listed_only_as_a_boolean(value, dana, api_as):
    share = make_share(dana)
    answer = api_as(dana).patch(f"/api/shares/{share.unique_name}", {"listed": value}, format="json")
    assert answer.status_code == 400 and "listed" in answer.json()["error"]["fields"]
