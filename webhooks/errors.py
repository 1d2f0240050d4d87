from django.utils.translation import gettext_lazy as _

from project.lib.addresses import InvalidAddress
from project.lib.errors import NotFound, ValidationFailed


class InvalidEndpointUrl(InvalidAddress):
    """An endpoint URL that may not be used; the message says why."""

    code = "invalid_url"
    default_message = _("This URL cannot receive webhooks.")


class InvalidEvents(ValidationFailed):
    code = "invalid_events"
    default_message = _("Choose one or more events from the list.")

    def __init__(self, message=None, **kwargs):
        message = message if message is not None else self.default_message
        super().__init__(message, fields={"events": [message]}, **kwargs)


class TooManyEndpoints(ValidationFailed):
    code = "too_many_webhooks"
    default_message = _("You have as many webhooks as one account may have (%(max)s).")


class EndpointNotFound(NotFound):
    code = "webhook_not_found"
    default_message = _("No such webhook.")
