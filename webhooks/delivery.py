"""One HTTP request to a webhook endpoint, to an address checked first.

The endpoint's host is resolved (`host_resolve`: the system resolver, or the
DNS servers of `WEBHOOK_DNS_SERVERS`), EVERY answer must pass
`webhooks.targets.ip_allowed`, and the connection goes to a checked address
itself, with the URL's host in the `Host` header and, for https, in the TLS
SNI and the certificate check: the name is never resolved a second time, so
a DNS answer that changes between the check and the connection (DNS
rebinding) cannot send the request elsewhere. Redirects are never followed
(`http.client` follows none); at most `RESPONSE_PREFIX_BYTES` of the answer
are read; every socket operation has `WEBHOOK_TIMEOUT` seconds.
"""

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import dns.exception
import dns.nameserver
import dns.resolver
from django.conf import settings

from project.lib.addresses import IPAddress, host_normalize

from .models import RESPONSE_PREFIX_BYTES
from .targets import ip_allowed

USER_AGENT = "Pan-Webhooks/1"


class HostUnresolved(Exception):
    """The name has no address (or the resolver did not answer)."""


class AddressRefused(Exception):
    """The host resolves to an address webhooks may not be sent to."""


@dataclass
class Outcome:
    status: int | None  # None: no HTTP answer (refused address, connection error, timeout)
    error: str
    response: str

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _dns_servers() -> list:
    servers = []
    for item in settings.WEBHOOK_DNS_SERVERS.split(","):
        item = item.strip()
        if not item:
            continue
        host, port = item, 53
        if item.startswith("["):  # [::1]:5353
            host, _sep, rest = item[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else 53
        elif item.count(":") == 1:
            host, port_text = item.split(":")
            port = int(port_text)
        servers.append(dns.nameserver.Do53Nameserver(host, port))
    return servers


def host_resolve(host: str) -> list[IPAddress]:
    """Every address `host` resolves to (A and AAAA): with the DNS servers of
    `WEBHOOK_DNS_SERVERS` when set (dnspython), else the system resolver
    (`getaddrinfo`: /etc/hosts, then DNS). Raises `HostUnresolved`."""
    servers = _dns_servers()
    found: list[IPAddress] = []
    if servers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = servers
        resolver.lifetime = settings.WEBHOOK_TIMEOUT
        for kind in ("A", "AAAA"):
            try:
                answer = resolver.resolve(host, kind, search=False)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
                continue
            except dns.exception.DNSException as exc:
                raise HostUnresolved(str(exc)) from exc
            found += [ipaddress.ip_address(record.address) for record in answer]
    else:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise HostUnresolved(str(exc)) from exc
        found = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    unique = list(dict.fromkeys(found))
    if not unique:
        raise HostUnresolved(host)
    return unique


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a given address, with SNI and the certificate check for `server_name`."""

    def __init__(self, address: str, port: int, *, server_name: str, timeout: float):
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self.server_name = server_name

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.server_name)


def _addresses_checked(host: str, ip: IPAddress | None) -> list[IPAddress]:
    addresses = [ip] if ip is not None else host_resolve(host.rstrip("."))
    refused = [str(address) for address in addresses if not ip_allowed(address)]
    if refused:
        raise AddressRefused(", ".join(refused))
    return addresses


def webhook_post(*, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url` through a checked address; never raises for network trouble."""
    parts = urlsplit(url)
    try:
        host, ip = host_normalize(parts.hostname if ":" not in (parts.hostname or "") else f"[{parts.hostname}]")
        addresses = _addresses_checked(host, ip)
    except HostUnresolved:
        return Outcome(None, "the host name could not be resolved", "")
    except AddressRefused as exc:
        return Outcome(None, f"refused: the host resolves to an address webhooks may not reach ({exc})", "")
    except Exception:  # noqa: BLE001 - a URL that no longer parses (it was checked when registered)
        return Outcome(None, "the URL is not valid", "")
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    host_header = parts.netloc.rsplit("@", 1)[-1]
    sent = {**headers, "Host": host_header, "User-Agent": USER_AGENT, "Content-Type": "application/json"}
    timeout = settings.WEBHOOK_TIMEOUT
    error = ""
    for address in addresses:
        target = str(address)
        if https:
            connection = _PinnedHTTPSConnection(
                target, port, server_name=(parts.hostname or "").rstrip("."), timeout=timeout
            )
        else:
            connection = http.client.HTTPConnection(target, port, timeout=timeout)
        try:
            connection.request("POST", path, body=body, headers=sent)
            response = connection.getresponse()
            prefix = response.read(RESPONSE_PREFIX_BYTES)
            return Outcome(response.status, "", prefix.decode("utf-8", "replace"))
        except TimeoutError:
            error = f"no answer within {timeout:g} s ({target})"
        except ssl.SSLError as exc:
            error = f"TLS: {exc.reason or exc}"[:300]
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc} ({target})"[:300]
        finally:
            connection.close()
        if error.startswith("TLS") or "no answer" in error:
            break  # the server was reached: another address of it would answer the same
    return Outcome(None, error, "")
