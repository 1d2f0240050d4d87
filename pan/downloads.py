"""Responses that carry a share's bytes: one item (with `Range`) or a zip.

Call these after `pan.access.share_access`, from sync views (they may touch
the database and storage). Each decides with `pan.grants.download_begin`
whether the response counts a download, and streams with a tracker that
records completion just before the last chunk (see pan/grants.py).
"""

import logging
import unicodedata

from asgiref.sync import sync_to_async
from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from zipstream import ZipStream

from project.lib.errors import ValidationFailed
from project.lib.stored_files import stored_open
from project.lib.streaming import (
    CHUNK_SIZE,
    RangeNotSatisfiable,
    content_disposition,
    range_not_satisfiable,
    requested_range,
    served_bytes_headers,
    stream_chunks,
    stream_file,
    tracked,
)

from .errors import ItemMissing, ItemNotFound, StorageUnavailable
from .grants import DownloadTracker, download_begin, recipient_of
from .models import Item, ItemKind, Share
from .services import share_mark_broken
from .uploads import ACTIVE_TYPES, download_name, is_previewable, path_numbered

logger = logging.getLogger(__name__)


def served_content_type(item: Item, *, inline: bool) -> str:
    base = item.content_type.split(";", 1)[0].strip().lower()
    if base in ACTIVE_TYPES or base.endswith("+xml") or (inline and not is_previewable(item.content_type)):
        return "application/octet-stream"
    if item.kind == ItemKind.TEXT:
        return "text/plain; charset=utf-8"
    return item.content_type


def share_item_get(*, share: Share, item_id) -> Item:
    try:
        item_id = int(item_id)
    except (TypeError, ValueError):
        raise ItemNotFound() from None
    item = next((item for item in share.items.all() if item.pk == item_id), None)
    if item is None:
        raise ItemNotFound()
    return item


def share_items_pick(*, share: Share, raw: str | None) -> list[Item]:
    """`?items=1,3`: those items of the share (400 for garbage, 404 for ids not in it); none = all."""
    items = list(share.items.all())
    if raw is None or not raw.strip():
        return items
    try:
        wanted = {int(part) for part in raw.split(",") if part.strip()}
    except ValueError:
        raise ValidationFailed(fields={"items": [_("List item ids separated by commas.")]}) from None
    if not wanted or len(wanted) > len(items):
        raise ValidationFailed(fields={"items": [_("List item ids separated by commas.")]})
    by_id = {item.pk: item for item in items}
    if not wanted <= by_id.keys():
        raise ItemNotFound()
    return [item for item in items if item.pk in wanted]


def _open_stored(share: Share, item: Item):
    """Open an item's stored object before any response starts, so a missing
    object answers 410 (and marks the share broken) and an unreachable
    storage 503, never a 200 that breaks off."""
    try:
        return stored_open(default_storage, item.storage_key)
    except FileNotFoundError:
        share_mark_broken(share=share)
        logger.error("stored object %s of share %s is missing", item.storage_key, share.unique_name)
        raise ItemMissing() from None
    except Exception as exc:  # noqa: BLE001 - any storage failure is the same 503 to the client
        logger.warning("storage unreachable opening %s: %s", item.storage_key, exc)
        raise StorageUnavailable() from exc


async def _bytes_chunks(data: bytes, start: int = 0, length: int | None = None):
    view = memoryview(data)[start : start + (len(data) if length is None else length)]
    for offset in range(0, len(view), CHUNK_SIZE):
        yield bytes(view[offset : offset + CHUNK_SIZE])


def item_download_response(
    *, request, share: Share, item: Item, grant_key: str | None, session: bool, inline: bool = False
):
    """200/206/416 for one item, a download or an `inline` preview alike:
    counts and reserves as pan/grants.py says (a response that carries the
    last byte counts; a short range counts nothing but needs a slot on a
    limited share); never for HEAD or `grant_key=None`."""
    etag = f'"{item.sha256}"'
    try:
        byte_range = requested_range(request, size=item.size, etag=etag, last_modified=item.created_at)
    except RangeNotSatisfiable:
        return range_not_satisfiable(item.size)
    head = request.method == "HEAD"
    handle = _open_stored(share, item) if item.kind == ItemKind.FILE else None
    if head and handle is not None:
        handle.close()
        handle = None
    try:
        ticket = download_begin(
            share=share,
            grant_key=None if head else grant_key,
            target=f"item:{item.pk}",
            start=byte_range.start,
            reaches_end=byte_range.reaches_end,
            session=session,
            recipient=recipient_of(request),
        )
    except BaseException:
        if handle is not None:
            handle.close()
        raise
    tracker = DownloadTracker(ticket) if ticket.grant_pk is not None else None
    response = stream_file(
        storage=default_storage,
        name=item.storage_key,
        byte_range=byte_range,
        content_type=served_content_type(item, inline=inline),
        etag=etag,
        last_modified=item.created_at,
        filename=item.name,
        inline=inline and is_previewable(item.content_type),
        head=head,
        tracker=tracker,
        handle=handle,
    )
    if item.kind == ItemKind.TEXT and not head:
        # Texts live in the database: the same response, fed from memory.
        response.streaming_content = _tracked_text(item, byte_range, tracker)
    return response


def _tracked_text(item: Item, byte_range, tracker):
    chunks = _bytes_chunks(item.text.encode(), byte_range.start, byte_range.length)
    return tracked(chunks, byte_range.length, tracker, f"text item {item.pk}")


# --- Zip ----------------------------------------------------------------------


def _stored_reader(item: Item):
    with stored_open(default_storage, item.storage_key) as handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


def _entry_key(path: str) -> str:
    """What a case-insensitive file system (Windows, macOS) sees of a name:
    Unicode's canonical caseless match, NFD(casefold(NFD(path)))."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", path).casefold())


def zip_entry_names(paths: list[str]) -> list[str]:
    """The zip entry name of each item path, in order, such that every
    extractor can unpack them all: no two entries the same, even without
    regard to case (`A.txt` and `a.txt`), and no file entry where another
    entry needs a folder (`dir` beside `dir/x`).

    A path that clashes is numbered like a duplicate at upload
    (`dir (2)`, `a (2).txt`); folders are never renamed, and a path that
    clashes with nothing keeps its name even when it comes later. Only the
    archive is affected: the items keep their paths in the share.
    """
    paths = [path or "file" for path in paths]
    keys = [_entry_key(path) for path in paths]
    folders = {"/".join(parts[:end]) for parts in (key.split("/") for key in keys) for end in range(1, len(parts))}
    names: list[str | None] = [None] * len(paths)
    taken: set[str] = set()
    for index, key in enumerate(keys):
        if key not in folders and key not in taken:
            names[index] = paths[index]
            taken.add(key)
    for index, path in enumerate(paths):
        if names[index] is not None:
            continue
        number = 2
        while (key := _entry_key(candidate := path_numbered(path, number))) in taken or key in folders:
            number += 1
        names[index] = candidate
        taken.add(key)
    return names  # type: ignore[return-value]


def _zip_stream(items: list[Item]) -> ZipStream:
    """A stored (uncompressed) zip whose size is known before the first byte:
    folder paths kept (entry names from `zip_entry_names`), UTF-8 names,
    ZIP64 when past 4 GiB (zipstream-ng)."""
    archive = ZipStream(sized=True)
    for item, name in zip(items, zip_entry_names([item.path for item in items]), strict=True):
        if item.kind == ItemKind.TEXT:
            archive.add(item.text.encode(), name)
        else:
            archive.add(_stored_reader(item), name, size=item.size)
    return archive


async def _zip_chunks(archive: ZipStream):
    """The zip's bytes, generated in a worker thread, in pieces of about CHUNK_SIZE."""
    parts = iter(archive)
    pending: list[bytes] = []
    pending_size = 0

    def pull():
        return next(parts, None)

    while True:
        part = await sync_to_async(pull, thread_sensitive=False)()
        if part is None:
            break
        pending.append(part)
        pending_size += len(part)
        if pending_size >= CHUNK_SIZE:
            yield b"".join(pending)
            pending, pending_size = [], 0
    if pending:
        yield b"".join(pending)


def zip_download_response(*, request, share: Share, items: list[Item], grant_key: str | None, session: bool):
    """All (or the picked) items as one streamed zip with `Content-Length`
    known in advance. Counts like a whole item; HEAD counts nothing."""
    for item in items:
        if item.kind == ItemKind.FILE:
            _open_stored(share, item).close()  # 410/503 now rather than a zip that breaks off
    archive = _zip_stream(items)
    if request.method == "HEAD":
        response = HttpResponse()
        served_bytes_headers(response)
        response["Content-Length"] = str(len(archive))
    else:
        target = "zip" if len(items) == len(share.items.all()) else "zip:" + ",".join(str(i.pk) for i in items)
        ticket = download_begin(
            share=share,
            grant_key=grant_key,
            target=target,
            session=session,
            recipient=recipient_of(request),
        )
        tracker = DownloadTracker(ticket) if ticket.grant_pk is not None else None
        response = stream_chunks(
            _zip_chunks(archive), length=len(archive), tracker=tracker, label=f"zip of {share.unique_name}"
        )
    response["Content-Type"] = "application/zip"
    # The title is the owner's words, checked as text only: as a file name it
    # goes through the name rules (a direction override would show "x.zip"
    # as "piz.x", or "…exe.pdf").
    name = download_name(share.title or share.unique_name, ".zip")
    response["Content-Disposition"] = content_disposition("attachment", name)
    return response
