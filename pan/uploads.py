"""Streaming uploads: the multipart body goes to a temporary file in chunks,
hashed and counted on the way, so memory does not grow with the file size.

Django's ASGI handler has already spooled the raw body (to disk beyond
`FILE_UPLOAD_MAX_MEMORY_SIZE`); the multipart parser then hands this handler
64 KiB chunks, which go straight to a `TemporaryUploadedFile`. Passing
`PAN_MAX_UPLOAD_SIZE` stops the upload with `FileTooLarge` (413) and removes
the temporary file at once.
"""

import hashlib
import mimetypes
import re
import unicodedata

import icu
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, MultiPartParser

from project.lib.errors import ValidationFailed

from .errors import FileTooLarge

MAX_FILE_NAME_BYTES = 255
MAX_PATH_BYTES = 1024
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")
# Bidirectional overrides let "gpj.exe" show as "exe.jpg"; they go too.
_BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})


def _invisible_table() -> dict[int, None]:
    """Unicode's Default_Ignorable_Code_Point set (from ICU, as the Unicode
    data says, not a hand list): zero-width space and joiners, soft hyphen,
    variation selectors, Hangul fillers, tags… A `str.translate` table that
    removes them."""
    ignorable = icu.UnicodeSet("[:Default_Ignorable_Code_Point:]")
    table: dict[int, None] = {}
    for first, last in ignorable.ranges():  # (str, str): first and last character
        table.update(dict.fromkeys(range(ord(first), ord(last) + 1)))
    return table


_INVISIBLE = _invisible_table()


def is_refused_character(ch: str) -> bool:
    """Control, surrogate, private-use, unassigned, line/paragraph separator
    or bidirectional-override characters: no name may hold them."""
    return unicodedata.category(ch) in _REFUSED_CATEGORIES or ch in _BIDI_CONTROLS


def invisible_remove(text: str) -> str:
    """`text` without Default_Ignorable code points, NFC again (what they
    separated may now compose)."""
    return unicodedata.normalize("NFC", text.translate(_INVISIBLE))


def _only_invisible() -> ValidationFailed:
    return ValidationFailed(fields={"file": [_("A file or folder name is made only of invisible characters.")]})


class HashingUploadHandler(TemporaryFileUploadHandler):
    """A temporary-file upload handler that also computes SHA-256 and size."""

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        # UploadedFile.name keeps only the last component; folder uploads need the path.
        self.client_path = file_name
        self.sha256 = hashlib.sha256()
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.PAN_MAX_UPLOAD_SIZE:
            # Close (and so delete) the temporary file before giving up.
            self.file.close()
            raise FileTooLarge()
        self.sha256.update(raw_data)
        self.file.write(raw_data)

    def file_complete(self, file_size):
        uploaded = super().file_complete(file_size)
        uploaded.sha256_hexdigest = self.sha256.hexdigest()
        uploaded.client_path = self.client_path
        return uploaded


def file_name_sanitise(raw: str) -> str:
    """The client's file name made safe to keep as metadata and to offer back.

    Only the last path component survives (`../../etc/passwd` → `passwd`,
    `C:\\x\\y` → `y`); control, bidi-override and unassigned characters go,
    and so do invisible ones (`invisible_remove`); NFC; at most 255
    UTF-8 bytes, keeping a short extension; an empty result becomes `file`,
    except that a name made only of invisible characters is refused
    (`ValidationFailed`, 400). It is never used as a storage path.
    """
    name = unicodedata.normalize("NFC", str(raw or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not is_refused_character(ch))
    visible = invisible_remove(name)
    if name.strip() and not visible.strip():
        raise _only_invisible()
    name = visible.strip().strip(".").strip()
    if not name:
        return "file"
    if len(name.encode()) > MAX_FILE_NAME_BYTES:
        stem, dot, extension = name.rpartition(".")
        if not dot or not stem or len(extension.encode()) > 16:
            stem, dot, extension = name, "", ""
        budget = MAX_FILE_NAME_BYTES - len((dot + extension).encode())
        stem = stem.encode()[:budget].decode(errors="ignore")
        name = stem + dot + extension
    return name


def download_name(text: str, suffix: str = "") -> str:
    """A title made into a file name to offer back (a share's zip): `/` and
    `\\` become `_`, then `file_name_sanitise` (no direction, control or
    invisible characters); never refuses — nothing left is `file`."""
    try:
        return file_name_sanitise(text.replace("/", "_").replace("\\", "_") + suffix)
    except ValidationFailed:
        return "file" + suffix


def _bad_path(message) -> ValidationFailed:
    return ValidationFailed(fields={"file": [message]})


def item_path_sanitise(raw: str) -> str:
    """A folder upload's relative path (`photos/2024/a.jpg`), checked segment
    by segment; it is display metadata only, never a storage path.

    NFC; invisible characters (Unicode's Default_Ignorable_Code_Point: zero-width
    space, soft hyphen, variation selectors, Hangul fillers…) are removed;
    empty and `.` segments drop out. Raises `ValidationFailed` (400) for what
    no honest client sends: `..`, an absolute or drive path, a backslash,
    NUL, control or bidi-override characters, a name made only of invisible
    characters, a segment over 255 UTF-8 bytes or a path over 1 024. An
    empty result becomes `file`.

    This is the one check of every name that comes in: multipart shares,
    drop-offs (API and page), resumable uploads' `filename`/`relativePath`,
    the first wave's one-file upload (after `file_name_sanitise`) and
    `import_files` all reach it (`pan.storing.files_store`, `uploads.services`).
    """
    path = unicodedata.normalize("NFC", str(raw or ""))
    if "\\" in path:
        raise _bad_path(_("File paths use / between folders, not \\."))
    if any(is_refused_character(ch) for ch in path):
        raise _bad_path(_("File paths may not contain control characters."))
    if path.startswith("/"):
        raise _bad_path(_("File paths must be relative, not absolute."))
    segments = []
    for segment in path.split("/"):
        if segment.strip() in ("", "."):
            continue
        visible = invisible_remove(segment).strip()
        if not visible:
            raise _only_invisible()
        if visible != ".":
            segments.append(visible)
    if segments and re.match(r"^[A-Za-z]:", segments[0]):
        raise _bad_path(_("File paths must be relative, not absolute."))
    if ".." in segments:
        raise _bad_path(_("File paths may not contain “..”."))
    if any(len(segment.encode()) > MAX_FILE_NAME_BYTES for segment in segments):
        raise _bad_path(_("A file or folder name is longer than 255 bytes."))
    path = "/".join(segments)
    if len(path.encode()) > MAX_PATH_BYTES:
        raise _bad_path(_("A file path is longer than 1024 bytes."))
    return path or "file"


def path_numbered(path: str, number: int) -> str:
    """`a/b.txt` numbered 2: `a/b (2).txt` — the stem cut, when needed, so
    that the name stays within 255 UTF-8 bytes and the path within 1 024."""
    folder, slash, name = path.rpartition("/")
    room = min(MAX_FILE_NAME_BYTES, MAX_PATH_BYTES - len((folder + slash).encode()))
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(f" ({number}){dot}{extension}".encode()) >= room:
        stem, dot, extension = name, "", ""
    suffix = f" ({number}){dot}{extension}"
    stem = stem.encode()[: max(room - len(suffix.encode()), 0)].decode(errors="ignore")
    return f"{folder}{slash}{stem}{suffix}"


def item_path_deduplicate(path: str, taken: set[str]) -> str:
    """`a.txt`, then `a (2).txt`, `a (3).txt`…: two items never share a path."""
    if path not in taken:
        return path
    number = 2
    while (candidate := path_numbered(path, number)) in taken:
        number += 1
    return candidate


class _PathKeepingDjangoParser(DjangoMultiPartParser):
    """Django keeps only the last component of a part's file name; folder
    uploads need the relative path, which `item_path_sanitise` checks."""

    def sanitize_file_name(self, file_name):
        import html

        return html.unescape(file_name) or None

    def parse(self):
        try:
            return super().parse()
        except BaseException:
            # Django closes only the file being received; the parts already
            # complete would wait for the garbage collector to go.
            for uploaded in getattr(self, "_files", {}).values():
                uploaded.close()
            self._close_files()
            raise


class PathKeepingMultiPartParser(MultiPartParser):
    """DRF's multipart parser with `_PathKeepingDjangoParser` inside."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context["request"]
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        try:
            parser = _PathKeepingDjangoParser(meta, stream, request.upload_handlers, encoding)
            data, files = parser.parse()
            return DataAndFiles(data, files)
        except MultiPartParserError as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from exc
        except SuspiciousFileOperation as exc:
            # A part named `..`, `photos/` or the like: Django's UploadedFile
            # refuses the name it cannot derive a file name from (a
            # SuspiciousOperation, Django's HTML 400 if let through). A 400
            # on the field, in the API's error shape; nothing is stored.
            raise _bad_path(_("A file name must name a file, not a folder (“photos/”) or “..”.")) from exc


def content_type_for(declared: str | None, file_name: str) -> str:
    """A clean `type/subtype`: the client's if well-formed, else guessed from the name."""
    declared = (declared or "").split(";", 1)[0].strip().lower()
    if declared and declared != "application/octet-stream" and _CONTENT_TYPE.match(declared):
        return declared
    guessed, _encoding = mimetypes.guess_type(file_name, strict=False)
    return guessed if guessed and _CONTENT_TYPE.match(guessed) else "application/octet-stream"


# Types a browser could run as a document (script inside): never served as
# such, inline or not.
ACTIVE_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "text/xsl"}
)
INLINE_MEDIA = ("image/", "video/", "audio/")


def is_previewable(content_type: str) -> bool:
    """What may be shown inline: images, video, audio and PDF — never a
    type that can carry script (SVG, HTML, XML)."""
    content_type = content_type.split(";", 1)[0].strip().lower()
    if content_type in ACTIVE_TYPES or content_type.endswith("+xml"):
        return False
    return content_type.startswith(INLINE_MEDIA) or content_type == "application/pdf"


def inline_content_type(content_type: str) -> str:
    """The type to serve inline: the stored one when it may be previewed, else plain bytes."""
    return content_type if is_previewable(content_type) else "application/octet-stream"


__all__ = ["HashingUploadHandler", "TemporaryUploadedFile", "content_type_for", "file_name_sanitise"]
