"""Who is asking, and over what: the client address and whether the
connection is secure, believing proxies only when told to (`TRUSTED_PROXIES`)."""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=1)
def _trusted_networks(proxies: tuple[str, ...]):
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _trusted_networks(tuple(settings.TRUSTED_PROXIES)))


def client_address(request) -> str:
    """The address of the client, as the rate limiters and logs should see it.

    `X-Forwarded-For` is read right to left and only while the hop that
    added an entry is one of `TRUSTED_PROXIES`; anyone else could write
    whatever they like in that header.
    """
    return client_address_of(request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", ""))


def client_address_of(remote: str, forwarded: str) -> str:
    """`client_address` from the peer address and the X-Forwarded-For value."""
    remote = remote or "unknown"
    if not settings.TRUSTED_PROXIES or not _is_trusted(remote):
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    address = remote
    while hops and _is_trusted(address):
        address = hops.pop()
    return address


def forwarded_proto_believed(remote: str) -> bool:
    """Whether `X-Forwarded-Proto` from this peer is believed: only with
    `BEHIND_TLS_PROXY` and only from a peer in `TRUSTED_PROXIES` (anyone
    else could claim https; settings refuse BEHIND_TLS_PROXY without
    TRUSTED_PROXIES)."""
    return bool(getattr(settings, "BEHIND_TLS_PROXY", False)) and bool(settings.TRUSTED_PROXIES) and _is_trusted(remote)


def connection_is_secure(*, scheme: str, remote: str, forwarded_proto: str) -> bool:
    """Whether a request came in over TLS: its own scheme (`https`, `wss`),
    or the first value of `X-Forwarded-Proto` is `https` and comes from a
    believed proxy (`forwarded_proto_believed`)."""
    if scheme in ("https", "wss"):
        return True
    claimed = forwarded_proto.split(",")[0].strip().lower()
    return claimed == "https" and forwarded_proto_believed(remote)


def client_key(address: str) -> str:
    """A rate-limit key for an address: IPv6 clients are keyed by their /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and not ip.ipv4_mapped:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    if ip.version == 6:
        return str(ip.ipv4_mapped)
    return str(ip)


def network_key(address: str) -> str:
    """The network an address belongs to, for limits on a whole network:
    IPv4 /24, IPv6 /48."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def key_digest(value: str) -> str:
    """A short SHA-256 of a client or network key, for cache keys (any characters, fixed length)."""
    import hashlib

    return hashlib.sha256(value.encode()).hexdigest()[:24]
