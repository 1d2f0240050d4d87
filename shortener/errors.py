from django.utils.translation import gettext_lazy as _
from rest_framework import status

from project.lib.errors import ApplicationError, Conflict, Gone, NotFound, ValidationFailed


class InvalidTarget(ValidationFailed):
    """A target URL that cannot be shortened; the message says why."""

    code = "invalid_url"
    default_message = _("This URL cannot be shortened.")

    def __init__(self, message=None, **kwargs):
        message = message if message is not None else self.default_message
        super().__init__(message, fields={"url": [message]}, **kwargs)


class InvalidSlug(ValidationFailed):
    code = "invalid_slug"
    default_message = _("A custom name must be 3–64 characters: letters, digits, _ and -.")

    def __init__(self, message=None, **kwargs):
        message = message if message is not None else self.default_message
        super().__init__(message, fields={"slug": [message]}, **kwargs)


class InvalidExpiry(ValidationFailed):
    code = "invalid_expiry"
    default_message = _("The expiry time must be in the future.")

    def __init__(self, message=None, **kwargs):
        message = message if message is not None else self.default_message
        super().__init__(message, fields={"expires_at": [message]}, **kwargs)


class SlugTaken(Conflict):
    code = "slug_taken"
    default_message = _("This short name is already taken.")


class LinkNotFound(NotFound):
    code = "link_not_found"
    default_message = _("There is no short link with this name.")


class LinkExpired(Gone):
    code = "link_expired"
    default_message = _("This short link has expired.")


class LinkUsedUp(Gone):
    code = "link_used_up"
    default_message = _("This short link has reached its visit limit.")


class KeySpaceBusy(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "key_space_busy"
    default_message = _("No free short name could be found. Please try again.")


class LinkPaused(Gone):
    code = "link_paused"
    default_message = _("This short link is paused by its owner.")


class LinkPasswordRequired(ApplicationError):
    """Not an API answer of its own: the redirect shows the link's password page."""

    status_code = status.HTTP_401_UNAUTHORIZED
    code = "password_required"
    default_message = _("This short link has a password.")
