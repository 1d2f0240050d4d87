"""One family of errors for every business rule, and its JSON form.

Services raise `ApplicationError` subclasses; the DRF exception handler below
turns them (and DRF's own errors) into one JSON shape:

    {"error": {"code": "...", "message": "...", "fields": {...}}}

Page views turn the same errors into pages through one helper,
project/lib/error_pages.py (`error_page`): a page may say more than the API
(`page_message`, `hint`), never something else.
A database that cannot be reached is a 503 here (API views) and in
`project.middleware.DatabaseUnavailableMiddleware` (everything else).
"""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db.utils import OperationalError
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler
from rest_framework_simplejwt.exceptions import InvalidToken as JwtInvalidToken

from project.lib.metrics import DATABASE_ERRORS

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    default_message = _("The request could not be processed.")
    # What the error page says instead of `message` (a sentence for people, where
    # the API's is terse), and what to do next; None: the message alone.
    page_message = None
    hint = None

    def __init__(self, message=None, *, fields: dict | None = None, headers: dict | None = None):
        self.message = message if message is not None else self.default_message
        self.fields = fields or {}
        self.headers = headers or {}
        super().__init__(str(self.message))


class ValidationFailed(ApplicationError):
    code = "invalid"
    default_message = _("Some fields are not valid.")


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_message = _("Not found.")


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_message = _("This already exists.")


class PermissionDenied(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    default_message = _("You do not have permission to do this.")


class Gone(ApplicationError):
    status_code = status.HTTP_410_GONE
    code = "gone"
    default_message = _("This is no longer available.")


class TooManyRequests(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "too_many_requests"
    default_message = _("Too many attempts. Try again later.")

    def __init__(self, message=None, *, retry_after: int, **kwargs):
        self.retry_after = max(1, int(retry_after))
        headers = {"Retry-After": str(self.retry_after), **kwargs.pop("headers", {})}
        super().__init__(message, headers=headers, **kwargs)


# Django's own request limits (DATA_UPLOAD_*) raise SuspiciousOperation
# subclasses, which Django answers with an English HTML "Bad Request (400)".
# On API paths they become these: 413 for a body over its size in bytes (RFC
# 9110 §15.5.14), 400 for too many fields or files (the query string counts
# too, so "content too large" would not always be true).


class BodyTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "body_too_large"
    default_message = _("The request body is too large.")


class TooManyFields(ApplicationError):
    code = "too_many_fields"
    default_message = _("The request has too many fields.")


class TooManyFiles(ApplicationError):
    code = "too_many_files"
    default_message = _("The request has too many files.")


class BadRequest(ApplicationError):
    """A request Django itself refused (handler400): nothing more is known."""

    code = "bad_request"
    default_message = _("The request could not be processed.")


def request_limit_error(exc) -> ApplicationError | None:
    """The API error for one of Django's request limits, or None for any other exception."""
    if isinstance(exc, RequestDataTooBig):
        size = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return BodyTooLarge(_("The request body is too large (at most %(size)s).") % {"size": size})
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return TooManyFields(_("The request has too many fields (at most %(limit)d).") % {"limit": limit})
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return TooManyFiles(_("The request has too many files (at most %(limit)d).") % {"limit": limit})
    return None


class DatabaseUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "database_unavailable"
    default_message = _("The database is not answering right now. Try again in a moment.")


# What a view sees when PostgreSQL is down: Django wraps psycopg's errors,
# the pool's PoolTimeout (a psycopg OperationalError) included, in its own
# OperationalError. A locked SQLite database past its busy timeout is one too,
# and "try again in a moment" is the right answer to it as well.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError,)


def database_unavailable_logged(exc: Exception) -> DatabaseUnavailable:
    """The 503 error for a database failure, logged as one line (no traceback: it is not a bug)
    and counted (every 503 for the database comes through here)."""
    DATABASE_ERRORS.inc()
    logger.warning("database unavailable: %s: %s", type(exc).__name__, exc)
    return DatabaseUnavailable()


def error_body(code: str, message, fields: dict | None = None) -> dict:
    error = {"code": code, "message": str(message)}
    if fields:
        error["fields"] = {name: [str(m) for m in msgs] for name, msgs in fields.items()}
    return {"error": error}


def _flatten(detail) -> tuple[str, dict]:
    """Turn DRF's nested error detail into a message and a field map."""
    if isinstance(detail, dict):
        fields = {}
        for name, value in detail.items():
            items = value if isinstance(value, list) else [value]
            fields[name] = [str(item) if not isinstance(item, dict) else str(item) for item in items]
        first = next(iter(fields.values()), [""])
        return (first[0] if first else ""), fields
    if isinstance(detail, list):
        return (str(detail[0]) if detail else ""), {}
    return str(detail), {}


def api_exception_handler(exc, context):
    exc = request_limit_error(exc) or exc
    if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        exc = database_unavailable_logged(exc)
    if isinstance(exc, ApplicationError):
        response = Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code, headers=exc.headers)
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, JwtInvalidToken):
        # simplejwt's own wording is untranslated in places; one clear message.
        return Response(
            error_body("token_not_valid", _("The token is not valid or has expired.")),
            status=status.HTTP_401_UNAUTHORIZED,
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        message, fields = _flatten(exc.detail)
        # Field errors get one general message; the details stay per field.
        body = error_body("invalid", ValidationFailed.default_message if fields else message, fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        if isinstance(detail, dict):
            # simplejwt puts its own dict in detail: {"detail", "code", "messages"}.
            code = str(detail.get("code", code))
            message = str(detail.get("detail", ""))
        else:
            message, _unused = _flatten(detail)
        body = error_body(code, message)
    response.data = body
    return response
