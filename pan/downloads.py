"""The one way bytes leave the server: access check, guessing limits, counting.

Every download (API, page form, inline preview) calls `shared_file_access`
and then `shared_file_download_response`.

Guessing limits live in Django's cache (atomic `add` + `incr`, shared by all
processes when Redis is configured), in two layers: per (client, file)
`PAN_CODE_CLIENT_LIMIT` wrong codes in `PAN_CODE_CLIENT_WINDOW` seconds, and
per file `PAN_CODE_FILE_LIMIT` in `PAN_CODE_FILE_WINDOW`. While a layer is
full every code (even the right one) answers 429 with `Retry-After`.

Counting: a response counts when it has handed the file's last byte to the
server. A response that will carry the last byte first reserves one of the
`max_downloads` slots with a conditional UPDATE, so two clients can never
both take the last one; the slot is released if the stream stops early. A
client whose download was counted is not counted again (and may resume even
a used-up file) for `PAN_DOWNLOAD_RESUME_WINDOW` seconds.
"""

import asyncio
import hashlib
import hmac
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db.models import F, Q

from accounts.permissions import user_has_pan_permission
from project.lib.net import client_key
from project.lib.streaming import RangeNotSatisfiable, range_not_satisfiable, requested_range, stream_file

from .errors import (
    CodeGuessingLimited,
    CodeRejected,
    DownloadNotAllowed,
    FileExpired,
    FileLockedForCodes,
    FileNotFound,
    FileRevoked,
    FileUsedUp,
    LoginRequiredToDownload,
)
from .models import FileState, SharedFile
from .uploads import is_previewable

# Types a browser could run as a document: offered as plain bytes instead.
_ACTIVE_TYPES = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml"}


def _client(client: str) -> str:
    return hashlib.sha256(client_key(client).encode()).hexdigest()[:24]


def _guess_keys(unique_name: str, client: str) -> list[tuple[str, int, int, type]]:
    return [
        (
            f"pan:guess:{unique_name}:{_client(client)}",
            settings.PAN_CODE_CLIENT_LIMIT,
            settings.PAN_CODE_CLIENT_WINDOW,
            CodeGuessingLimited,
        ),
        (f"pan:guess:{unique_name}", settings.PAN_CODE_FILE_LIMIT, settings.PAN_CODE_FILE_WINDOW, FileLockedForCodes),
    ]


def _open_window(key: str, window: int, now: float) -> tuple[int, float | None]:
    # The window is judged from its stored start, so it ends on time on
    # every cache backend (and under time_machine).
    since = cache.get(f"{key}:since")
    if since is None or now >= since + window:
        return 0, None
    return cache.get(key) or 0, since


def _count_wrong_code(key: str, window: int, now: float) -> None:
    if _open_window(key, window, now)[1] is None:
        cache.set_many({key: 0, f"{key}:since": now}, window)
    else:
        cache.add(key, 0, window)
    try:
        cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, window)


def code_guessing_locked_for(*, unique_name: str) -> int:
    """Seconds until a file under attack accepts codes again (0 = it does)."""
    now = time.time()
    key, limit, window, _error = _guess_keys(unique_name, "")[1]
    failures, since = _open_window(key, window, now)
    if limit and since is not None and failures >= limit:
        return max(1, int(since + window - now))
    return 0


def code_guessing_reset(*, unique_name: str) -> None:
    key = f"pan:guess:{unique_name}"
    cache.delete_many([key, f"{key}:since"])


def share_code_check(*, shared_file: SharedFile, code: str | None, client: str) -> None:
    """Compare a code in constant time, within the guessing limits.

    Codes are case-insensitive (upper-cased first). Raises
    `CodeGuessingLimited`/`FileLockedForCodes` (429, `Retry-After`) while a
    limit is reached, else `CodeRejected` (403) for a wrong or missing code.
    """
    now = time.time()
    keys = _guess_keys(shared_file.unique_name, client)
    for key, limit, window, error in keys:
        failures, since = _open_window(key, window, now)
        if limit and failures >= limit:
            raise error(retry_after=since + window - now)
    given = (code or "").strip().upper().encode()
    if hmac.compare_digest(given, shared_file.share_code.encode()):
        return
    for key, _limit, window, _error in keys:
        _count_wrong_code(key, window, now)
    raise CodeRejected()


def _recently_counted_key(shared_file: SharedFile, client: str) -> str:
    return f"pan:counted:{shared_file.unique_name}:{_client(client)}"


def shared_file_lookup(*, unique_name: str) -> SharedFile:
    """The file for a public page, or `FileNotFound`; expired/revoked/used-up raise 410 errors."""
    shared_file = SharedFile.objects.filter(unique_name=unique_name).first()
    if shared_file is None:
        raise FileNotFound()
    _raise_if_gone(shared_file, recently_counted=False)
    return shared_file


def _raise_if_gone(shared_file: SharedFile, *, recently_counted: bool) -> None:
    state = shared_file.state()
    if state == FileState.REVOKED:
        raise FileRevoked()
    if state == FileState.EXPIRED:
        raise FileExpired()
    if state == FileState.USED_UP and not recently_counted:
        raise FileUsedUp()


def shared_file_access(*, unique_name: str, code: str | None, user, client: str) -> SharedFile:
    """The single access check in front of every way bytes leave the server.

    In order: unknown → `FileNotFound` (404); revoked/expired/used up →
    410 errors (a client whose download was just counted may still resume);
    with `PAN_DOWNLOAD_REQUIRES_LOGIN`, anonymous → `LoginRequiredToDownload`
    (401) and no `download` permission → `DownloadNotAllowed` (403); then
    the code (`share_code_check`). The owner and `manage` holders need no
    code. Returns the file.
    """
    shared_file = SharedFile.objects.filter(unique_name=unique_name).first()
    if shared_file is None:
        raise FileNotFound()
    recently_counted = cache.get(_recently_counted_key(shared_file, client)) is not None
    _raise_if_gone(shared_file, recently_counted=recently_counted)
    authenticated = bool(user and user.is_authenticated)
    if settings.PAN_DOWNLOAD_REQUIRES_LOGIN:
        if not authenticated:
            raise LoginRequiredToDownload()
        if not (user_has_pan_permission(user, "download") or user_has_pan_permission(user, "manage")):
            raise DownloadNotAllowed()
    is_owner = authenticated and (shared_file.owner_id == user.pk or user_has_pan_permission(user, "manage"))
    if is_owner and not code:
        return shared_file
    share_code_check(shared_file=shared_file, code=code, client=client)
    return shared_file


def _reserve_slot(shared_file: SharedFile) -> bool:
    return bool(
        SharedFile.objects.filter(pk=shared_file.pk)
        .filter(Q(max_downloads__isnull=True) | Q(max_downloads__gt=F("download_count") + F("downloads_in_flight")))
        .filter(revoked_at__isnull=True)
        .update(downloads_in_flight=F("downloads_in_flight") + 1)
    )


def _finish(pk: int, *, reserved: bool, counted: bool) -> None:
    changes = {}
    if reserved:
        changes["downloads_in_flight"] = F("downloads_in_flight") - 1
    if counted:
        changes["download_count"] = F("download_count") + 1
    if changes:
        query = SharedFile.objects.filter(pk=pk)
        if reserved:
            query = query.filter(downloads_in_flight__gt=0)
        query.update(**changes)


async def _even_if_cancelled(coroutine) -> None:
    """Run a bookkeeping write to its end even when the request is cancelled.

    A client that closes the connection right after the last byte makes
    Django cancel the response task while the count is being written; a
    cancelled `sync_to_async` call that has not started yet would never run,
    leaving a reserved slot behind for good.
    """
    task = asyncio.ensure_future(coroutine)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


def served_content_type(shared_file: SharedFile, *, inline: bool) -> str:
    if shared_file.content_type in _ACTIVE_TYPES or (inline and not is_previewable(shared_file.content_type)):
        return "application/octet-stream"
    return shared_file.content_type


def shared_file_download_response(*, request, shared_file: SharedFile, client: str, inline: bool = False):
    """Stream a file that passed `shared_file_access`: 200, 206, 416 or 410.

    Call from a sync view (it may touch the database). Inline is for image
    and video previews only; everything else is an attachment.
    """
    etag = f'"{shared_file.sha256}"'
    try:
        byte_range = requested_range(request, size=shared_file.size, etag=etag, last_modified=shared_file.created_at)
    except RangeNotSatisfiable:
        return range_not_satisfiable(shared_file.size)
    head = request.method == "HEAD"
    counted_key = _recently_counted_key(shared_file, client)
    counts = byte_range.reaches_end and not head and cache.get(counted_key) is None
    reserved = False
    if counts and shared_file.max_downloads is not None:
        reserved = _reserve_slot(shared_file)
        if not reserved:
            raise FileUsedUp()
    pk = shared_file.pk

    async def count():
        await sync_to_async(_finish)(pk, reserved=reserved, counted=True)
        await cache.aset(counted_key, 1, settings.PAN_DOWNLOAD_RESUME_WINDOW)

    async def on_complete():
        if counts:
            await _even_if_cancelled(count())

    async def on_abort():
        if reserved:
            await _even_if_cancelled(sync_to_async(_finish)(pk, reserved=True, counted=False))

    return stream_file(
        storage=default_storage,
        name=shared_file.storage_name,
        byte_range=byte_range,
        content_type=served_content_type(shared_file, inline=inline),
        etag=etag,
        last_modified=shared_file.created_at,
        filename=shared_file.file_name,
        inline=inline and is_previewable(shared_file.content_type),
        head=head,
        on_complete=on_complete,
        on_abort=on_abort,
    )
