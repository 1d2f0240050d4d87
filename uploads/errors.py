from django.utils.translation import gettext_lazy as _
from rest_framework import status

from project.lib.errors import ApplicationError, Conflict, Gone, NotFound


class TusVersionUnsupported(ApplicationError):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    code = "tus_version"
    default_message = _("This server speaks tus 1.0.0: send Tus-Resumable: 1.0.0.")


class UploadNotFound(NotFound):
    code = "upload_not_found"
    default_message = _("No such upload.")


class UploadExpired(Gone):
    code = "upload_expired"
    default_message = _("This upload has expired: start it again.")


class UploadFinished(NotFound):
    code = "upload_finished"
    default_message = _("This upload is complete and takes no more bytes.")


class OffsetMismatch(Conflict):
    code = "offset_mismatch"
    default_message = _("Upload-Offset does not match the bytes stored: ask with HEAD and resume there.")


class UploadBusy(ApplicationError):
    status_code = status.HTTP_423_LOCKED
    code = "upload_busy"
    default_message = _("Another request is sending bytes to this upload now.")


class WrongContentType(ApplicationError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    code = "wrong_content_type"
    default_message = _("Send the bytes as application/offset+octet-stream.")


class BadUploadHeader(ApplicationError):
    code = "bad_upload_header"
    default_message = _("An upload header is missing or not valid.")


class ChunkTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "chunk_too_large"
    default_message = _("This request sends more bytes than the upload still lacks.")


class ChecksumMismatch(ApplicationError):
    status_code = 460
    code = "checksum_mismatch"
    default_message = _("The bytes do not match Upload-Checksum; they were discarded.")


class ChecksumUnsupported(ApplicationError):
    code = "checksum_unsupported"
    default_message = _("Upload-Checksum uses an algorithm this server does not support (sha256, sha1, md5).")


class RequestHasNoRoom(Conflict):
    code = "request_full"
    default_message = _("This request takes no more files.")


class BodyIncomplete(ApplicationError):
    code = "body_incomplete"
    default_message = _("The body ended before its last byte: nothing was kept.")
