"""Where a resumable upload's bytes go while it is open, per storage.

- Local storage (`FileSystemStorage`): the bytes are appended to the file
  that becomes the item, so completing moves nothing. A new PATCH first cuts
  the file back to the offset the database recorded (a process killed after
  writing but before recording leaves bytes no one counted).
- S3: one multipart upload per tus upload. Bytes gather in memory until a
  part is full (`PAN_UPLOAD_PART_SIZE`, at least S3's 5 MiB), which is sent
  and recorded; what is left when a PATCH ends (shorter than a part) is
  kept in a temporary tail object beside the key and read back by the next
  PATCH, whichever process takes it. The last part is that tail, however
  short; completing asks S3 to join the parts, so nothing is copied. An
  upload shorter than one part is stored with one plain PUT.

A session is one PATCH's writer. `write` takes bytes in order; `recorded`
says what the database may now record as stored (offset, parts, tail),
`flush` makes everything written so far durable and recordable, `finish`
closes the object, `discard` removes every trace of the upload.
"""

import hashlib
import logging
import os

from django.conf import settings
from django.core.files.storage import default_storage

from project.lib.stored_files import stored_open

logger = logging.getLogger(__name__)

S3_MIN_PART = 5 * 1024 * 1024


def _s3():
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages[s3] is pinned
        return None
    if not isinstance(default_storage, S3Storage):
        return None
    return default_storage


def _part_size() -> int:
    return max(S3_MIN_PART, settings.PAN_UPLOAD_PART_SIZE)


def _tail_key(key: str) -> str:
    return f"{key}.tail"


class BytesLost(Exception):
    """The storage holds fewer of the upload's bytes than were recorded (a
    machine that lost its page cache, a tail object gone): `kept` is what it
    still holds, from where the client must resume."""

    def __init__(self, kept: int):
        super().__init__(kept)
        self.kept = kept


class _LocalSession:
    def __init__(self, upload):
        self.path = default_storage.path(upload.storage_key)
        self.offset = upload.offset
        kept = os.path.getsize(self.path)
        if kept < upload.offset:
            # Cutting back to the recorded offset would pad the file with zeros.
            raise BytesLost(kept)
        # Unbuffered: a PATCH that loses its lease must leave nothing behind to flush.
        self.file = open(self.path, "r+b", buffering=0)  # noqa: SIM115 - closed by close()
        self.file.truncate(upload.offset)
        self.file.seek(upload.offset)

    def write(self, data) -> bool:
        self.file.write(data)
        self.offset += len(data)
        return False  # nothing new to record until flush

    def flush(self) -> None:
        pass  # every write went to the file at once

    def recorded(self) -> dict:
        return {"offset": self.offset}

    def finish(self) -> None:
        # No fsync: what is written is in the operating system's hands, which a
        # killed process cannot lose (the multipart path promises no more; a
        # machine that loses power is caught by the size check above).
        pass

    def close(self) -> None:
        self.file.close()


class _S3Session:
    def __init__(self, upload):
        storage = _s3()
        self.client = storage.connection.meta.client
        self.bucket = storage.bucket_name
        self.key = storage._normalize_name(upload.storage_key)
        self.multipart_id = upload.multipart_id
        self.parts = [list(part) for part in upload.parts]
        self.buffer = bytearray()
        self.tail_size = upload.tail_size
        if upload.tail_size:
            try:
                tail = self.client.get_object(Bucket=self.bucket, Key=_tail_key(self.key))["Body"].read()
            except self.client.exceptions.NoSuchKey:
                tail = b""
            if len(tail) < upload.tail_size:
                raise BytesLost(sum(size for _etag, size in self.parts))
            self.buffer += tail[: upload.tail_size]
        self.stored_tail = upload.tail_size  # bytes of the buffer the tail object holds
        self.part_size = _part_size()

    @property
    def offset(self) -> int:
        return sum(size for _etag, size in self.parts) + len(self.buffer)

    def write(self, data) -> bool:
        """Append; True when a part was sent (the caller records it)."""
        self.buffer += data
        sent = False
        while len(self.buffer) >= self.part_size:
            self._send_part(bytes(self.buffer[: self.part_size]))
            del self.buffer[: self.part_size]
            self.stored_tail = 0
            sent = True
        return sent

    def _send_part(self, body: bytes) -> None:
        number = len(self.parts) + 1
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.multipart_id, PartNumber=number, Body=body
        )
        self.parts.append([answer["ETag"], len(body)])

    def recorded(self) -> dict:
        # Bytes in the buffer count only once the tail object holds them (flush).
        return {
            "offset": sum(size for _etag, size in self.parts) + self.stored_tail,
            "parts": [list(part) for part in self.parts],
            "tail_size": self.stored_tail,
        }

    def flush(self) -> None:
        if self.buffer and self.stored_tail != len(self.buffer):
            self.client.put_object(Bucket=self.bucket, Key=_tail_key(self.key), Body=bytes(self.buffer))
        self.stored_tail = len(self.buffer)

    def finish(self) -> None:
        if not self.parts:
            # Shorter than one part: one plain PUT, and the multipart upload goes.
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self.buffer))
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.multipart_id)
        else:
            if self.buffer:
                self._send_part(bytes(self.buffer))
                self.buffer.clear()
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self.multipart_id,
                MultipartUpload={
                    "Parts": [{"ETag": etag, "PartNumber": n} for n, (etag, _size) in enumerate(self.parts, 1)]
                },
            )
        _delete_quietly(self.client, self.bucket, _tail_key(self.key))

    def close(self) -> None:
        self.buffer = bytearray()


def _delete_quietly(client, bucket, key) -> None:
    try:
        client.delete_object(Bucket=bucket, Key=key)
    except Exception:  # noqa: BLE001 - a leftover tail is removed with the upload's purge
        logger.warning("could not delete %s", key)


def session_open(upload):
    """The writer for one PATCH, positioned at the recorded offset."""
    return _S3Session(upload) if _s3() is not None else _LocalSession(upload)


def storage_begin(upload) -> None:
    """Make room for a new upload: an empty local file, or an S3 multipart upload (sets `multipart_id`)."""
    storage = _s3()
    if storage is not None:
        key = storage._normalize_name(upload.storage_key)
        answer = storage.connection.meta.client.create_multipart_upload(
            Bucket=storage.bucket_name, Key=key, ContentType="application/octet-stream"
        )
        upload.multipart_id = answer["UploadId"]
        return
    path = default_storage.path(upload.storage_key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "xb"):
        pass


def storage_discard(*, storage_key: str, multipart_id: str, complete: bool) -> None:
    """Remove what an unfinished upload stored (a finished one belongs to its item)."""
    if complete:
        return
    storage = _s3()
    if storage is not None:
        client, bucket = storage.connection.meta.client, storage.bucket_name
        key = storage._normalize_name(storage_key)
        if multipart_id:
            try:
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=multipart_id)
            except client.exceptions.NoSuchUpload:
                pass
        _delete_quietly(client, bucket, _tail_key(key))
        _delete_quietly(client, bucket, key)  # joined just before a completion that failed
        return
    try:
        os.remove(default_storage.path(storage_key))
    except FileNotFoundError:
        pass


def stored_sha256(storage_key: str) -> str:
    """Read the finished object back for its SHA-256 (when no one process saw every byte)."""
    digest = hashlib.sha256()
    with stored_open(default_storage, storage_key) as stored:
        while chunk := stored.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
