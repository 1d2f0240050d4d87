"""Rules for resumable uploads (tus 1.0.0, SPEC §4.4b): create, write, finish, terminate, purge.

The tus views (`uploads/views.py`) call these; the bytes move through
`uploads/storage.py`. Everything an upload may take is decided when it is
created: who may send it, into which share or request, and whether it fits
the file, share, request and quota limits, with what other open uploads
have reserved counted too (rows locked, so uploads created at once are
counted one after the other). When the last byte is stored the file joins
its target through the same services as a multipart upload
(`pan.services`, `dropoff.services`), so events, receipts, audit entries
and metrics follow as for any upload.
"""

import base64
import binascii
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import user_has_pan_permission
from dropoff import services as dropoff_services
from dropoff.errors import RequestFull
from dropoff.models import DropRequest, RequestState
from pan.errors import FileTooLarge, ShareNotFilling, ShareTooLarge, TooManyItems
from pan.leftovers import RESUMABLE_PREFIX
from pan.models import Share, new_storage_key
from pan.quotas import quota_exceeded, user_quota, user_reserved_bytes, user_stored_bytes
from pan.services import share_create, share_items_add
from pan.storing import StoredFile
from pan.uploads import content_type_for, item_path_sanitise
from project.lib.errors import NotFound, PermissionDenied, ValidationFailed
from project.lib.fields import validate_text
from project.lib.metrics import UPLOAD_BYTES, UPLOADS

from . import storage
from .errors import (
    BadUploadHeader,
    ChunkTooLarge,
    OffsetMismatch,
    RequestHasNoRoom,
    UploadBusy,
    UploadExpired,
    UploadFinished,
    UploadNotFound,
)
from .models import Upload, new_upload_token, token_digest

logger = logging.getLogger(__name__)

METADATA_KEYS = {"filename", "filetype", "relativePath", "share", "request", "password", "name", "note"}


# --- Metadata -------------------------------------------------------------------


def metadata_parse(header: str) -> dict[str, str]:
    """`Upload-Metadata`: comma-separated `key base64value` pairs (a key alone is an empty value).

    Raises `BadUploadHeader` (400) for malformed base64, values that are not
    UTF-8, repeated or unknown keys.
    """
    pairs: dict[str, str] = {}
    for raw in (header or "").split(","):
        raw = raw.strip()
        if not raw:
            continue
        key, _sep, value = raw.partition(" ")
        if key not in METADATA_KEYS:
            raise BadUploadHeader(_("Upload-Metadata has an unknown key: %(key)s.") % {"key": key[:40]})
        if key in pairs:
            raise BadUploadHeader(_("Upload-Metadata names %(key)s twice.") % {"key": key})
        try:
            pairs[key] = base64.b64decode(value.strip(), validate=True).decode() if value.strip() else ""
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise BadUploadHeader(_("Upload-Metadata is not valid base64 for %(key)s.") % {"key": key}) from None
    return pairs


# --- Creation ---------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    upload: Upload
    token: str


def _reserved(uploads) -> dict:
    return uploads.filter(completed_at__isnull=True).aggregate(files=Count("id"), size=Sum("reserved"))


def _open_uploads():
    return Upload.objects.filter(completed_at__isnull=True, expires_at__gt=timezone.now())


def upload_create(*, user, client: str, length: int | None, metadata: dict[str, str], unlocked=None) -> Created:
    """A new upload of `length` bytes (None: declared later, creation-defer-length).

    The target comes from `metadata`: `share` (the id of the user's share
    created with `uploading=true`), `request` (a drop-off request's code,
    with `password` when it has one; `name` and `note` of the sender; no
    account needed), or neither (a new one-item share of the user when it
    completes). Checks permission, the per-file, per-share and request
    limits and the quota, counting what other open uploads have reserved,
    and reserves `length` bytes (or, for a deferred length, as much as the
    limits leave, up to `PAN_MAX_UPLOAD_SIZE`). `unlocked(request) -> bool`:
    whether the caller's browser session already typed that request's
    password right (the request page), when no `password` is sent.

    Raises: `ValidationFailed`/`BadUploadHeader` (400: bad name, both
    targets), `PermissionDenied` (403: no `upload` permission),
    401 `NotAuthenticated` is the view's; `UploadNotFound`-like 404 for a
    share that is not the user's, `ShareNotFilling` (409), `FileTooLarge`,
    `ShareTooLarge`, `TooManyItems`, `QuotaExceeded`, `RequestFull` (413),
    the request's errors (404, 410, 401/403 password, 429 drops),
    `RequestHasNoRoom` (409: the request takes no more files).
    """
    if "share" in metadata and "request" in metadata:
        raise BadUploadHeader(_("Name a share or a request, not both."))
    path = item_path_sanitise(metadata.get("relativePath") or metadata.get("filename") or "")
    content_type = content_type_for(metadata.get("filetype") or None, path.rsplit("/", 1)[-1])[:255]
    limit = settings.PAN_MAX_UPLOAD_SIZE
    if length is not None and length > limit:
        raise FileTooLarge()
    if "request" in metadata:
        return _create_drop(
            client=client, length=length, metadata=metadata, path=path, content_type=content_type, unlocked=unlocked
        )
    if user is None or not user.is_authenticated:
        from rest_framework.exceptions import NotAuthenticated

        raise NotAuthenticated()
    if not user_has_pan_permission(user, "upload"):
        raise PermissionDenied()
    with transaction.atomic():
        share = None
        if "share" in metadata:
            share = Share.objects.select_for_update().filter(unique_name=metadata["share"][:32], owner=user).first()
            if share is None:
                raise NotFound(_("No such share of yours."))
            if share.complete:
                raise ShareNotFilling()
            if share.revoked_at is not None:
                raise ShareNotFilling(_("This share is not shared now."))
        reserved = _fit_share(share, length, limit)
        reserved = _fit_quota(user, length, reserved)
        upload = _upload_new(
            owner=user, share=share, path=path, content_type=content_type, length=length, reserved=reserved
        )
    return upload


def _fit_share(share: Share | None, length: int | None, limit: int) -> int:
    """The bytes this upload may reserve within the share's limits (a new share: the file limit)."""
    if share is None:
        return length if length is not None else limit
    items = share.items.aggregate(files=Count("id"), size=Sum("size"))
    pending = _reserved(_open_uploads().filter(share=share))
    files = items["files"] + pending["files"] + 1
    if files > settings.PAN_MAX_SHARE_ITEMS:
        raise TooManyItems(TooManyItems.default_message % {"max": settings.PAN_MAX_SHARE_ITEMS})
    room = settings.PAN_MAX_SHARE_SIZE - (items["size"] or 0) - (pending["size"] or 0)
    if length is None:
        if room <= 0:
            raise ShareTooLarge()
        return min(limit, room)
    if length > room:
        raise ShareTooLarge()
    return length


def owner_reserved_bytes(owner) -> int:
    """What the owner's unfinished uploads hold in reserve (counted by every quota check, `pan.quotas`)."""
    return _reserved(_open_uploads().filter(owner=owner))["size"] or 0


def _fit_quota(owner, length: int | None, reserved: int) -> int:
    """Within the owner's quota, counting open uploads' reservations (owner's row locked)."""
    quota = user_quota(owner)
    if quota is None:
        return reserved
    # The model, not type(owner): a session's user is a lazy object (SimpleLazyObject).
    owner._meta.model.objects.select_for_update().filter(pk=owner.pk).first()
    room = quota - user_stored_bytes(owner) - user_reserved_bytes(owner)
    if (length is None and room <= 0) or (length is not None and length > room):
        raise quota_exceeded(quota)
    return reserved if length is not None else min(reserved, room)


def _create_drop(*, client: str, length, metadata, path, content_type, unlocked) -> Created:
    request = dropoff_services.request_by_code(code=metadata["request"], client=client)
    password = metadata.get("password")
    if not (request.password and not password and unlocked is not None and unlocked(request)):
        dropoff_services.request_password_check(request=request, password=password, client=client)
    name = validate_text("name", metadata.get("name"), dropoff_services.MAX_NAME)
    note = validate_text("note", metadata.get("note"), dropoff_services.MAX_MESSAGE)
    if request.state() == RequestState.FULL:
        raise RequestHasNoRoom()  # tus's word for "no room at all" is 409; one file too large is 413
    dropoff_services.drop_admit(request=request, client=client)
    with transaction.atomic():
        locked = DropRequest.objects.select_for_update().get(pk=request.pk)
        dropoff_services.request_raise_if_closed(locked)
        pending = _reserved(_open_uploads().filter(request=locked))
        files_left = locked.files_left - pending["files"]
        bytes_left = locked.bytes_left - (pending["size"] or 0)
        if files_left <= 0 or bytes_left <= 0:
            raise RequestHasNoRoom()
        if length is not None and length > bytes_left:
            raise RequestFull()
        reserved = length if length is not None else min(settings.PAN_MAX_UPLOAD_SIZE, bytes_left)
        reserved = _fit_quota(locked.owner, length, reserved)
        return _upload_new(
            owner=locked.owner,
            request=locked,
            client=client,
            name=name,
            note=note,
            path=path,
            content_type=content_type,
            length=length,
            reserved=reserved,
        )


def _upload_new(**fields) -> Created:
    token = new_upload_token()
    now = timezone.now()
    upload = Upload(
        token_hash=token_digest(token),
        storage_key=f"{RESUMABLE_PREFIX}/{new_storage_key().rsplit('/', 1)[-1]}",
        created_at=now,
        expires_at=now + timedelta(seconds=settings.PAN_UPLOAD_EXPIRY),
        **fields,
    )
    storage.storage_begin(upload)
    try:
        upload.save()
    except BaseException:
        storage.storage_discard(storage_key=upload.storage_key, multipart_id=upload.multipart_id, complete=False)
        raise
    return Created(upload, token)


# --- Finding, the lease, writing ----------------------------------------------------


def upload_find(*, token: str, for_writing: bool = False) -> Upload:
    """The upload a URL's token names: 404 for none (a guessed or cut token
    too), 410 `UploadExpired` once expired; `for_writing`: 404
    `UploadFinished` for a complete one."""
    upload = Upload.objects.filter(token_hash=token_digest(token)).first() if token else None
    if upload is None:
        raise UploadNotFound()
    if upload.completed_at is None and upload.expires_at <= timezone.now():
        raise UploadExpired()
    if for_writing and upload.completed_at is not None:
        raise UploadFinished()
    return upload


def upload_patch_admit(*, upload: Upload, offset: int, body_length: int | None, length: int | None = None) -> None:
    """May this PATCH send its body? Answered before a byte of it is read.

    409 `OffsetMismatch` when `offset` is not the recorded offset: the lease
    (`upload_lease_take`) checks it again, in its conditional UPDATE, and
    only that check is safe against a PATCH at once; this one answers first,
    before the length is declared or the body judged. Then `length`
    (`Upload-Length` on a deferred upload) is declared (`upload_length_declare`),
    and a body announcing more than the upload still lacks is 413
    `ChunkTooLarge` (`body_length` None: a chunked body, cut off there while
    it streams)."""
    if offset != upload.offset:
        raise OffsetMismatch(headers={"Upload-Offset": str(upload.offset)})
    if length is not None:
        upload_length_declare(upload=upload, length=length)
    if body_length is not None and body_length > upload.lacking:
        raise ChunkTooLarge()


def upload_lease_take(*, upload: Upload, offset: int) -> str:
    """The right to write this upload now, for one request, in any process.

    A conditional UPDATE of the upload's row: it succeeds for one request
    only while no other holds an unexpired lease (423 `UploadBusy`), and
    only when `offset` is the recorded offset (409 `OffsetMismatch`). The
    lease lasts `PAN_UPLOAD_LEASE_SECONDS` and is renewed (`upload_record`)
    before bytes are written whenever a third of it has passed; a process
    killed mid-PATCH holds it until it expires.
    """
    lease = secrets.token_hex(16)
    now = timezone.now()
    seconds = settings.PAN_UPLOAD_LEASE_SECONDS
    taken = (
        Upload.objects.filter(pk=upload.pk, completed_at__isnull=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .filter(offset=offset)
        .update(lease=lease, lease_until=now + timedelta(seconds=seconds))
    )
    if taken:
        upload.refresh_from_db()
        return lease
    upload.refresh_from_db()
    if upload.completed_at is not None:
        raise UploadFinished()
    if upload.offset != offset:
        raise OffsetMismatch(headers={"Upload-Offset": str(upload.offset)})
    raise UploadBusy(headers={"Retry-After": str(max(1, int((upload.lease_until - now).total_seconds()) + 1))})


def upload_record(*, upload: Upload, lease: str, recorded: dict, release: bool = False) -> None:
    """Record what the storage now holds (offset, parts, tail) under our lease, and renew or release it.

    Raises `UploadBusy` (423) when the lease is no longer ours (it lapsed
    while the client sent nothing, and another request took the upload):
    the caller must stop writing at once."""
    fields = dict(recorded)
    if release:
        fields.update(lease="", lease_until=None)
    else:
        fields["lease_until"] = timezone.now() + timedelta(seconds=settings.PAN_UPLOAD_LEASE_SECONDS)
    held = Upload.objects.filter(pk=upload.pk, lease=lease).update(**fields)
    if not held and not release:
        raise UploadBusy()
    for name, value in recorded.items():
        setattr(upload, name, value)


def upload_bytes_lost(*, upload: Upload, lease: str, kept: int) -> None:
    """The storage holds only `kept` bytes of what was recorded: the offset goes back there
    (S3: the recorded parts, without the lost tail), and the client resumes from it."""
    _DIGESTS.pop(upload.pk, None)
    logger.warning("upload %s: storage holds %d of %d recorded bytes", upload.pk, kept, upload.offset)
    recorded = {"offset": kept}
    if upload.multipart_id:
        recorded["tail_size"] = 0
    upload_record(upload=upload, lease=lease, recorded=recorded)


def upload_length_declare(*, upload: Upload, length: int) -> None:
    """creation-defer-length: the length, once known, within what was reserved (413 over it)."""
    if upload.length is not None:
        if length != upload.length:
            raise BadUploadHeader(_("Upload-Length cannot change once declared."))
        return
    if length < upload.offset:
        raise BadUploadHeader(_("Upload-Length is smaller than the bytes already sent."))
    if length > upload.reserved:
        raise FileTooLarge()
    Upload.objects.filter(pk=upload.pk).update(length=length, reserved=length)
    upload.length = upload.reserved = length


# --- The running digest ------------------------------------------------------------

# The SHA-256 of each upload a PATCH of this process last wrote, by upload id: (offset, sha256 object).
# Another process (or a restart) has none: `upload_complete` reads the finished object back instead.
_DIGESTS: dict[int, tuple[int, object]] = {}
_DIGESTS_MAX = 1024


def upload_digest_resume(*, upload: Upload):
    """The running SHA-256 of the bytes before `upload.offset`, for the PATCH that holds the lease now:
    a new one at offset 0, the one this process kept if it ends there, else None (read back at the end).
    Taken out of the cache: `upload_digest_keep` puts it back once the PATCH has recorded its bytes."""
    cached = _DIGESTS.pop(upload.pk, None)
    if upload.offset == 0:
        return hashlib.sha256()  # every byte will pass through a PATCH of this process
    return cached[1] if cached is not None and cached[0] == upload.offset else None


def upload_digest_keep(*, upload: Upload, digest) -> None:
    """Keep the running SHA-256 of the bytes up to the recorded `upload.offset` for the next PATCH here."""
    if digest is None:
        return
    if len(_DIGESTS) >= _DIGESTS_MAX:
        _DIGESTS.pop(next(iter(_DIGESTS)))
    _DIGESTS[upload.pk] = (upload.offset, digest)


# --- Completion --------------------------------------------------------------------


def upload_complete(*, upload: Upload, sha256: str | None, share_options: dict | None = None) -> Upload:
    """The last byte is stored: the object is closed (`storage`'s session
    finished by the caller) and becomes an item of its share, a drop into
    its request, or a new share. `sha256`: the digest seen while the bytes
    came, or None to read the object back. `share_options`: a new share's
    options (`pan.services.share_options_check`; `curl -T` uploads send
    them). Idempotent: a complete upload is returned as it is."""
    _DIGESTS.pop(upload.pk, None)
    if upload.completed_at is not None:
        return upload
    digest = sha256 or storage.stored_sha256(upload.storage_key)
    stored = StoredFile(upload.storage_key, upload.path, upload.offset, digest, upload.content_type)
    with transaction.atomic():
        locked = Upload.objects.select_for_update().get(pk=upload.pk)
        if locked.completed_at is not None:
            return locked
        # Complete first, in this transaction: its reservation is no longer
        # counted when the quota is checked again for the item it becomes.
        locked.completed_at = timezone.now()
        locked.save(update_fields=["completed_at"])
        if locked.request_id is not None:
            drop = dropoff_services.drop_receive(
                request=locked.request,
                files=[],
                stored=[stored],
                name=locked.name,
                note=locked.note,
                client=locked.client,
            )
            locked.result_share_id, locked.receipt_key = drop.share_id, drop.receipt_key
        elif locked.share_id is not None:
            share_items_add(share=locked.share, files=[], stored=[stored])
            locked.result_share_id = locked.share_id
        else:
            locked.result_share_id = share_create(
                owner=locked.owner, files=[], stored=[stored], **(share_options or {})
            ).pk
        locked.lease, locked.lease_until = "", None
        locked.save(update_fields=["result_share", "receipt_key", "lease", "lease_until"])
    UPLOADS.inc()
    UPLOAD_BYTES.inc(upload.offset)
    return locked


# --- One request, one share: `curl -T` (PUT /api/put/<name>) ---------------------------------

# The API key scope `curl -T` needs (docs/api-keys.md): declared on the view
# (`uploads.views.put_upload.api_key_scopes`), checked by the key's authenticator.
PUT_SCOPE = "shares:write"


def put_file_name(raw: str | None) -> str:
    """The file name a `PUT /api/put/<name>` gives in its path (already
    percent-decoded): one name, never a path. Missing, or with `/` after
    decoding: 400; then the one name check of every upload
    (`pan.uploads.item_path_sanitise`: `..`, NUL, control and bidi characters
    refused, invisible ones removed)."""
    if not raw:
        raise ValidationFailed(
            fields={"file": [_("Name the file in the URL: /api/put/<name>, or end the URL with / for curl -T.")]}
        )
    if "/" in raw:
        raise ValidationFailed(fields={"file": [_("A file name may not contain “/”.")]})
    return item_path_sanitise(raw)


def put_admit(*, user) -> None:
    """May this caller make a share with `curl -T`? 401 anonymous, 403 without
    the `upload` permission (asked first: before the options and the name)."""
    if user is None or not user.is_authenticated:
        from rest_framework.exceptions import NotAuthenticated

        raise NotAuthenticated()
    if not user_has_pan_permission(user, "upload"):
        raise PermissionDenied()


def put_begin(*, user, name: str, content_type: str | None, length: int | None) -> Created:
    """The upload behind one `curl -T` request: a new one-file share of
    `user` when its body is in. Its limits are the upload's (`upload_create`):
    the file limit and the quota, counting open reservations, decided before
    a byte of the body is read; `length` None (a chunked body) reserves what
    the limits leave, and the body is cut off there (`put_overrun`)."""
    metadata = {"filename": name}
    if content_type:
        metadata["filetype"] = content_type
    return upload_create(user=user, client="", length=length, metadata=metadata)


def put_overrun(*, upload: Upload) -> Exception:
    """The 413 for a body without a length that passed what its upload
    reserved: the file limit, or (a smaller reservation) the quota."""
    quota = user_quota(upload.owner)
    if upload.reserved < settings.PAN_MAX_UPLOAD_SIZE and quota is not None:
        return quota_exceeded(quota)
    return FileTooLarge()


def put_abandon(*, upload: Upload) -> None:
    """A `curl -T` that did not finish (its client vanished, a limit, an error):
    the upload and every byte it stored go, and its reservation with it. No share."""
    _DIGESTS.pop(upload.pk, None)
    for unfinished in Upload.objects.filter(pk=upload.pk, completed_at__isnull=True):
        unfinished.delete()  # the bytes go on commit (signals.py)


# --- Termination and purge -------------------------------------------------------------


def upload_terminate(*, upload: Upload) -> None:
    """tus termination: an unfinished upload and its bytes go at once (404 for a complete one)."""
    if upload.completed_at is not None:
        raise UploadFinished()
    _DIGESTS.pop(upload.pk, None)
    upload.delete()  # the bytes go on commit (signals.py)


def uploads_purge_expired(*, now=None) -> list[str]:
    """Remove unfinished uploads past their expiry: rows, local files, S3 multipart uploads and tails.

    Complete uploads are forgotten after the same time (their bytes belong to their items)."""
    now = now or timezone.now()
    lines = []
    for upload in Upload.objects.filter(completed_at__isnull=True, expires_at__lte=now).order_by("pk"):
        lines.append(f"removed unfinished upload {upload.path} ({upload.offset} bytes stored)")
        upload.delete()
    done_before = now - timedelta(seconds=settings.PAN_UPLOAD_EXPIRY)
    Upload.objects.filter(completed_at__lte=done_before).delete()
    return lines
