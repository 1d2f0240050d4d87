"""Live events over /ws/events/ and e-mail receipts (SPEC §4.7), in process:
Channels' communicator on the in-memory layer, Django's locmem mail.

Across processes on Redis: events/tests/test_live_events.py.
"""

import json
from io import BytesIO

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from dropoff.services import request_create
from pan.services import IncomingFile, share_create, share_items_add, share_update
from pan.tests.conftest import body_of, multipart_files
from project.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


def session_cookie(user=None, client: Client | None = None) -> list[tuple[bytes, bytes]]:
    client = client or Client()
    if user is not None:
        client.force_login(user)
    else:
        session = client.session
        session.save()
    return [*ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def connected(headers) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/events/", headers=headers)
    accepted, _ = await communicator.connect()
    assert accepted
    return communicator


def drop_into(code: str, files, **fields):
    body, ctype = multipart_files(files, **fields)
    return APIClient().generic("POST", f"/api/requests/{code}/drops", body, content_type=ctype)


@pytest.mark.asyncio
async def test_the_requester_sees_a_drop_arrive_and_no_one_else_does(dana, bob):
    made = await sync_to_async(request_create)(owner=dana, title="Scans", max_files=5, max_bytes=10**6)
    owner = await connected(await sync_to_async(session_cookie)(dana))
    other = await connected(await sync_to_async(session_cookie)(bob))
    answer = await sync_to_async(drop_into)(made.code, [("a.pdf", b"%PDF-1.4 a"), ("b.pdf", b"%PDF-1.4 bb")], name="Li")
    assert answer.status_code == 201
    event = json.loads(await owner.receive_from(timeout=5))
    assert {key: event[key] for key in ("type", "title", "name", "files", "size")} == {
        "type": "drop.received",
        "title": "Scans",
        "name": "Li",
        "files": 2,
        "size": 21,
    }
    assert event["url"].startswith("/f/")
    # The request's totals after the drop: /requests/ keeps its counter current with them.
    assert (event["received_files"], event["received_bytes"]) == (2, 21)
    assert await other.receive_nothing(timeout=0.3)
    await owner.disconnect()
    await other.disconnect()


@pytest.mark.asyncio
async def test_a_recipient_who_passed_the_code_follows_a_share_being_filled(dana):
    # Through the services: transactional tests run on a flushed database, without the seeded roles.
    share = await sync_to_async(share_create)(owner=dana, files=[], uploading=True)
    created = {"id": share.unique_name, "code": share.code}
    # A recipient with no account opens the page and types the code.
    browser = Client()
    await sync_to_async(browser.post)(f"/f/{created['id']}/", {"code": created["code"]})
    recipient = await connected(await sync_to_async(session_cookie)(None, browser))
    stranger = await connected(await sync_to_async(session_cookie)(None))
    for page in (recipient, stranger):
        await page.send_to(text_data=json.dumps({"follow": created["id"]}))
    assert json.loads(await recipient.receive_from(timeout=5)) == {"type": "following", "share": created["id"]}
    assert await stranger.receive_nothing(timeout=0.3)  # no code passed: not followed, and not told why

    await sync_to_async(share_items_add)(share=share, files=[IncomingFile(BytesIO(b"1"), "one.txt")])
    progress = json.loads(await recipient.receive_from(timeout=5))
    assert (progress["type"], progress["items"], progress["size"], progress["complete"]) == (
        "share.progress",
        1,
        1,
        False,
    )
    await sync_to_async(share_update)(share=share, changes={"complete": True})
    done = json.loads(await recipient.receive_from(timeout=5))
    assert (done["items"], done["complete"]) == (1, True)
    assert await stranger.receive_nothing(timeout=0.3)
    await recipient.disconnect()
    await stranger.disconnect()


@pytest.mark.asyncio
async def test_a_foreign_origin_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/events/", headers=[(b"origin", b"https://evil.example")])
    accepted, _ = await communicator.connect()
    assert not accepted


@pytest.mark.asyncio
async def test_garbage_messages_are_ignored(dana):
    page = await connected(await sync_to_async(session_cookie)(dana))
    for garbage in ("not json", "[]", json.dumps({"follow": 5}), json.dumps({"follow": "x" * 5000})):
        await page.send_to(text_data=garbage)
    assert await page.receive_nothing(timeout=0.3)
    await page.disconnect()


def test_receipts_by_mail_only_when_asked_and_in_the_users_language(dana, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    made = request_create(owner=dana, title="Scans", max_files=10, max_bytes=10**6)
    assert drop_into(made.code, [("a.pdf", b"x")]).status_code == 201
    assert mail.outbox == []  # off by default
    dana.email, dana.receipts_by_email, dana.language = "dana@example.com", True, "zh-hans"
    dana.save()
    assert drop_into(made.code, [("a.pdf", b"x"), ("b.pdf", b"y")], name="Li", note="两份").status_code == 201
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["dana@example.com"]
    assert "Scans" in message.subject and "收到" in message.subject
    assert "Li" in message.body and "两份" in message.body and "/requests/" in message.body


@pytest.mark.asyncio
async def test_the_owner_sees_a_completed_download_with_a_coarse_client_only(dana, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    share = await sync_to_async(share_create)(
        owner=dana, files=[IncomingFile(BytesIO(b"report bytes"), "report.pdf")], title="Report", max_downloads=3
    )
    item = await sync_to_async(share.items.get)()
    owner = await connected(await sync_to_async(session_cookie)(dana))
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    client = APIClient(REMOTE_ADDR="203.0.113.44", HTTP_USER_AGENT=firefox)
    response = await sync_to_async(client.get)(
        f"/api/shares/{share.unique_name}/items/{item.pk}/content", HTTP_X_SHARE_CODE=share.code
    )
    assert await sync_to_async(body_of)(response) == b"report bytes"
    event = json.loads(await owner.receive_from(timeout=5))
    keys = ("type", "share", "title", "what", "browser", "os", "downloads", "downloads_left")
    assert {key: event[key] for key in keys} == {
        "type": "download.completed",
        "share": share.unique_name,
        "title": "Report",
        "what": "item",
        "browser": "Firefox",
        "os": "Linux",
        "downloads": 1,
        "downloads_left": 2,
    }
    assert "203.0.113.44" not in json.dumps(event) and "Gecko" not in json.dumps(event)
    assert mail.outbox == []  # receipts by e-mail are off by default
    await owner.disconnect()


def test_a_download_receipt_by_mail_in_english(dana, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    dana.email, dana.receipts_by_email = "dana@example.com", True
    dana.save()
    share = share_create(owner=dana, files=[IncomingFile(BytesIO(b"abc"), "a.txt")], title="Notes")
    item = share.items.get()
    response = APIClient(HTTP_USER_AGENT="curl/8.5.0").get(
        f"/api/shares/{share.unique_name}/items/{item.pk}/content", HTTP_X_SHARE_CODE=share.code
    )
    assert body_of(response) == b"abc"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Pan: “Notes” was downloaded"
    assert "curl" in mail.outbox[0].body and "/files/" in mail.outbox[0].body
