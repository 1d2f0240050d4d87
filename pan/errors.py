from django.utils.translation import gettext_lazy as _
from rest_framework import status

from project.lib.errors import ApplicationError, Conflict, Gone, NotFound, PermissionDenied, TooManyRequests

# Raised by the kernel's password and guessing checks; named with pan's errors for pan's views.
from project.lib.secrets import CodeGuessingLimited, PasswordRejected, PasswordRequired  # noqa: F401

# What to do about a share that is gone for good (its error pages say it).
ASK_AGAIN = _("Ask the person who sent you the link to share it again.")


class FileTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "file_too_large"
    default_message = _("The file is larger than this server accepts.")


class ShareTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "share_too_large"
    default_message = _("The files together are larger than one share may hold.")


class QuotaExceeded(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "quota_exceeded"
    default_message = _("This would take your stored files past your quota of %(quota)s.")


class TooManyItems(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "too_many_items"
    default_message = _("A share holds at most %(max)s items.")


class TextTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "text_too_large"
    default_message = _("The text is longer than %(max)s KiB.")


class MalformedUpload(ApplicationError):
    code = "malformed_upload"
    default_message = _("The upload is not a valid multipart form.")


class FileNotFound(NotFound):
    code = "file_not_found"
    default_message = _("No such share.")
    page_message = _("There is nothing shared at this address. Check the link you were given.")


class ItemNotFound(NotFound):
    code = "item_not_found"
    default_message = _("No such item in this share.")


class VideoNotFound(NotFound):
    code = "video_not_found"
    default_message = _("There is no such video.")


class FileExpired(Gone):
    code = "file_expired"
    default_message = _("This share has expired.")
    hint = ASK_AGAIN


class FileRevoked(Gone):
    code = "file_revoked"
    default_message = _("The owner has stopped sharing this.")
    hint = ASK_AGAIN


class FileUsedUp(Gone):
    code = "file_used_up"
    default_message = _("This share has reached its download limit.")
    hint = ASK_AGAIN


class ItemMissing(Gone):
    code = "item_missing"
    default_message = _("The stored bytes of this file are missing; its owner has been told.")


class StorageUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "storage_unavailable"
    default_message = _("The file storage cannot be reached right now. Try again in a moment.")


class ShareStillUploading(Conflict):
    code = "share_uploading"
    default_message = _("This share is still being uploaded. Try again when it is complete.")


class ShareNotFilling(Conflict):
    code = "share_complete"
    default_message = _("This share is complete; items can no longer be added.")


class NoCodeFound(ApplicationError):
    code = "no_code"
    default_message = _("No share code found in what was entered. A code looks like ABCD-2345.")


class CodeRejected(PermissionDenied):
    code = "code_rejected"
    default_message = _("The share code is not correct.")


class FileLockedForCodes(TooManyRequests):
    code = "file_locked"
    default_message = _("This share is not accepting codes for a while after too many wrong ones.")


class LoginRequiredToDownload(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "login_required"
    default_message = _("Log in to download files.")


class DownloadNotAllowed(PermissionDenied):
    code = "download_not_allowed"
    default_message = _("You do not have permission to download files.")


class ShareNotLive(Conflict):
    """A new code for a share no code can open: it would report success while
    the share stays dead (issue 19). The message says what would revive it."""

    code = "share_not_live"
    default_message = _("This share cannot be opened now, so a new code would not help.")
