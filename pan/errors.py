from django.utils.translation import gettext_lazy as _
from rest_framework import status

from project.lib.errors import ApplicationError, Gone, NotFound, PermissionDenied, TooManyRequests


class FileTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "file_too_large"
    default_message = _("The file is larger than this server accepts.")


class MalformedUpload(ApplicationError):
    code = "malformed_upload"
    default_message = _("The upload is not a valid multipart form.")


class FileNotFound(NotFound):
    code = "file_not_found"
    default_message = _("No such file.")


class FileExpired(Gone):
    code = "file_expired"
    default_message = _("This file has expired.")


class FileRevoked(Gone):
    code = "file_revoked"
    default_message = _("The owner has stopped sharing this file.")


class FileUsedUp(Gone):
    code = "file_used_up"
    default_message = _("This file has reached its download limit.")


class CodeRejected(PermissionDenied):
    code = "code_rejected"
    default_message = _("The share code is not correct.")


class CodeGuessingLimited(TooManyRequests):
    code = "code_guessing_limited"
    default_message = _("Too many wrong codes for this file. Try again later.")


class FileLockedForCodes(TooManyRequests):
    code = "file_locked"
    default_message = _("This file is not accepting codes for a while after too many wrong ones.")


class LoginRequiredToDownload(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "login_required"
    default_message = _("Log in to download files.")


class DownloadNotAllowed(PermissionDenied):
    code = "download_not_allowed"
    default_message = _("You do not have permission to download files.")
