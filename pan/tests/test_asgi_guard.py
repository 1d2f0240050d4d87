"""Bodies over their allowance are refused before Django reads them (project/lib/bodies.py).

In process, through the ASGI application (`BodySizeGuard` in front of
Django), with `MAX_SMALL_BODY` lowered so that a few KiB stand for a body
over the small limit: a request that gets the upload allowance reaches the
view, any other is refused with 413 before it. The allowance runs in a
thread of its own (outside Django's request), so these tests commit their
data (`transactional_db`). project/tests/test_live_bodies.py sends real
gigabyte announcements to a real server.
"""

import asyncio
from datetime import timedelta

import httpx
import jwt
import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from accounts.tokens import PanAccessToken, PanRefreshToken
from pan.allowances import MULTIPART_ALLOWANCE

from .conftest import multipart, multipart_files

pytestmark = pytest.mark.django_db(transaction=True)  # the app reads the rows from its own threads


SMALL = 1000
OVER_SMALL = b"x" * 3000  # a file that makes a body over SMALL, far under every upload limit


def post(path, content, headers):
    from project.asgi import application

    async def run():
        transport = httpx.ASGITransport(app=application, client=("192.0.2.1", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post(path, content=content, headers=headers)

    return asyncio.run(run())


def upload(path, *, authorization=None, cookie=None, data=OVER_SMALL, **extra):
    body, content_type = multipart(data=data)
    headers = {"Content-Type": content_type, "Accept": "application/json", **extra}
    if authorization:
        headers["Authorization"] = authorization
    if cookie:
        headers["Cookie"] = cookie
    return post(path, body, headers)


def bearer_of(user=None, **claims) -> str:
    token = PanAccessToken()
    token["user_id"] = user.pk if user is not None else 1
    raw = str(token)
    if claims:
        payload = jwt.decode(raw, options={"verify_signature": False})
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        raw = jwt.encode(payload, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
    return f"Bearer {raw}"


def refused(response) -> bool:
    return response.status_code == 413 and response.json()["error"]["code"] == "file_too_large"


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


# --- the multipart API: an uploader's Bearer token, nothing else ----------------


@override_settings(MAX_SMALL_BODY=SMALL)
@pytest.mark.parametrize("path", ["/api/files", "/api/shares"])
def test_only_a_token_of_a_user_who_may_upload_gets_past_the_small_limit(path, alice, bob, charlie, dana):
    assert upload(path, authorization=bearer_of(dana)).status_code == 201  # uploaders
    assert upload(path, authorization=bearer_of(alice)).status_code == 201  # admin
    assert refused(upload(path, authorization=bearer_of(bob)))  # users: no `upload`
    assert refused(upload(path, authorization=bearer_of(charlie)))  # no role at all
    assert refused(upload(path))  # anonymous
    # Within the small limit, the view answers as ever (bob: 403, no `upload`).
    assert upload(path, authorization=bearer_of(bob), data=b"x" * 10).status_code == 403


@override_settings(MAX_SMALL_BODY=SMALL)
def test_a_deactivated_or_deleted_uploader_gets_the_small_limit(make_user):
    erin = make_user("erin", roles=["uploaders"])
    token = bearer_of(erin)
    assert upload("/api/shares", authorization=token).status_code == 201
    erin.is_active = False
    erin.save()
    assert refused(upload("/api/shares", authorization=token))
    erin.delete()
    assert refused(upload("/api/shares", authorization=token))


@override_settings(MAX_SMALL_BODY=SMALL)
def test_a_browser_session_gets_the_small_limit_on_the_api(dana):
    # Pages upload large files through tus now; a session cookie alone never
    # lets a large multipart body in, even of a user who may upload.
    assert refused(upload("/api/shares", cookie=session_cookie(dana)))
    assert refused(upload("/api/files", cookie=session_cookie(dana)))


@override_settings(MAX_SMALL_BODY=SMALL)
@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda user: bearer_of(user)[:-4] + "AAAA", id="bad-signature"),
        pytest.param(
            lambda user: "Bearer " + jwt.encode({"token_type": "access", "user_id": user.pk}, "x" * 40), id="other-key"
        ),
        pytest.param(lambda user: f"Bearer {PanRefreshToken.for_user(user)}", id="refresh-token"),
        pytest.param(lambda user: bearer_of(user, token_type="refresh"), id="wrong-type"),
        pytest.param(lambda user: bearer_of(user, aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda user: bearer_of(user, iss="someone-else"), id="wrong-issuer"),
        pytest.param(lambda user: bearer_of(user, iat=None), id="no-issued-at"),
        pytest.param(lambda user: bearer_of(user, user_id=None), id="no-user"),
        pytest.param(lambda user: "Bearer not-a-token", id="garbage"),
        pytest.param(lambda user: "Basic YTpi", id="basic"),
    ],
)
def test_a_token_that_does_not_verify_gets_the_small_limit(token, dana):
    assert refused(upload("/api/shares", authorization=token(dana)))


@override_settings(MAX_SMALL_BODY=SMALL)
def test_an_expired_token_gets_the_small_limit(dana):
    with time_machine.travel(timezone.now() - timedelta(hours=1), tick=False):
        old = bearer_of(dana)
    assert refused(upload("/api/shares", authorization=old))


@override_settings(MAX_SMALL_BODY=SMALL)
def test_adding_items_needs_a_share_the_uploader_may_change(alice, dana, make_user):
    erin = make_user("erin", roles=["uploaders"])
    body, content_type = multipart(filename=None, uploading="true")
    opened = post("/api/shares", body, {"Content-Type": content_type, "Authorization": bearer_of(dana)})
    assert opened.status_code == 201, opened.text
    items = f"/api/shares/{opened.json()['id']}/items"
    assert refused(upload(items, authorization=bearer_of(erin)))  # an uploader, not hers
    assert refused(upload("/api/shares/NoSuchShare0/items", authorization=bearer_of(dana)))
    assert upload(items, authorization=bearer_of(alice)).status_code == 201  # `manage`
    assert upload(items, authorization=bearer_of(dana)).status_code == 201  # the owner


@override_settings(PAN_MAX_UPLOAD_SIZE=1000)
def test_an_upload_over_its_allowance_is_413_at_once_in_the_callers_language(dana):
    body, content_type = multipart(data=b"x" * (1000 + MULTIPART_ALLOWANCE + 1))
    auth = {"Authorization": bearer_of(dana), "Content-Type": content_type}
    english = post("/api/files", body, {**auth, "Accept-Language": "en"})
    assert english.status_code == 413
    assert english.json()["error"] == {
        "code": "file_too_large",
        "message": "The file is larger than this server accepts.",
    }
    chinese = post("/api/files", body, {**auth, "Accept-Language": "zh-CN,zh;q=0.9"})
    assert chinese.json()["error"]["message"] == "文件超过了服务器允许的大小。"


# --- everything else --------------------------------------------------------------


@override_settings(MAX_SMALL_BODY=SMALL)
def test_any_other_body_over_the_small_limit_is_413_at_once(dana):
    response = post("/api/short", b"x" * 1001, {"Content-Type": "application/json", "Accept-Language": "zh-CN"})
    assert response.status_code == 413
    assert response.json()["error"] == {"code": "body_too_large", "message": "请求超过了服务器允许的大小。"}
    assert response.headers["connection"] == "close"
    # A token that may upload changes nothing off the upload views.
    assert post("/api/short", b"x" * 1001, {"Authorization": bearer_of(dana)}).status_code == 413
    assert post("/api/no-such-path", b"x" * 1001, {}).status_code == 413


@override_settings(MAX_SMALL_BODY=SMALL)
def test_a_drop_is_a_small_body(dana):
    from dropoff import services

    found = services.request_create(owner=dana, title="Scans")
    assert refused(upload(f"/api/requests/{found.code}/drops"))
    assert refused(upload(f"/r/{found.code}/"))
    assert upload(f"/api/requests/{found.code}/drops", data=b"x" * 10).status_code == 201


@override_settings(MAX_SMALL_BODY=SMALL, PAN_MAX_UPLOAD_SIZE=SMALL)
@pytest.mark.parametrize("path", ["/api/files", "/api/login"])
def test_a_body_without_a_length_is_cut_off_once_it_passes_the_allowance(path, dana):
    sent = []

    async def body():
        for _chunk in range(100):
            sent.append(1)
            yield b"x" * 4096

    headers = {"Content-Type": "multipart/form-data; boundary=x"}
    if path == "/api/files":
        headers["Authorization"] = bearer_of(dana)
    response = post(path, body(), headers)
    assert response.status_code == 413
    assert len(sent) < 100  # it stopped reading early


# --- Django admin's video upload: a staff session allowed to add videos -----------


def video_form(cookie: str, csrf: str, path="/admin/pan/video/add/"):
    fields = {"title": "Clip", "content_type": "", "csrfmiddlewaretoken": csrf}
    body, content_type = multipart_files([("clip.mp4", OVER_SMALL, "video/mp4")], **fields)
    headers = {"Content-Type": content_type, "Cookie": cookie, "Origin": "http://127.0.0.1"}
    return post(path, body, headers)


@override_settings(MAX_SMALL_BODY=SMALL)
def test_only_a_staff_session_allowed_to_add_videos_uploads_one(alice, dana, bob):
    csrf = "C" * 32
    added = video_form(f"{session_cookie(alice)}; csrftoken={csrf}", csrf)
    assert added.status_code == 302, added.text[:500]  # saved, back to the list
    assert refused(video_form(f"{session_cookie(dana)}; csrftoken={csrf}", csrf))  # not staff
    assert refused(video_form(f"{session_cookie(bob)}; csrftoken={csrf}", csrf))
    assert refused(video_form(f"csrftoken={csrf}", csrf))  # no session
    made_up = f"{settings.SESSION_COOKIE_NAME}=k3v9q0x1m2n4b5c6d7e8f9g0h1j2l3p4; csrftoken={csrf}"
    assert refused(video_form(made_up, csrf))
    # Other admin forms stay small, whoever sends them.
    post_form = video_form(f"{session_cookie(alice)}; csrftoken={csrf}", csrf, path="/admin/pan/post/add/")
    assert post_form.status_code == 413


@override_settings(MAX_SMALL_BODY=SMALL)
def test_a_video_upload_needs_staff_and_the_video_permission_both(make_user):
    from django.contrib.auth.models import Permission

    csrf = "D" * 32
    add_video = Permission.objects.get(codename="add_video")
    staff = make_user("sam", roles=[])
    staff.is_staff = True
    staff.save()
    assert refused(video_form(f"{session_cookie(staff)}; csrftoken={csrf}", csrf))  # staff, no permission
    permitted = make_user("tom", roles=[])
    permitted.user_permissions.add(add_video)
    assert refused(video_form(f"{session_cookie(permitted)}; csrftoken={csrf}", csrf))  # permission, not staff
    staff.user_permissions.add(add_video)
    assert video_form(f"{session_cookie(staff)}; csrftoken={csrf}", csrf).status_code == 302
