"""One family of errors for every business rule, and its JSON form.

Services raise `ApplicationError` subclasses; the DRF exception handler below
turns them (and DRF's own errors) into one JSON shape:

    {"error": {"code": "...", "message": "...", "fields": {...}}}

Page views catch the same errors and render templates with the message.
"""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler
from rest_framework_simplejwt.exceptions import InvalidToken as JwtInvalidToken


class ApplicationError(Exception):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    default_message = _("The request could not be processed.")

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
