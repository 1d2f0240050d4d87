"""Upload leftovers: what a process killed in the middle of an upload leaves.

`purge_expired` (`share_purge_expired`) calls `upload_leftovers_purge`, which
removes, once older than `PAN_UPLOAD_LEFTOVER_AGE` seconds:

- Django's temporary upload files (`tmpXXXXXXXX.upload<ext>`) in
  `FILE_UPLOAD_TEMP_DIR`, a directory of Pan's own;
- stored objects under `items/` that no `Item.storage_key` names: a local
  file cut off while it was written, or bytes stored just before the process
  died and before their item row was. `files/` (first wave), `videos/` and
  anything else in the storage are never touched;
- unfinished S3 multipart uploads under the storage's location: boto3 stores
  anything from 8 MiB up in parts, and a killed process leaves the parts
  uploaded so far, invisible in listings and billed, until they are aborted.

The age is what keeps uploads in progress safe. A storage that cannot be
reached is logged and reported as an `error:` line: it never stops the purge.

The task workers run it with the periodic purge (`pan.tasks.purge_expired`,
every `PAN_PURGE_INTERVAL` seconds, and when a worker starts in a new period),
so what a killed process left goes soon after Pan starts again, and no server
process waits on a slow or unreachable storage.
"""

import logging
import os
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from .models import Item

logger = logging.getLogger(__name__)

ITEMS_PREFIX = "items"
# Resumable uploads (the `uploads` app) keep their objects and multipart uploads under this prefix.
RESUMABLE_PREFIX = "uploads"
# Django's TemporaryUploadedFile: tempfile's "tmp" and random letters, then
# ".upload" and the extension of the client's file name (which may be anything).
TEMPORARY_UPLOAD_NAME = re.compile(r"tmp[a-z0-9_]+\.upload(\..*)?", re.DOTALL)
# Stored names looked up in the database at once.
KEY_BATCH_SIZE = 1000
# Past this many failures in one pass the storage is taken to be down; the next purge retries.
MAX_ERRORS = 10


def upload_leftovers_purge(*, now: datetime | None = None) -> list[str]:
    """Remove upload leftovers older than settings.PAN_UPLOAD_LEFTOVER_AGE seconds; return one line per thing removed.

    Removes old temporary upload files in `FILE_UPLOAD_TEMP_DIR`, old stored
    objects under `items/` that no item references, and (on S3) unfinished
    multipart uploads initiated before the age. Raises nothing for storage
    failures: each is logged and returned as a line starting with `error:`.
    """
    now = now or timezone.now()
    before = now - timedelta(seconds=settings.PAN_UPLOAD_LEFTOVER_AGE)
    return [
        *_temporary_upload_files_purge(before),
        *_unreferenced_objects_purge(before),
        *_multipart_uploads_abort(before),
    ]


def _error(what: str, exc: BaseException) -> str:
    logger.warning("upload leftovers: could not %s: %s", what, exc, exc_info=exc)
    return f"error: could not {what}: {exc}"


def _is_missing(exc: BaseException) -> bool:
    """Gone meanwhile (a concurrent purge or delete got there first): nothing to do."""
    if isinstance(exc, FileNotFoundError):
        return True
    response = getattr(exc, "response", None)  # botocore's ClientError
    return isinstance(response, dict) and response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NoSuchUpload"}


class _Failures:
    """The failures of one sweep over the storage: a thing gone meanwhile is none; each other
    is a line, and after `MAX_ERRORS` of them the sweep gives up (the storage is taken to be down)."""

    def __init__(self, lines: list[str], sweep: str):
        self.lines, self.sweep, self.count = lines, sweep, 0

    def give_up(self, what: str, exc: BaseException) -> bool:
        """Note the failure to do `what`; True when the sweep should stop now."""
        if _is_missing(exc):
            return False
        self.lines.append(_error(what, exc))
        self.count += 1
        if self.count < MAX_ERRORS:
            return False
        self.lines.append(f"error: gave up on {self.sweep} after {self.count} failures")
        return True


def _temporary_upload_files_purge(before: datetime) -> list[str]:
    spool = settings.FILE_UPLOAD_TEMP_DIR
    if not spool:
        # The system temp dir belongs to every program on the machine: nothing there is ours to judge.
        logger.warning("upload leftovers: FILE_UPLOAD_TEMP_DIR is not set; temporary upload files are not purged")
        return []
    lines = []
    try:
        entries = list(os.scandir(spool))
    except OSError as exc:
        return [_error(f"read FILE_UPLOAD_TEMP_DIR {spool}", exc)]
    for entry in entries:
        if not TEMPORARY_UPLOAD_NAME.fullmatch(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_mtime >= before.timestamp():
                continue
            os.unlink(entry.path)
        except OSError as exc:
            if not _is_missing(exc):
                lines.append(_error(f"remove temporary upload file {entry.path}", exc))
            continue
        lines.append(f"removed temporary upload file {entry.path}")
    return lines


def _unreferenced_objects_purge(before: datetime) -> list[str]:
    try:
        _folders, names = default_storage.listdir(ITEMS_PREFIX)
    except FileNotFoundError:
        return []  # a local storage where nothing was stored yet
    except Exception as exc:  # noqa: BLE001 - storage down: report, and let the rest of the purge run
        return [_error(f"list stored objects under {ITEMS_PREFIX}/", exc)]
    lines = []
    failures = _Failures(lines, f"stored objects under {ITEMS_PREFIX}/")
    # The database is asked about a batch of names at a time, and only the
    # unreferenced ones cost a storage request (a HEAD on S3) for their age.
    for start in range(0, len(names), KEY_BATCH_SIZE):
        keys = [f"{ITEMS_PREFIX}/{name}" for name in names[start : start + KEY_BATCH_SIZE]]
        referenced = set(Item.objects.filter(storage_key__in=keys).values_list("storage_key", flat=True))
        for key in keys:
            if key in referenced:
                continue
            try:
                # Fresh: possibly an upload whose item row is about to be written.
                if default_storage.get_modified_time(key) >= before:
                    continue
                default_storage.delete(key)
            except Exception as exc:  # noqa: BLE001 - storage down: report, and let the rest of the purge run
                if failures.give_up(f"remove stored object {key}", exc):
                    return lines
                continue
            lines.append(f"removed unreferenced stored object {key}")
    return lines


def _is_resumable(key: str, location: str) -> bool:
    # A resumable upload's multipart upload lives as long as the upload (`uploads`, which purges its own).
    return key.removeprefix(f"{location}/" if location else "").startswith(f"{RESUMABLE_PREFIX}/")


def _multipart_uploads_abort(before: datetime) -> list[str]:
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # django-storages' S3 extra not installed: no S3 either
        return []
    if not isinstance(default_storage, S3Storage):
        return []
    # The storage's own client: credentials, endpoint and addressing come from settings.
    client = default_storage.connection.meta.client
    bucket = default_storage.bucket_name
    # Only under the storage's location (S3_PREFIX): the rest of the bucket may be another program's.
    location = default_storage.location.strip("/")
    listing = {"Bucket": bucket, **({"Prefix": f"{location}/"} if location else {})}
    lines = []
    failures = _Failures(lines, "multipart uploads")
    try:
        for page in client.get_paginator("list_multipart_uploads").paginate(**listing):
            for upload in page.get("Uploads", ()):
                if upload["Initiated"] >= before or _is_resumable(upload["Key"], location):
                    continue
                key, upload_id = upload["Key"], upload["UploadId"]
                try:
                    client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
                except Exception as exc:  # noqa: BLE001 - storage down: report, and let the rest of the purge run
                    if failures.give_up(f"abort multipart upload {upload_id} of {key}", exc):
                        return lines
                    continue
                lines.append(
                    f"aborted unfinished multipart upload of {key} (initiated {upload['Initiated']:%Y-%m-%d %H:%M} UTC)"
                )
    except Exception as exc:  # noqa: BLE001 - storage down: report, and let the rest of the purge run
        lines.append(_error(f"list multipart uploads in bucket {bucket}", exc))
    return lines
