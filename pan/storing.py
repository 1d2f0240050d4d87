"""Storing uploaded bytes: hashed on the way, under fresh random keys, and
nothing left behind when anything fails. `pan/services.py` builds shares
on top of these."""

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from project.lib.errors import ApplicationError
from project.lib.metrics import UPLOAD_BYTES, UPLOADS

from .errors import FileTooLarge, ShareTooLarge, StorageUnavailable, TooManyItems
from .models import new_storage_key
from .uploads import content_type_for, item_path_deduplicate, item_path_sanitise

logger = logging.getLogger(__name__)


@dataclass
class IncomingFile:
    """One file to store: an upload from `HashingUploadHandler` (SHA-256 and
    size already known) or any readable binary file (hashed while stored).
    `path` is the client's name or relative path, checked by
    `item_path_sanitise`."""

    content: object
    path: str
    content_type: str | None = None
    progress: object = None

    @classmethod
    def from_upload(cls, upload) -> "IncomingFile":
        return cls(upload, getattr(upload, "client_path", None) or upload.name, upload.content_type)


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


def stored_bytes_delete(storage_key: str) -> None:
    try:
        default_storage.delete(storage_key)
    except Exception:  # noqa: BLE001 - a leftover object must not fail the request; purge retries
        logger.exception("could not delete stored object %s", storage_key)


@dataclass
class StoredFile:
    storage_key: str
    path: str
    size: int
    sha256: str
    content_type: str


def _declared_size(incoming: IncomingFile) -> int | None:
    """The size an upload declared (known before storing), or None for a file read as it goes."""
    return getattr(incoming.content, "size", None) if hasattr(incoming.content, "sha256_hexdigest") else None


def files_declared_size(files: list[IncomingFile]) -> int:
    """What the uploads together declare, before any byte is stored (0 for files of unknown size)."""
    return sum(_declared_size(incoming) or 0 for incoming in files)


def files_check_sizes(files: list[IncomingFile], *, already_items: int, already_bytes: int) -> None:
    if already_items + len(files) > settings.PAN_MAX_SHARE_ITEMS:
        raise TooManyItems(TooManyItems.default_message % {"max": settings.PAN_MAX_SHARE_ITEMS})
    for incoming in files:
        size = _declared_size(incoming)
        if size is not None and size > settings.PAN_MAX_UPLOAD_SIZE:
            raise FileTooLarge()
    if already_bytes + files_declared_size(files) > settings.PAN_MAX_SHARE_SIZE:
        raise ShareTooLarge()


def file_store(incoming: IncomingFile, path: str) -> StoredFile:
    """Write one file's bytes under a fresh random key; keeps nothing on error.

    Raises `FileTooLarge` (413) past the upload limit, `StorageUnavailable`
    (503) when the storage fails.
    """
    storage_key = new_storage_key()
    content = incoming.content
    precomputed = getattr(content, "sha256_hexdigest", None)
    if precomputed is not None:
        source, sha256, size = content, precomputed, content.size
    else:
        reader = _HashingReader(content, incoming.progress)
        source = File(reader, name=path.rsplit("/", 1)[-1])
    saved = None
    try:
        saved = default_storage.save(storage_key, source)
        if saved != storage_key:
            raise RuntimeError(f"storage renamed {storage_key} to {saved}")
    except ApplicationError:  # FileTooLarge from the reader: the client's fault
        stored_bytes_delete(saved or storage_key)
        raise
    except Exception as exc:
        # Whatever the backend raises (botocore's timeouts and connection
        # errors, S3's 5xx, a full disk): the storage failed, not Pan, and
        # the client hears so in its language, as downloads do.
        from botocore.exceptions import ConnectionError as NoConnection
        from botocore.exceptions import HTTPClientError as NoAnswer

        logger.warning("storage failed storing %s: %s: %s", storage_key, type(exc).__name__, exc)
        # A store that did not answer would make a delete wait out the same
        # timeouts again, doubling the uploader's wait for a 503. An object
        # that landed anyway has no item: purge_expired removes it.
        if not isinstance(exc, NoConnection | NoAnswer):
            stored_bytes_delete(saved or storage_key)
        raise StorageUnavailable() from exc
    except BaseException:
        stored_bytes_delete(saved or storage_key)
        raise
    if precomputed is None:
        sha256, size = reader.sha256.hexdigest(), reader.size
    UPLOADS.inc()
    UPLOAD_BYTES.inc(size)
    name = path.rsplit("/", 1)[-1]
    return StoredFile(storage_key, path, size, sha256, content_type_for(incoming.content_type, name))


def files_store(files: list[IncomingFile], taken: set[str], budget: int) -> list[StoredFile]:
    """Store every file (paths checked first, so a bad one stores nothing)."""
    paths = []
    for incoming in files:
        path = item_path_deduplicate(item_path_sanitise(incoming.path), taken)
        taken.add(path)
        paths.append(path)
    stored: list[StoredFile] = []
    try:
        for incoming, path in zip(files, paths, strict=True):
            stored.append(file_store(incoming, path))
            budget -= stored[-1].size
            if budget < 0:
                raise ShareTooLarge()
    except BaseException:
        for item in stored:
            stored_bytes_delete(item.storage_key)
        raise
    return stored
