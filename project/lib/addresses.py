"""Where a URL given to Pan may point: the checks short-link targets and webhook
endpoints share (shortener/targets.py, webhooks/targets.py).

- `url_parts_checked(url, ...)`: an `http`/`https` URL with a host and no
  credentials, no whitespace or control characters, a valid port; its host in
  its normal form (`host_normalize`).
- `host_normalize(host)`: host names in their ASCII (IDNA/punycode) form, IPv4
  addresses read as browsers read them (`0x7f.1`, `2130706433`, `0177.0.0.1`
  are 127.0.0.1) and written as dotted quads, IPv6 addresses compressed.
- `ip_is_public(ip)`: false for loopback, private, shared (CGNAT), link-local,
  unspecified, reserved, multicast or otherwise not global addresses — IPv6
  too, including IPv4-mapped, 6to4, Teredo and NAT64 forms that wrap such an
  address.
- `host_is_local_name(host)`: `localhost`, `*.localhost` and single-label
  names (`http://intranet/`).
- `networks_parse(text)` / `ip_in_networks(ip, networks)`: the CIDR lists
  settings allow as exceptions (`WEBHOOK_ALLOWED_NETWORKS`).
"""

import ipaddress
import re
import unicodedata
from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit

import idna
from django.utils.translation import gettext_lazy as _

from .errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_IPV4_PART = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")

MSG_SPACES = _("The URL must not contain spaces or control characters.")
MSG_NO_HOST = _("The URL must name a host.")
MSG_CREDENTIALS = _("Links with a user name or password are not allowed.")
MSG_BAD_HOST = _("The host name is not valid.")
MSG_BAD_PORT = _("The port is not valid.")
MSG_PRIVATE = _("Links to private, loopback or local network addresses are not allowed.")


class InvalidAddress(ValidationFailed):
    """A URL that may not be used; the message says why (on the `url` field)."""

    code = "invalid_url"
    default_message = _("This URL cannot be used.")

    def __init__(self, message=None, **kwargs):
        message = message if message is not None else self.default_message
        super().__init__(message, fields={"url": [message]}, **kwargs)


def has_space_or_control(text: str) -> bool:
    # Cc: C0/C1 controls; Cf: format characters (zero-width, bidi overrides);
    # Z*: every kind of space and line/paragraph separator.
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp") or ch.isspace() for ch in text)


def _ipv4_number(part: str) -> int | None:
    """One part of a WHATWG IPv4 address: decimal, 0x hex or 0-led octal."""
    if not _IPV4_PART.match(part):
        return None
    try:
        if part[:2].lower() == "0x":
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10)
    except ValueError:
        return None


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Read `host` as browsers do (WHATWG URL "IPv4 parser"), or None.

    A host whose last label is a number is an IPv4 address to a browser:
    `2130706433`, `0x7f.1` and `127.1` all mean 127.0.0.1. If it looks
    numeric but does not parse, it is no valid host at all (`InvalidAddress`).
    """
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts.pop()
    if not parts:
        return None
    last = parts[-1]
    if not _IPV4_PART.match(last):
        return None
    if len(parts) > 4:
        raise InvalidAddress(MSG_BAD_HOST)
    numbers = [_ipv4_number(part) if part else None for part in parts]
    if any(n is None for n in numbers):
        raise InvalidAddress(MSG_BAD_HOST)
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise InvalidAddress(MSG_BAD_HOST)
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number * 256 ** (3 - index)
    return ipaddress.IPv4Address(value)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = [ip.ipv4_mapped, ip.sixtofour]
    if ip.teredo:
        found.extend(ip.teredo)
    if ip in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64: the last 32 bits are the IPv4 address
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [addr for addr in found if addr is not None]


def ip_is_public(ip: IPAddress) -> bool:
    """A global unicast address (and, for IPv6, so is every IPv4 address it wraps)."""
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        candidates.extend(_embedded_ipv4(ip))
    return not any(
        c.is_loopback
        or c.is_private
        or c.is_link_local
        or c.is_unspecified
        or c.is_reserved
        or c.is_multicast
        or not c.is_global
        for c in candidates
    )


def host_normalize(host: str) -> tuple[str, IPAddress | None]:
    """The ASCII host name (or canonical IP text, IPv6 in brackets) and the IP if it is one."""
    if host.startswith("["):
        try:
            ip = ipaddress.IPv6Address(host[1:-1].split("%")[0] if host.endswith("]") else "")
        except ValueError as exc:
            raise InvalidAddress(MSG_BAD_HOST) from exc
        if "%" in host:  # zone identifiers only make sense on the sender's machine
            raise InvalidAddress(MSG_BAD_HOST)
        return f"[{ip.compressed}]", ip
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError) as exc:
            raise InvalidAddress(MSG_BAD_HOST) from exc
    host = host.lower()
    ip = parse_ipv4(host)
    if ip is not None:
        return str(ip), ip
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise InvalidAddress(MSG_BAD_HOST)
    return host, None


def host_is_local_name(host: str) -> bool:
    """`localhost`, `*.localhost`, or a single label (`intranet`): names only a local resolver knows."""
    bare = host.rstrip(".")
    return bare == "localhost" or bare.endswith(".localhost") or "." not in bare


class CheckedUrl(NamedTuple):
    parts: SplitResult  # the URL as split (scheme as written)
    scheme: str  # lower case
    host: str  # host_normalize's form
    ip: IPAddress | None
    port: int | None


def url_parts_checked(url: str, *, schemes: tuple[str, ...], scheme_message) -> CheckedUrl:
    """Split an absolute URL and check its form: a scheme in `schemes` (else
    `scheme_message`), no spaces or controls, no `\\` before the query, no
    credentials, a host and a valid port. Raises `InvalidAddress`."""
    if has_space_or_control(url):
        raise InvalidAddress(MSG_SPACES)
    if "\\" in url.split("?", 1)[0].split("#", 1)[0]:
        # Browsers read "\" as "/" in http(s) URLs: "https://a.com\@b.com" goes to b.com.
        raise InvalidAddress(MSG_BAD_HOST)
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. unbalanced or invalid [IPv6] brackets
        raise InvalidAddress(MSG_BAD_HOST) from exc
    if parts.scheme.lower() not in schemes:
        raise InvalidAddress(scheme_message)
    if "@" in parts.netloc:
        raise InvalidAddress(MSG_CREDENTIALS)
    hostport = parts.netloc
    if not hostport:
        raise InvalidAddress(MSG_NO_HOST)
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidAddress(MSG_BAD_PORT) from exc
    if hostport.startswith("["):
        raw_host = hostport[: hostport.find("]") + 1] if "]" in hostport else hostport
    else:
        raw_host = hostport.rsplit(":", 1)[0] if ":" in hostport else hostport
    if raw_host in ("", "[]"):
        raise InvalidAddress(MSG_NO_HOST)
    if hostport.endswith(":") or port == 0:
        raise InvalidAddress(MSG_BAD_PORT)
    host, ip = host_normalize(raw_host)
    return CheckedUrl(parts, parts.scheme.lower(), host, ip, port)


def host_refused_as_private(host: str, ip: IPAddress | None) -> bool:
    """True for an IP that is not public, and for local names (`host_is_local_name`)."""
    if ip is not None:
        return not ip_is_public(ip)
    return host_is_local_name(host)


def networks_parse(text: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs (`10.0.0.0/8, ::1/128`); a bare address is one host. ValueError if malformed."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in (text or "").split(",") if item.strip())


def ip_in_networks(ip: IPAddress, networks) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip_in_networks(ip.ipv4_mapped, networks) or any(ip in net for net in networks if net.version == 6)
    return any(ip in net for net in networks if net.version == ip.version)
