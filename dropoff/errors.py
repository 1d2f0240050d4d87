from django.utils.translation import gettext_lazy as _
from rest_framework import status

from project.lib.errors import ApplicationError, Gone, NotFound, TooManyRequests


class RequestNotFound(NotFound):
    code = "request_not_found"
    default_message = _("There is no drop-off request with this code.")
    page_message = _("There is no drop-off request with this code. Check the code you were given.")


class RequestClosed(Gone):
    code = "request_closed"
    default_message = _("This drop-off request was closed by its owner.")


class RequestExpired(Gone):
    code = "request_expired"
    default_message = _("This drop-off request has expired.")


class RequestFull(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "request_full"
    default_message = _("This drop-off request cannot take that many files or bytes.")


class TooManyDrops(TooManyRequests):
    code = "too_many_drops"
    default_message = _("Too many drops from your network. Try again later.")
