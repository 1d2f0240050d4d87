"""The tus 1.0.0 endpoints (SPEC §4.4b): `/api/uploads/` and `/api/uploads/<token>`.

Plain async Django views, not DRF: a PATCH streams its body to storage as it
arrives, so these views read the ASGI body themselves (`uploads/asgi.py`
keeps it away from Django's body reader, which would spool all of it
first). Creation authenticates like the API (DRF's authenticators: a
Bearer token, or a session with its CSRF token); an upload's URL is then
the only credential its PATCH, HEAD and DELETE need. Errors are the API's
JSON shape in the caller's language, with the tus headers.
"""

import asyncio
import base64
import binascii
import functools
import hashlib
import json
import time
from email.utils import format_datetime
from urllib.parse import unquote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import APIException

from dropoff.unlocks import request_unlocked
from pan.services import share_options_check
from project.lib.errors import (
    DATABASE_UNAVAILABLE_ERRORS,
    ApplicationError,
    ValidationFailed,
    database_unavailable_logged,
    error_body,
)
from project.lib.net import client_address

from . import services, storage
from .asgi import BODY_RECEIVE
from .errors import (
    BadUploadHeader,
    BodyIncomplete,
    ChecksumMismatch,
    ChecksumUnsupported,
    ChunkTooLarge,
    OffsetMismatch,
    TusVersionUnsupported,
    WrongContentType,
)

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum"
CHECKSUMS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "md5": hashlib.md5}
OCTETS = "application/offset+octet-stream"
# Bytes handed to the storage at a time, and how often a local file's offset is recorded.
BATCH = 1024 * 1024
RECORD_EVERY = 8 * 1024 * 1024
# How long a `curl -T` waits, once its body is in, for news that its client has gone.
LAST_LOOK = 0.01


def _base_headers() -> dict:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}


def _answer(status: int, headers: dict | None = None, body: dict | None = None, *, tus: bool = True) -> HttpResponse:
    content = json.dumps(body).encode() if body is not None else b""
    response = HttpResponse(content, status=status, content_type="application/json" if body is not None else None)
    if body is None:
        del response["Content-Type"]
    for name, value in {**(_base_headers() if tus else {}), **(headers or {})}.items():
        response[name] = value
    return response


def _error_answer(exc: Exception, *, tus: bool = True) -> HttpResponse:
    if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        exc = database_unavailable_logged(exc)
    if isinstance(exc, ApplicationError):
        headers = dict(exc.headers)
        if isinstance(exc, TusVersionUnsupported):
            headers["Tus-Version"] = TUS_VERSION
        return _answer(exc.status_code, headers, error_body(exc.code, exc.message, exc.fields), tus=tus)
    if isinstance(exc, APIException):  # DRF's authentication errors: 401/403
        code = getattr(exc.detail, "code", None) or exc.default_code
        headers = {"WWW-Authenticate": 'Bearer realm="api"'} if exc.status_code == 401 else {}
        return _answer(exc.status_code, headers, error_body(str(code), str(exc.detail)), tus=tus)
    raise exc


def _tus_view(*methods: str):
    """A tus view answering `methods`: 405 with `Allow` for any other, then the version check
    (a method the URL never answers is refused whatever the client speaks), then errors as JSON."""
    allowed = ", ".join(methods)

    def decorate(view):
        @functools.wraps(view)
        async def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                return _answer(405, {"Allow": allowed})
            try:
                if request.method != "OPTIONS" and request.method != "GET":
                    if request.headers.get("Tus-Resumable") != TUS_VERSION:
                        raise TusVersionUnsupported()
                return await view(request, *args, **kwargs)
            except (ApplicationError, APIException, *DATABASE_UNAVAILABLE_ERRORS) as exc:
                return _error_answer(exc)

        return csrf_exempt(wrapper)

    return decorate


def _options() -> HttpResponse:
    return _answer(
        204,
        {
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(settings.PAN_MAX_UPLOAD_SIZE),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
        },
    )


def _whole(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise BadUploadHeader(_("%(name)s must be a whole number of bytes.") % {"name": name})
    return int(value)


def _expires(upload) -> str:
    return format_datetime(upload.expires_at, usegmt=True)


def _state_headers(upload) -> dict:
    headers = {"Upload-Offset": str(upload.offset), "Upload-Expires": _expires(upload)}
    if upload.length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(upload.length)
    if upload.result_share_id is not None:
        headers.update(_result_headers(upload))
    return headers


def _result_headers(upload) -> dict:
    headers = {}
    share = upload.result_share
    if share is not None:
        headers["Pan-Share"] = share.unique_name
    if upload.receipt_key:
        headers["Pan-Receipt"] = reverse(
            "request-receipt", kwargs={"code": upload.request.code, "receipt_key": upload.receipt_key}
        )
    return headers


def _body_length(request) -> int | None:
    """The body's announced length; None for a chunked body."""
    if "Transfer-Encoding" in request.headers and "Content-Length" not in request.headers:
        return None
    return _whole(request.headers.get("Content-Length", "0") or "0", "Content-Length")


def _checksum(request):
    raw = request.headers.get("Upload-Checksum")
    if raw is None:
        return None
    algorithm, _sep, value = raw.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise ChecksumUnsupported()
    try:
        expected = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadUploadHeader(_("Upload-Checksum is not valid base64.")) from None
    return algorithm, expected


@_tus_view("OPTIONS", "POST")
async def uploads_root(request):
    """`OPTIONS` (what this server speaks) and `POST` (creation)."""
    if request.method == "OPTIONS":
        return _options()
    length = _whole(request.headers.get("Upload-Length"), "Upload-Length")
    deferred = request.headers.get("Upload-Defer-Length")
    if (length is None) == (deferred is None) or deferred not in (None, "1"):
        raise BadUploadHeader(_("Send Upload-Length, or Upload-Defer-Length: 1."))
    metadata = services.metadata_parse(request.headers.get("Upload-Metadata", ""))
    body = _body_length(request)
    if body != 0 and request.content_type != OCTETS:
        raise WrongContentType()
    if body is not None and length is not None and body > length:
        raise ChunkTooLarge()
    checksum = _checksum(request) if body != 0 else None
    user = await sync_to_async(_authenticated_user)(request)
    created = await sync_to_async(services.upload_create)(
        user=user, client=client_address(request), length=length, metadata=metadata, unlocked=_session_unlock(request)
    )
    upload = created.upload
    headers = {
        "Location": request.build_absolute_uri(reverse("upload", kwargs={"token": created.token})),
        "Upload-Expires": _expires(upload),
    }
    if body != 0:
        try:
            await _receive(request, upload, body, checksum)
        except ApplicationError as exc:
            # The upload exists: its URL goes with the error, and HEAD tells what was kept.
            exc.headers = {**exc.headers, **headers, "Upload-Offset": str(upload.offset)}
            raise
        headers.update(_state_headers(upload))
    elif upload.length == 0:
        await _finish(upload, hashlib.sha256())
        headers.update(_state_headers(upload))
    return _answer(201, headers)


def _authenticated_user(request, view=None):
    """The caller as the API sees it (DRF's authenticators: an API key within the scopes `view` declares,
    `uploads_root` by default, a JWT, or a session with its CSRF check)."""
    from rest_framework.request import Request
    from rest_framework.settings import api_settings

    authenticators = [cls() for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES]
    return Request(request, authenticators=authenticators, parser_context={"view": view or uploads_root}).user


def _session_unlock(request):
    """Has this browser session typed the request's password on its page? Then with Django's CSRF check, as the
    drop API does (a session is a credential another site's page could use)."""

    def unlocked(found) -> bool:
        from rest_framework.authentication import SessionAuthentication
        from rest_framework.request import Request

        if not request_unlocked(request.session, found):
            return False
        SessionAuthentication().enforce_csrf(Request(request))
        return True

    return unlocked


# What an API key needs to create an upload (accounts/authentication.py, docs/api-keys.md). The
# upload's own URL is its credential afterwards: `upload_detail` reads no `Authorization`.
uploads_root.api_key_scopes = {"POST": "shares:write"}


@_tus_view("OPTIONS", "HEAD", "PATCH", "DELETE", "GET")
async def upload_detail(request, token):
    """`HEAD` (the offset), `PATCH` (more bytes), `DELETE` (termination), `GET` (Pan's JSON view of it)."""
    if request.method == "OPTIONS":
        return _options()
    if request.method == "HEAD":
        upload = await sync_to_async(_found)(token)
        return _answer(200, _state_headers(upload))
    if request.method == "GET":
        upload = await sync_to_async(_found)(token)
        result = _result_headers(upload) if upload.result_share_id else {}
        return _answer(
            200,
            {},
            {
                "offset": upload.offset,
                "length": upload.length,
                "complete": upload.completed_at is not None,
                "share": result.get("Pan-Share"),
                "receipt_url": request.build_absolute_uri(result["Pan-Receipt"]) if "Pan-Receipt" in result else None,
            },
        )
    if request.method == "DELETE":
        upload = await sync_to_async(services.upload_find)(token=token, for_writing=True)
        await sync_to_async(services.upload_terminate)(upload=upload)
        return _answer(204)
    if request.content_type != OCTETS:
        raise WrongContentType()
    offset = _whole(request.headers.get("Upload-Offset"), "Upload-Offset")
    if offset is None:
        raise BadUploadHeader(_("Send Upload-Offset."))
    declared = _whole(request.headers.get("Upload-Length"), "Upload-Length")
    body = _body_length(request)
    checksum = _checksum(request)
    upload = await sync_to_async(services.upload_find)(token=token, for_writing=True)
    await sync_to_async(services.upload_patch_admit)(upload=upload, offset=offset, body_length=body, length=declared)
    await _receive(request, upload, body, checksum, offset=offset)
    return _answer(204, _state_headers(upload))


def _found(token):
    upload = services.upload_find(token=token)
    if upload.result_share_id is not None:
        # For the result headers: one query each now, in this thread.
        _ = upload.result_share, upload.request
    return upload


async def _receive(
    request, upload, body_length, checksum, *, offset: int = 0, whole: bool = False, share_options=None
) -> None:
    """Stream this request's body into the upload, under its lease; finish it at the last byte.

    `whole` (`curl -T`): this body is the whole file. A body without a length
    declares it when it ends; a client gone before the end raises
    `BodyIncomplete` (400), a body past the reservation the upload's 413
    (`services.put_overrun`); `share_options` go to the new share."""
    lease = await sync_to_async(services.upload_lease_take)(upload=upload, offset=offset)
    released = False
    try:
        try:
            session = await sync_to_async(storage.session_open)(upload)
        except storage.BytesLost as lost:
            await sync_to_async(services.upload_bytes_lost)(upload=upload, lease=lease, kept=lost.kept)
            raise OffsetMismatch(headers={"Upload-Offset": str(upload.offset)}) from None
        try:
            receive = request.scope[BODY_RECEIVE]
            outcome = await _stream(receive, upload, lease, session, checksum)
            if outcome.too_large:
                raise (await sync_to_async(services.put_overrun)(upload=upload)) if whole else ChunkTooLarge()
            if outcome.mismatch:
                raise ChecksumMismatch()
            if whole:
                if outcome.disconnected or await _client_gone(receive):
                    raise BodyIncomplete()
                if upload.length is None:
                    await sync_to_async(services.upload_length_declare)(upload=upload, length=upload.offset)
            if upload.length is not None and upload.offset == upload.length:
                await _finish(upload, outcome.digest, session=session, share_options=share_options)
                released = True
        finally:
            await sync_to_async(session.close)()
    finally:
        if not released:
            await sync_to_async(services.upload_record)(upload=upload, lease=lease, recorded={}, release=True)


class _Outcome:
    too_large = False
    mismatch = False
    disconnected = False
    digest = None


async def _stream(receive, upload, lease, session, checksum) -> _Outcome:
    outcome = _Outcome()
    digest = services.upload_digest_resume(upload=upload)
    check = CHECKSUMS[checksum[0]]() if checksum else None
    allowance = upload.lacking
    state = {"unrecorded": 0, "renewed": time.monotonic()}
    received = 0
    batch = bytearray()

    def write(data: bytes) -> None:
        if time.monotonic() - state["renewed"] > settings.PAN_UPLOAD_LEASE_SECONDS / 3:
            # A client that sent nothing for a while may have lost us the
            # lease: renew it (or stop, with 423) before writing a byte more.
            services.upload_record(upload=upload, lease=lease, recorded={} if check is not None else session_state())
            state["renewed"] = time.monotonic()
        sent = session.write(data)
        if digest is not None:
            digest.update(data)
        if check is not None:
            check.update(data)
            return  # nothing is recorded before the whole body is verified
        state["unrecorded"] += len(data)
        if sent or state["unrecorded"] >= RECORD_EVERY:
            services.upload_record(upload=upload, lease=lease, recorded=session_state())
            state["renewed"] = time.monotonic()

    def session_state() -> dict:
        # Still ours? (423 otherwise) Asked before the tail object is written:
        # a PATCH that lost its lease must not overwrite the tail of the one that took it.
        services.upload_record(upload=upload, lease=lease, recorded={})
        session.flush()
        state["unrecorded"] = 0
        return session.recorded()

    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            outcome.disconnected = True
            break
        chunk = message.get("body", b"")
        if received + len(chunk) > allowance:
            chunk = chunk[: allowance - received]
            outcome.too_large = True
        received += len(chunk)
        batch += chunk
        if len(batch) >= BATCH:
            await sync_to_async(write)(bytes(batch))
            batch.clear()
        if outcome.too_large or not message.get("more_body", False):
            break
    if batch:
        await sync_to_async(write)(bytes(batch))

    if check is not None and (outcome.disconnected or outcome.too_large or check.digest() != checksum[1]):
        # Nothing of this body counts: the next PATCH starts from the recorded offset again.
        outcome.mismatch = not outcome.disconnected and not outcome.too_large
        return outcome

    def record() -> None:
        services.upload_record(upload=upload, lease=lease, recorded=session_state())

    await sync_to_async(record)()
    services.upload_digest_keep(upload=upload, digest=digest)
    outcome.digest = digest
    return outcome


async def _client_gone(receive) -> bool:
    """One last look, once the whole body is in: has the client already gone?
    (A `curl -T` killed as its last bytes left: it will never see the code.)
    Best effort: a disconnect still on its way is not waited for."""
    try:
        message = await asyncio.wait_for(receive(), timeout=LAST_LOOK)
    except TimeoutError:
        return False
    return message.get("type") == "http.disconnect"


async def _finish(upload, digest, *, session=None, share_options=None) -> None:
    def finish():
        if session is not None:
            session.finish()
        else:  # an empty upload: one empty object
            empty = storage.session_open(upload)
            try:
                empty.finish()
            finally:
                empty.close()
        try:
            completed = services.upload_complete(
                upload=upload, sha256=digest.hexdigest() if digest else None, share_options=share_options
            )
        except BaseException:
            services.upload_terminate(upload=upload)
            raise
        for name in ("completed_at", "result_share_id", "receipt_key"):
            setattr(upload, name, getattr(completed, name))
        _ = upload.result_share, upload.request

    await sync_to_async(finish)()


# --- curl -T: PUT /api/put/<name> (docs/uploads.md, "curl -T") ----------------------------


def _header_text(value: str | None, *, percent_decoded: bool) -> str | None:
    """A header's text: the bytes on the wire (latin-1 to Django) read as
    UTF-8, what curl sends from a UTF-8 terminal, then (`Pan-Title`)
    percent-decoded as UTF-8 (`%E6%8A%A5` is 报): the portable way to send
    any character. Not UTF-8 either way: 400."""
    if value is None:
        return None
    try:
        text = value.encode("latin-1").decode("utf-8")
        return unquote(text, errors="strict") if percent_decoded else text
    except (UnicodeEncodeError, UnicodeDecodeError):
        return "\x00"  # refused by every text check, naming the field


def _digits(value: str | None, field: str) -> str | None:
    """A number header is ASCII digits and nothing else (no sign, no spaces): 400 naming `field` otherwise."""
    if value is not None and not (value.isascii() and value.isdigit()):
        raise ValidationFailed(fields={field: [_("Enter a whole number.")]})
    return value


def _put_options(request) -> dict:
    """`Pan-Title`, `Pan-Expires-In`, `Pan-Max-Downloads`, `Pan-Password`, checked as the shares API checks them."""
    headers = request.headers
    return share_options_check(
        title=_header_text(headers.get("Pan-Title"), percent_decoded=True),
        expires_in=_digits(headers.get("Pan-Expires-In"), "expires_in"),
        max_downloads=_digits(headers.get("Pan-Max-Downloads"), "max_downloads"),
        password=_header_text(headers.get("Pan-Password"), percent_decoded=False),
    )


def _put_text(share, request) -> str:
    """The 201's plain text: the share page's link, then the code (both lines stable for scripts), then
    `key: value` lines."""
    link = request.build_absolute_uri(share.get_absolute_url())
    download = request.build_absolute_uri(reverse("api-file-content", kwargs={"unique_name": share.unique_name}))
    expires = share.expires_at.isoformat().replace("+00:00", "Z") if share.expires_at else "never"
    lines = [
        link,
        share.code_display,
        f"expires: {expires}",
        f"downloads: {share.max_downloads or 'unlimited'}",
        f"password: {'yes' if share.password else 'no'}",
        f"download: {download}?code={share.code}",
    ]
    return "\n".join(lines) + "\n"


def _wants_json(request) -> bool:
    accept = request.headers.get("Accept", "")
    return any(part.split(";", 1)[0].strip() == "application/json" for part in accept.split(","))


def _put_created(request, upload) -> HttpResponse:
    from pan.serializers import ShareSerializer

    share = upload.result_share
    link = request.build_absolute_uri(share.get_absolute_url())
    if _wants_json(request):
        context = {"request": request, "include_code": True, "include_qr": True}
        response = HttpResponse(
            json.dumps(ShareSerializer(share, context=context).data), status=201, content_type="application/json"
        )
    else:
        response = HttpResponse(_put_text(share, request), status=201, content_type="text/plain; charset=utf-8")
    response["Location"] = link
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
async def put_upload(request, name: str | None = None):
    """`curl -T FILE -H "Authorization: Bearer …" https://host/api/put/` (curl adds the file's name):
    the body, streamed, becomes a new one-file share (201: its link and code).

    Every refusal comes before a byte of the body is read: 401/403, then the
    name and the options (400), then the file limit and the quota against the
    announced `Content-Length` (413). A body without a length is cut off with
    413 where it passes them. A client gone before the last byte leaves
    nothing: no share, no bytes, no reservation."""
    if request.method != "PUT":
        return _answer(405, {"Allow": "PUT"}, error_body("method_not_allowed", str(_("Use PUT."))), tus=False)
    upload = None
    try:
        user = await sync_to_async(_authenticated_user)(request, put_upload)
        await sync_to_async(services.put_admit)(user=user)
        name = services.put_file_name(name)
        options = await sync_to_async(_put_options)(request)
        length = _body_length(request)
        content_type = request.headers.get("Content-Type")
        created = await sync_to_async(services.put_begin)(
            user=user, name=name, content_type=content_type, length=length
        )
        upload = created.upload
        try:
            await _receive(request, upload, length, None, whole=True, share_options=options)
        except BaseException:
            await asyncio.shield(sync_to_async(services.put_abandon)(upload=upload))
            raise
        response = await sync_to_async(_put_created)(request, upload)
    except (ApplicationError, APIException, *DATABASE_UNAVAILABLE_ERRORS) as exc:
        answer = _error_answer(exc, tus=False)
        answer["Connection"] = "close"  # the body may be unread: this connection ends here
        return answer
    return response


# What an API key needs for `curl -T` (accounts/authentication.py, docs/api-keys.md).
put_upload.api_key_scopes = {"PUT": services.PUT_SCOPE}
