"""How large a request body the server takes before storing any of it (SPEC §2).

One rule, `body_limit`, applied at two layers:

- under daphne in Twisted, as soon as a request's headers are in
  (`project.lib.daphne_fixes.refuses_large_bodies`): Twisted writes every
  body to a temporary file before the application runs, so no ASGI guard
  can answer in time there;
- under any other server (uvicorn, granian) by `BodySizeGuard` in front of
  Django, which reads the body only when a view asks for it.

The rule: a POST to an upload path (`pan.asgi.upload_limit`) that carries
credentials may be as large as that path allows; a POST to a drop-off
request's drop paths as large as its drop pass says (`dropoff/passes.py`); every other request is
held to `MAX_SMALL_BODY` (1 MiB), enough for every form and JSON body Pan
takes (the largest, a 512 KiB text, is sent to `/api/shares`, an upload
path). Over the limit: 413 before the body is read, or, for a body without a
length, as soon as the count passes the limit.

Credentials are checked without the database, because under daphne this
runs in the reactor thread for every request that has a body:

- `Authorization: Bearer <access token>` is verified as DRF verifies it
  (signature, `exp`, `iat`, token type, audience, issuer, from simplejwt's
  settings), minus the user lookup: an unexpired token of a user deleted or
  deactivated since still gets the upload limit, and Django answers 401
  after the body. A Bearer header that does not verify counts as no
  credentials, even with a session cookie beside it (DRF answers 401 then).
- A browser session is checked by its upload pass
  (`accounts.upload_pass`): a cookie signed by this server for that session
  key while a user was signed in, verified with one HMAC. The session
  itself lives in the database and is checked by Django once the body is
  in. Beside the pass, a CSRF token proven in the headers: either
  `X-CSRFToken` matching the `csrftoken` cookie (Pan's upload page) or an
  `Origin` of this host or a trusted origin (a plain form post: Django
  admin's video upload). A session cookie without a valid pass, however
  well shaped, gets the small limit.
"""

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation.trans_real import get_supported_language_variant, parse_accept_lang_header
from rest_framework import status

from accounts.upload_pass import COOKIE_NAME as UPLOAD_PASS_COOKIE
from accounts.upload_pass import upload_pass_matches
from dropoff.passes import COOKIE_NAME as DROP_PASS_COOKIE
from dropoff.passes import HEADER_NAME as DROP_PASS_HEADER
from dropoff.passes import drop_body_limit, drop_path_code
from pan.asgi import upload_limit
from pan.errors import FileTooLarge
from project.lib.errors import ApplicationError, error_body

Headers = Iterable[tuple[bytes, bytes]]


class BodyTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "body_too_large"
    default_message = _("The request is larger than this server accepts.")


def body_limit(method: str, path: str, headers: Headers) -> int:
    """The largest body accepted for this request before any of it is stored.

    `headers` are (lower-case name, value) byte pairs, as in an ASGI scope.
    """
    small = settings.MAX_SMALL_BODY
    if method.upper() != "POST":  # Django upper-cases the method it routes on
        return small
    drop_code = drop_path_code(path)
    if drop_code is not None:
        return _drop_limit(drop_code, headers) or small
    upload = upload_limit(path)
    if upload is None or not has_credentials(headers):
        return small
    return upload


def _drop_limit(code: str, headers: Headers) -> int | None:
    """What the drop pass in the `X-Drop-Pass` header or the `pan_drop` cookie allows (dropoff/passes.py)."""
    cookies = []
    for name, value in headers:
        if name == DROP_PASS_HEADER:
            limit = drop_body_limit(code, value.decode("latin-1"))
            if limit is not None:
                return limit
        elif name == b"cookie":
            cookies.append(value.decode("latin-1"))
    value = parse_cookie("; ".join(cookies)).get(DROP_PASS_COOKIE)
    return drop_body_limit(code, value) if value else None


def refusal_for(method: str, path: str) -> type[ApplicationError]:
    """The error a body over `body_limit` is refused with: an upload is a file too large."""
    is_upload = upload_limit(path) is not None or drop_path_code(path) is not None
    return FileTooLarge if method.upper() == "POST" and is_upload else BodyTooLarge


def refusal_body(error: type[ApplicationError], accept_language: str) -> bytes:
    """The JSON error body, in the caller's language (the project's error shape)."""
    with translation.override(_language(accept_language)):
        return json.dumps(error_body(error.code, error.default_message)).encode()


def refusal_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    # The unread rest of the body makes the connection unusable: close it.
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]


# --- credentials, checked without the database --------------------------------


def has_credentials(headers: Headers) -> bool:
    """A verified Bearer access token, or a browser session with its upload pass and CSRF proof (see the module)."""
    wanted = {b"authorization", b"cookie", _csrf_header_name(), b"origin", b"host"}
    found: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        if name in wanted:
            found.setdefault(name, []).append(value)
    authorization = found.get(b"authorization")
    if authorization:
        verdict = bearer_token_verifies(authorization[0])
        if verdict is not None:
            return verdict
    return _session_present(found)


def _validated_bearer(authorization: bytes) -> tuple[bool, str | None]:
    """(a Bearer header at all, the user id of its token when it verifies) —
    signature, `exp`, type, audience, issuer — without the database."""
    # Imported late: simplejwt reads settings and the user model on import.
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.exceptions import InvalidToken
    from rest_framework_simplejwt.settings import api_settings

    authentication = JWTAuthentication()
    try:
        raw = authentication.get_raw_token(authorization)
        if raw is None:
            return False, None
        token = authentication.get_validated_token(raw)
    except (AuthenticationFailed, InvalidToken):
        return True, None
    user_id = token.get(api_settings.USER_ID_CLAIM)
    return True, None if user_id is None else str(user_id)


def bearer_user_id(authorization: bytes) -> str | None:
    """The user id of a Bearer access token that verifies; None otherwise (the rate limiter's key)."""
    return _validated_bearer(authorization)[1]


def bearer_token_verifies(authorization: bytes) -> bool | None:
    """True/False for a Bearer header that does or does not verify; None for another scheme."""
    is_bearer, user_id = _validated_bearer(authorization)
    return (user_id is not None) if is_bearer else None


def _csrf_header_name() -> bytes:
    # CSRF_HEADER_NAME is a META key: HTTP_X_CSRFTOKEN -> x-csrftoken.
    return settings.CSRF_HEADER_NAME.removeprefix("HTTP_").lower().replace("_", "-").encode()


def _session_present(found: dict[bytes, list[bytes]]) -> bool:
    from django.middleware.csrf import InvalidTokenFormat, _check_token_format

    cookies = parse_cookie("; ".join(value.decode("latin-1") for value in found.get(b"cookie", [])))
    if not upload_pass_matches(cookies.get(UPLOAD_PASS_COOKIE, ""), cookies.get(settings.SESSION_COOKIE_NAME, "")):
        return False
    secret = cookies.get(settings.CSRF_COOKIE_NAME, "")
    if not settings.CSRF_USE_SESSIONS:  # else the secret is in the session, out of reach
        try:
            _check_token_format(secret)
        except InvalidTokenFormat:
            return False
    header_token = (found.get(_csrf_header_name()) or [b""])[0].decode("latin-1")
    if header_token:
        return _csrf_token_matches(header_token, secret)
    origin = (found.get(b"origin") or [b""])[0].decode("latin-1")
    host = (found.get(b"host") or [b""])[0].decode("latin-1")
    if not origin or origin == "null":
        return False
    return (bool(host) and urlsplit(origin).netloc == host) or origin in settings.CSRF_TRUSTED_ORIGINS


def _csrf_token_matches(header_token: str, secret: str) -> bool:
    # Django's own token format and (un)masking, so this agrees with its CSRF check.
    from django.middleware.csrf import (
        CSRF_TOKEN_LENGTH,
        InvalidTokenFormat,
        _check_token_format,
        _does_token_match,
        _unmask_cipher_token,
    )

    try:
        _check_token_format(header_token)
    except InvalidTokenFormat:
        return False
    if settings.CSRF_USE_SESSIONS:
        return True  # only the token's format can be checked
    if len(secret) == CSRF_TOKEN_LENGTH:  # masked, as Django < 4.0 stored it
        secret = _unmask_cipher_token(secret)
    return _does_token_match(header_token, secret)


def request_language(accept: str) -> str:
    """The site language for an `Accept-Language` value (outside Django's request cycle)."""
    return _language(accept)


def _language(accept: str) -> str:
    for code, _quality in parse_accept_lang_header(accept):
        if code == "*":
            continue
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


# --- the ASGI guard (every server but daphne, where Twisted answers first) -----


class BodySizeGuard:
    """413 for a body over `body_limit`, before Django reads any of it.

    Django's ASGI handler reads the whole body (spooling past 2.5 MiB to a
    temporary file) before any view or middleware runs. This answers at once
    when `Content-Length` is over the limit, and for a body without a length
    counts bytes as they arrive and stops Django's read once the count passes
    the limit (Django treats that as a client that went away: it drops what
    it read and calls no view), then answers 413.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = scope.get("headers") or []
        method, path = scope.get("method", ""), scope.get("path", "")
        limit = body_limit(method, path, headers)
        length = dict(headers).get(b"content-length")
        if length is not None:
            try:
                too_large = int(length) > limit
            except ValueError:
                too_large = False  # the server or Django answers a malformed length itself
            if too_large:
                return await self._refuse(scope, send)
            return await self.app(scope, receive, send)

        received = 0
        stopped = False

        async def counting_receive():
            nonlocal received, stopped
            if stopped:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    stopped = True
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counting_receive, send)
        if stopped:
            await self._refuse(scope, send)

    @staticmethod
    async def _refuse(scope, send) -> None:
        accept = dict(scope.get("headers") or []).get(b"accept-language", b"").decode("latin-1")
        body = refusal_body(refusal_for(scope.get("method", ""), scope.get("path", "")), accept)
        await send({"type": "http.response.start", "status": 413, "headers": refusal_headers(body)})
        await send({"type": "http.response.body", "body": body})
