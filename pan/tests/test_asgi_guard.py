"""Bodies over their limit are refused before Django reads them (project/lib/bodies.py).

`body_limit` is the rule (tested here on its own); `BodySizeGuard` applies it
in front of Django under every server but daphne, where Twisted applies it
first (project/tests/test_live_bodies.py tests both servers for real).
"""

import asyncio
from datetime import timedelta

import httpx
import jwt
import pytest
import time_machine
from django.conf import settings
from django.middleware.csrf import get_token
from django.test import RequestFactory, override_settings
from django.utils import timezone

from accounts.tokens import PanAccessToken, PanRefreshToken
from accounts.upload_pass import upload_pass_for
from pan.asgi import MULTIPART_ALLOWANCE, upload_limit
from project.lib.bodies import body_limit

from .conftest import multipart

SESSION_KEY = "k3v9q0x1m2n4b5c6d7e8f9g0h1j2l3p4"


def session_cookies(session_key: str = SESSION_KEY) -> str:
    """A signed-in session's cookies: its key and its upload pass (accounts/upload_pass.py)."""
    return f"sessionid={session_key}; pan_upload={upload_pass_for(session_key)}"


def bearer(**claims) -> str:
    token = PanAccessToken()
    token["user_id"] = 1
    raw = str(token)
    if not claims:
        return raw
    payload = jwt.decode(raw, options={"verify_signature": False})
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")


def headers_of(**named) -> list[tuple[bytes, bytes]]:
    return [(name.replace("_", "-").lower().encode(), value.encode()) for name, value in named.items()]


def browser_session(**extra) -> list[tuple[bytes, bytes]]:
    """What Pan's upload page sends: session and CSRF cookies, the masked token in X-CSRFToken."""
    request = RequestFactory().get("/")
    masked = get_token(request)
    secret = request.META["CSRF_COOKIE"]
    return headers_of(cookie=f"{session_cookies()}; csrftoken={secret}", x_csrftoken=masked, **extra)


# --- the rule ------------------------------------------------------------------


def test_anonymous_requests_get_the_small_limit_everywhere():
    small = settings.MAX_SMALL_BODY
    assert small == 1024 * 1024
    for method, path in [("POST", "/api/short"), ("POST", "/api/login"), ("POST", "/api/files"), ("GET", "/")]:
        assert body_limit(method, path, []) == small
    assert body_limit("POST", "/api/shares", headers_of(authorization="Basic YTpi")) == small


def test_a_valid_access_token_gets_the_upload_limit_on_upload_paths_only():
    auth = headers_of(authorization=f"Bearer {bearer()}")
    assert body_limit("POST", "/api/files", auth) == upload_limit("/api/files")
    assert body_limit("POST", "/api/shares", auth) == upload_limit("/api/shares")
    assert body_limit("post", "/api/shares/abcDEF12/items", auth) == upload_limit("/api/shares/abcDEF12/items")
    assert body_limit("POST", "/api/short", auth) == settings.MAX_SMALL_BODY
    assert body_limit("PATCH", "/api/shares/abcDEF12", auth) == settings.MAX_SMALL_BODY


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: bearer()[:-4] + "AAAA", id="bad-signature"),
        pytest.param(lambda: jwt.encode({"token_type": "access", "user_id": 1}, "x" * 40), id="other-key"),
        pytest.param(lambda: str(PanRefreshToken()), id="refresh-token"),
        pytest.param(lambda: bearer(token_type="refresh"), id="wrong-type"),
        pytest.param(lambda: bearer(aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda: bearer(iss="someone-else"), id="wrong-issuer"),
        pytest.param(lambda: bearer(iat=None), id="no-issued-at"),
        pytest.param(lambda: bearer(user_id=None), id="no-user"),
        pytest.param(lambda: "not-a-token", id="garbage"),
    ],
)
def test_a_token_that_does_not_verify_gets_the_small_limit(token):
    assert body_limit("POST", "/api/files", headers_of(authorization=f"Bearer {token()}")) == settings.MAX_SMALL_BODY


def test_an_expired_token_gets_the_small_limit():
    with time_machine.travel(timezone.now() - timedelta(hours=1), tick=False):
        old = bearer()
    assert body_limit("POST", "/api/files", headers_of(authorization=f"Bearer {old}")) == settings.MAX_SMALL_BODY


def test_a_browser_session_with_its_csrf_token_gets_the_upload_limit():
    assert body_limit("POST", "/api/shares", browser_session()) == upload_limit("/api/shares")


def test_a_session_without_a_matching_csrf_proof_gets_the_small_limit():
    small = settings.MAX_SMALL_BODY
    good = dict(browser_session())
    other_secret = "A" * 32
    cases = {
        "no session": headers_of(
            cookie=good[b"cookie"].decode().split("; ")[2], x_csrftoken=good[b"x-csrftoken"].decode()
        ),
        "session of another shape": headers_of(
            cookie=good[b"cookie"].decode().replace(SESSION_KEY, "short"), x_csrftoken=good[b"x-csrftoken"].decode()
        ),
        "token of another cookie": headers_of(
            cookie=f"{session_cookies()}; csrftoken={other_secret}", x_csrftoken=good[b"x-csrftoken"].decode()
        ),
        "no token": headers_of(cookie=good[b"cookie"].decode()),
        "foreign origin": headers_of(cookie=good[b"cookie"].decode(), origin="https://evil.example", host="pan.test"),
        "opaque origin, no host": headers_of(cookie=good[b"cookie"].decode(), origin="null"),
        "own origin, no csrf cookie": headers_of(cookie=session_cookies(), origin="https://pan.test", host="pan.test"),
    }
    for case, headers in cases.items():
        assert body_limit("POST", "/api/shares", headers) == small, case


def test_a_form_post_from_the_sites_own_origin_counts_as_a_session():
    # Django admin's video form sends its CSRF token in the body; the browser sends Origin.
    cookie = f"{session_cookies()}; csrftoken={'B' * 32}"
    form = headers_of(cookie=cookie, origin="https://pan.test", host="pan.test")
    assert body_limit("POST", "/admin/pan/video/add/", form) == settings.PAN_MAX_UPLOAD_SIZE + MULTIPART_ALLOWANCE
    assert body_limit("POST", "/admin/pan/video/7/change/", form) == settings.PAN_MAX_UPLOAD_SIZE + MULTIPART_ALLOWANCE
    assert body_limit("POST", "/admin/pan/post/add/", form) == settings.MAX_SMALL_BODY


def test_a_session_without_a_valid_upload_pass_gets_the_small_limit():
    # A made-up session cookie of the right shape, with a CSRF cookie and a
    # header that match each other, is what anyone can send.
    small = settings.MAX_SMALL_BODY
    good = dict(browser_session())
    token = good[b"x-csrftoken"].decode()
    csrf_cookie = good[b"cookie"].decode().split("; ")[2]
    other_key = "z" * 32
    with time_machine.travel(timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE + 60), tick=False):
        expired = upload_pass_for(SESSION_KEY)
    cases = {
        "no pass": f"sessionid={SESSION_KEY}; {csrf_cookie}",
        "another session's pass": f"sessionid={SESSION_KEY}; pan_upload={upload_pass_for(other_key)}; {csrf_cookie}",
        "tampered pass": f"sessionid={SESSION_KEY}; pan_upload={upload_pass_for(SESSION_KEY)[:-2]}xx; {csrf_cookie}",
        "expired pass": f"sessionid={SESSION_KEY}; pan_upload={expired}; {csrf_cookie}",
        "pass without its session": f"pan_upload={upload_pass_for(SESSION_KEY)}; {csrf_cookie}",
    }
    for case, cookie in cases.items():
        assert body_limit("POST", "/api/shares", headers_of(cookie=cookie, x_csrftoken=token)) == small, case


def test_a_session_does_not_rescue_a_bearer_token_that_fails():
    # DRF answers 401 for a bad token before it looks at the session.
    headers = [*browser_session(), *headers_of(authorization="Bearer not-a-token")]
    assert body_limit("POST", "/api/shares", headers) == settings.MAX_SMALL_BODY


def test_the_largest_text_fits_an_authenticated_share_as_a_form_field_or_json():
    # A 512 KiB text percent-encoded (3 bytes per UTF-8 byte) or JSON-escaped
    # (\\uXXXX: 6 bytes per 3-byte character, 12 per 4-byte one) stays under it.
    auth = headers_of(authorization=f"Bearer {bearer()}")
    assert body_limit("POST", "/api/shares", auth) >= 3 * settings.PAN_MAX_TEXT_SIZE + MULTIPART_ALLOWANCE


# --- the ASGI guard ------------------------------------------------------------


def post(path, content, headers):
    from project.asgi import application

    async def run():
        transport = httpx.ASGITransport(app=application, client=("192.0.2.1", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post(path, content=content, headers=headers)

    return asyncio.run(run())


@override_settings(PAN_MAX_UPLOAD_SIZE=1000)
def test_an_upload_declared_over_the_limit_is_413_at_once_in_the_callers_language():
    body, content_type = multipart(data=b"x" * (1000 + MULTIPART_ALLOWANCE + 1))
    auth = {"Authorization": f"Bearer {bearer()}", "Content-Type": content_type}
    english = post("/api/files", body, {**auth, "Accept-Language": "en"})
    assert english.status_code == 413
    assert english.json()["error"] == {
        "code": "file_too_large",
        "message": "The file is larger than this server accepts.",
    }
    chinese = post("/api/files", body, {**auth, "Accept-Language": "zh-CN,zh;q=0.9"})
    assert chinese.json()["error"]["message"] == "文件超过了服务器允许的大小。"


@override_settings(MAX_SMALL_BODY=1000)
def test_an_anonymous_body_over_the_small_limit_is_413_at_once():
    response = post("/api/short", b"x" * 1001, {"Content-Type": "application/json", "Accept-Language": "zh-CN"})
    assert response.status_code == 413
    assert response.json()["error"] == {"code": "body_too_large", "message": "请求超过了服务器允许的大小。"}
    assert response.headers["connection"] == "close"


@override_settings(MAX_SMALL_BODY=1000)
def test_an_anonymous_upload_gets_no_upload_allowance():
    body, content_type = multipart(data=b"x" * 2000)
    response = post("/api/files", body, {"Content-Type": content_type})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"


@override_settings(MAX_SMALL_BODY=1000, PAN_MAX_UPLOAD_SIZE=1000)
@pytest.mark.parametrize(("path", "auth"), [("/api/files", True), ("/api/login", False)])
def test_a_body_without_a_length_is_cut_off_once_it_passes_the_limit(path, auth):
    sent = []

    async def body():
        for _chunk in range(100):
            sent.append(1)
            yield b"x" * 4096

    headers = {"Content-Type": "multipart/form-data; boundary=x"}
    if auth:
        headers["Authorization"] = f"Bearer {bearer()}"
    response = post(path, body(), headers)
    assert response.status_code == 413
    assert len(sent) < 100  # it stopped reading early


@override_settings(PAN_MAX_UPLOAD_SIZE=1000)
def test_bodies_within_the_limit_reach_django():
    body, content_type = multipart(data=b"x" * 500)
    response = post("/api/files", body, {"Content-Type": content_type})
    assert response.status_code == 401  # Django answered: no token
