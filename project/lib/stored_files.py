"""Reading stored files as streams.

django-storages' `S3File` copies a whole object into a temporary file before
the first byte can be read, and with its default `max_memory_size` (0) that
"temporary file" never leaves memory: a 1 GiB download held 1 GiB of the
server's memory, and its first byte waited for the last one to arrive from
the store. `stored_open` gives, for S3, a file that reads the object as it
streams (a ranged GET from the current position, opened on the first read
after a seek) and, for any other storage, the storage's own file.
"""

import contextlib
import logging

logger = logging.getLogger(__name__)


def _is_s3(storage) -> bool:
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages[s3] is pinned
        return False
    return isinstance(storage, S3Storage)


def stored_open(storage, name: str):
    """Open a stored file for reading in order (seek to start once, then read).

    Raises `FileNotFoundError` for a missing file, as `storage.open` does;
    any other storage failure as the storage raises it."""
    if _is_s3(storage):
        return S3StreamingFile(storage, name)
    return storage.open(name, "rb")


class S3StreamingFile:
    """An S3 object read as a stream: `read`, `seek` (absolute), `close`."""

    def __init__(self, storage, name: str):
        from botocore.exceptions import ClientError
        from storages.utils import clean_name

        self.client = storage.connection.meta.client
        self.bucket = storage.bucket_name
        self.key = storage._normalize_name(clean_name(name))
        try:
            self.size = self.client.head_object(Bucket=self.bucket, Key=self.key)["ContentLength"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(name) from exc
            raise
        self.position = 0
        self.body = None

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0:
            raise OSError("only absolute seeks are supported")
        if offset != self.position:
            self._drop_body()
            self.position = offset
        return self.position

    def tell(self) -> int:
        return self.position

    def read(self, size: int = -1) -> bytes:
        if self.position >= self.size:
            return b""
        for attempt in range(2):
            if self.body is None:
                answer = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={self.position}-")
                self.body = answer["Body"]
            try:
                data = self.body.read(None if size is None or size < 0 else size)
                if data:
                    break
                raise OSError(f"{self.key} ended early at {self.position}")  # the store hung up
            except Exception:
                # A stream the store closed while the client was slow to take
                # bytes: open it again from here, once.
                self._drop_body()
                if attempt:
                    raise
                logger.info("reopening %s at %d", self.key, self.position)
        self.position += len(data)
        return data

    def _drop_body(self) -> None:
        if self.body is not None:
            with contextlib.suppress(Exception):  # closing a broken stream
                self.body.close()
            self.body = None

    def close(self) -> None:
        self._drop_body()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
