"""Where webhooks may be sent: the kernel's checks (project/lib/addresses.py),
once when an endpoint is registered and again, on every resolved address,
before each delivery (webhooks/delivery.py).

- at registration: an `http`/`https` URL with a host, no credentials, at most
  2048 characters; an IP address must be public (or inside
  `WEBHOOK_ALLOWED_NETWORKS`); `localhost`, `*.localhost` and single-label
  names are refused; a name must resolve (`webhooks.delivery.host_resolve`)
  and every address it resolves to must pass the same check.
- at delivery: the name is resolved again and every answer checked; the
  connection goes to a checked address itself (no second resolution).
"""

from functools import lru_cache

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from project.lib.addresses import (
    MSG_PRIVATE,
    InvalidAddress,
    IPAddress,
    host_is_local_name,
    ip_in_networks,
    ip_is_public,
    networks_parse,
    url_parts_checked,
)

from .errors import InvalidEndpointUrl
from .models import URL_MAX_LENGTH

SCHEMES = ("http", "https")
MSG_EMPTY = _("Enter a URL.")
MSG_TOO_LONG = _("The URL is longer than 2048 characters.")
MSG_SCHEME = _("Webhooks are sent only to http and https URLs.")
MSG_UNRESOLVED = _("The host name could not be resolved.")


@lru_cache(maxsize=8)
def _networks(text: str):
    return networks_parse(text)


def allowed_networks():
    return _networks(settings.WEBHOOK_ALLOWED_NETWORKS)


def ip_allowed(ip: IPAddress) -> bool:
    """May a webhook be sent to this address? Public, or inside WEBHOOK_ALLOWED_NETWORKS."""
    return ip_is_public(ip) or ip_in_networks(ip, allowed_networks())


def endpoint_url_check(url) -> str:
    """Check an endpoint URL as it is registered; return it; raise `InvalidEndpointUrl`."""
    from .delivery import HostUnresolved, host_resolve

    if not isinstance(url, str) or not url:
        raise InvalidEndpointUrl(MSG_EMPTY)
    if len(url) > URL_MAX_LENGTH:
        raise InvalidEndpointUrl(MSG_TOO_LONG)
    try:
        checked = url_parts_checked(url, schemes=SCHEMES, scheme_message=MSG_SCHEME)
    except InvalidAddress as exc:
        raise InvalidEndpointUrl(exc.message) from exc
    if checked.ip is not None:
        if not ip_allowed(checked.ip):
            raise InvalidEndpointUrl(MSG_PRIVATE)
        return url
    if host_is_local_name(checked.host):
        raise InvalidEndpointUrl(MSG_PRIVATE)
    try:
        addresses = host_resolve(checked.host.rstrip("."))
    except HostUnresolved as exc:
        raise InvalidEndpointUrl(MSG_UNRESOLVED) from exc
    if not all(ip_allowed(ip) for ip in addresses):
        raise InvalidEndpointUrl(MSG_PRIVATE)
    return url
