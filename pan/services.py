"""Rules for shared files: upload, codes, revoke, delete, purge.

Every interface (API, pages, admin, management commands) calls these.
Downloads and the access check live in `pan/downloads.py`.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from project.lib.errors import ValidationFailed

from .errors import FileTooLarge
from .models import SharedFile, new_share_code, new_unique_name, storage_name_for
from .uploads import content_type_for, file_name_sanitise

logger = logging.getLogger(__name__)
CHUNK_SIZE = 256 * 1024


class _HashingReader:
    """A file object that hashes and counts what is read from it."""

    def __init__(self, raw, progress=None):
        self.raw = raw
        self.progress = progress
        self.seek(0)

    def seek(self, offset, whence=0):
        if offset != 0 or whence != 0:
            raise OSError("only a rewind is supported")
        self.raw.seek(0)
        self.sha256 = hashlib.sha256()
        self.size = 0

    def tell(self):
        return self.size

    def read(self, size=-1):
        chunk = self.raw.read(size)
        self.sha256.update(chunk)
        self.size += len(chunk)
        if self.size > settings.PAN_MAX_UPLOAD_SIZE:
            raise FileTooLarge()
        if self.progress and chunk:
            self.progress(len(chunk))
        return chunk


def _delete_bytes(storage_name: str) -> None:
    try:
        default_storage.delete(storage_name)
    except Exception:  # noqa: BLE001 - a leftover file must not fail the request; purge retries
        logger.exception("could not delete stored file %s", storage_name)


def validate_expires_in(value) -> int | None:
    """`expires_in` in seconds: None = the default, 0 = never."""
    if value is None or value == "":
        return None
    try:
        seconds = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"expires_in": [_("Enter a whole number of seconds.")]}) from None
    if seconds < 0 or seconds > settings.PAN_MAX_EXPIRY:
        raise ValidationFailed(
            fields={"expires_in": [_("Enter a number from 0 to %(max)s.") % {"max": settings.PAN_MAX_EXPIRY}]}
        )
    return seconds


def validate_max_downloads(value) -> int | None:
    if value is None or value == "":
        return None
    try:
        count = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"max_downloads": [_("Enter a whole number.")]}) from None
    if count < 1 or count > 1_000_000:
        raise ValidationFailed(fields={"max_downloads": [_("Enter a number from 1 to 1000000.")]})
    return count


def _expiry(expires_in: int | None, now):
    seconds = settings.PAN_DEFAULT_EXPIRY if expires_in is None else expires_in
    return now + timedelta(seconds=seconds) if seconds else None


def shared_file_create(
    *,
    owner,
    content,
    file_name: str,
    content_type: str | None = None,
    expires_in=None,
    max_downloads=None,
    progress=None,
) -> SharedFile:
    """Store an upload under a fresh random name and record it.

    `content` is an uploaded file from `HashingUploadHandler` (SHA-256 and
    size already known) or any readable binary file (hashed while it is
    stored; `progress(n)` is called per chunk). `expires_in` is seconds
    (None = `PAN_DEFAULT_EXPIRY`, 0 = never). Raises `ValidationFailed` or
    `FileTooLarge`; on any error neither a row nor stored bytes remain.
    """
    expires_in = validate_expires_in(expires_in)
    max_downloads = validate_max_downloads(max_downloads)
    safe_name = file_name_sanitise(file_name)
    unique_name = new_unique_name()
    storage_name = storage_name_for(unique_name)
    precomputed = getattr(content, "sha256_hexdigest", None)
    if precomputed is not None:
        if content.size > settings.PAN_MAX_UPLOAD_SIZE:
            raise FileTooLarge()
        source, sha256, size = content, precomputed, content.size
    else:
        reader = _HashingReader(content, progress)
        source = File(reader, name=safe_name)
    saved_name = None
    try:
        saved_name = default_storage.save(storage_name, source)
        if saved_name != storage_name:
            raise RuntimeError(f"storage renamed {storage_name} to {saved_name}")
        if precomputed is None:
            sha256, size = reader.sha256.hexdigest(), reader.size
        now = timezone.now()
        with transaction.atomic():
            return SharedFile.objects.create(
                unique_name=unique_name,
                file_name=safe_name,
                size=size,
                content_type=content_type_for(content_type, safe_name),
                sha256=sha256,
                owner=owner,
                created_at=now,
                expires_at=_expiry(expires_in, now),
                max_downloads=max_downloads,
            )
    except BaseException:
        # Aborted, too large, or the database refused: keep nothing.
        _delete_bytes(saved_name or storage_name)
        raise


def shared_file_delete(*, shared_file: SharedFile) -> None:
    """Remove the row and, once that is committed, the stored bytes.

    The bytes go in `shared_file_bytes_delete_on_commit`, connected to
    `post_delete`, so rows removed by a cascade (a deleted user) lose their
    bytes too.
    """
    with transaction.atomic():
        shared_file.delete()


def shared_file_bytes_delete_on_commit(*, shared_file: SharedFile) -> None:
    storage_name = shared_file.storage_name
    transaction.on_commit(lambda: _delete_bytes(storage_name))


def share_code_regenerate(*, shared_file: SharedFile) -> SharedFile:
    """A new code: the old one stops working, and the guessing locks on the file reset."""
    from .downloads import code_guessing_reset

    shared_file.share_code = new_share_code()
    shared_file.save(update_fields=["share_code"])
    code_guessing_reset(unique_name=shared_file.unique_name)
    return shared_file


def shared_file_revoke(*, shared_file: SharedFile) -> SharedFile:
    """Stop sharing: every download and code check answers 410 from now on."""
    if shared_file.revoked_at is None:
        shared_file.revoked_at = timezone.now()
        shared_file.save(update_fields=["revoked_at"])
    return shared_file


@dataclass(frozen=True)
class PurgedFile:
    unique_name: str
    file_name: str
    owner: str
    reason: str


def shared_file_purge_expired(*, now=None) -> list[PurgedFile]:
    """Remove expired, used-up, and long-revoked files: rows and bytes.

    Revoked files are kept `PAN_REVOKED_RETENTION` seconds (their owner may
    still want to see why a link stopped working). Files with a download
    under way are left for the next run.
    """
    now = now or timezone.now()
    revoked_before = now - timedelta(seconds=settings.PAN_REVOKED_RETENTION)
    doomed = (
        SharedFile.objects.filter(
            Q(expires_at__lte=now)
            | Q(max_downloads__isnull=False, download_count__gte=F("max_downloads"))
            | Q(revoked_at__lte=revoked_before)
        )
        .filter(downloads_in_flight=0)
        .select_related("owner")
        .order_by("created_at")
    )
    purged = []
    for shared_file in doomed:
        reason = {"revoked": "revoked", "expired": "expired", "used_up": "used up"}.get(
            shared_file.state(now), "expired"
        )
        purged.append(PurgedFile(shared_file.unique_name, shared_file.file_name, shared_file.owner.username, reason))
        shared_file_delete(shared_file=shared_file)
    return purged


def share_link_qr_data_uri(*, url: str) -> str:
    """An SVG QR code of a share link, as a data URI (made with segno)."""
    import segno

    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)


def cache_key(*parts) -> str:
    return "pan:" + ":".join(str(p) for p in parts)
