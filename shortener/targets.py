"""Which URLs may be shortened, and their one normal form.

Accepted: `http`/`https` URLs with a host name or a public IP address, no
credentials, at most 2048 characters, no whitespace or control characters.
A bare `example.com/path` gets `https://`. Host names are stored in their
ASCII (IDNA/punycode) form, IPv4 addresses in dotted-quad form whatever way
they were written (`0x7f.1`, `2130706433`, `0177.0.0.1` are what browsers
read as 127.0.0.1), and non-ASCII characters in the path, query and fragment
are percent-encoded, so the stored target is plain ASCII.

The generic checks (form, host, address ranges) are the kernel's,
`project/lib/addresses.py`, shared with webhook endpoints; what is the
short links' own is here: the bare-host scheme, the length, and links back
to this service's redirects.

Refused (unless `SHORT_LINK_ALLOW_PRIVATE_TARGETS` is on): IP addresses that
are loopback, private, shared (CGNAT), link-local, unspecified, reserved,
multicast or otherwise not global — IPv6 too, including IPv4-mapped, 6to4
and Teredo forms that wrap such an address — and the names `localhost`,
`*.localhost` and single-label hosts (`http://intranet/`). Always refused:
links to this service's own pages that redirect — `/s/<key>`, `/short/<key>`,
the language switch — and links whose `next` leads to a short link: the
path is compared the way a browser, the server and a proxy would read it
(dot segments, percent-encoding, repeated slashes, any case), so no
spelling makes a redirect loop.
"""

import re
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit, urlunsplit

from django.conf import settings
from django.urls import Resolver404, resolve
from django.utils.encoding import iri_to_uri
from django.utils.translation import gettext_lazy as _

from project.lib.addresses import (
    MSG_PRIVATE,
    InvalidAddress,
    IPAddress,
    host_normalize,
    host_refused_as_private,
    url_parts_checked,
)

from .errors import InvalidTarget
from .models import TARGET_MAX_LENGTH

ALLOWED_SCHEMES = ("http", "https")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):(.*)$", re.DOTALL)
_PORT_THEN_PATH = re.compile(r"^\d+(?:[/?#]|$)")
_PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SLASHES = re.compile(r"/{2,}")
# Routes of ours (url names in project/urls.py) that answer GET with a
# redirect somewhere a link can choose: the short-link redirect itself, and
# Django's language switch (to its `next`, else the Referer). Other
# redirects go to fixed places (login, the share page, APPEND_SLASH's `/`).
_SHORT_LINK_ROUTES = frozenset({"short-link", "short-link-long"})
_REDIRECTING_ROUTES = frozenset({"set_language"})
_NEXT_DEPTH = 3  # `next` inside `next`, as deep as anyone would nest it

MSG_EMPTY = _("Enter a URL.")
MSG_TOO_LONG = _("The URL is longer than 2048 characters.")
MSG_SCHEME = _("Only http and https links can be shortened.")
MSG_LOOP = _("Links to this service's own short links are not allowed.")
MSG_OWN_REDIRECT = _("Links to pages of this service that redirect, such as the language switch, are not allowed.")


def _with_scheme(raw: str) -> str:
    """Give a bare `example.com/x` (or `example.com:8080/x`) an https scheme."""
    if raw.startswith("//"):
        return "https:" + raw
    match = _SCHEME.match(raw)
    if match and not _PORT_THEN_PATH.match(match.group(2)):
        return raw  # a real scheme (http:, javascript:, mailto:, ...), not "host:port"
    return "https://" + raw


def _normal_host(host: str) -> tuple[str, IPAddress | None]:
    try:
        return host_normalize(host)
    except InvalidAddress as exc:
        raise InvalidTarget(exc.message) from exc


def _own_sites(request_host: str | None) -> set[tuple[str, str]]:
    """(host, path prefix) of every address this service answers on.

    The request's host and `ALLOWED_HOSTS` (a `.host` entry and its
    subdomains) serve Pan at the root; `SHORT_LINK_BASE_URL` and
    `PUBLIC_BASE_URL` may put it under a prefix a proxy strips (`/go`).
    """
    sites = {(h.lstrip("."), "") for h in settings.ALLOWED_HOSTS if h and h != "*"}
    for base in (settings.SHORT_LINK_BASE_URL, settings.PUBLIC_BASE_URL):
        if base:
            parts = urlsplit(base if "//" in base else "//" + base)
            sites.add((parts.hostname or "", parts.path.rstrip("/")))
    if request_host:
        sites.add((urlsplit("//" + request_host).hostname or "", ""))
    normal = set()
    for host, prefix in sites:
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # urlsplit's hostname drops an IPv6 address's brackets
        try:
            host = _normal_host(host.rstrip("."))[0] if host else ""
        except InvalidTarget:
            host = host.lower()  # not a host a URL can hold; compared as written
        if host:
            normal.add((host.rstrip(".").strip("[]"), prefix))
    return normal


def _own_prefixes(host: str, sites: set[tuple[str, str]]) -> list[str]:
    """The path prefixes Pan has on `host` (empty: not ours). Ports are not
    compared: the same host on another port is most likely Pan too."""
    host = host.rstrip(".").strip("[]")
    return [prefix for own, prefix in sites if host == own or host.endswith("." + own)]


def _decode_unreserved(path: str) -> str:
    """RFC 3986 §6.2.2.2: `%2e` is `.`, `%73` is `s`; other escapes stay (in upper case)."""

    def decode(match: re.Match) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _PERCENT_ESCAPE.sub(decode, path)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, step by step as written there."""
    source, output = path, []
    while source:
        if source.startswith("../"):
            source = source[3:]
        elif source.startswith("./"):
            source = source[2:]
        elif source.startswith("/./") or source == "/.":
            source = "/" + source[3:]
        elif source.startswith("/../") or source == "/..":
            source = "/" + source[4:]
            if output:
                output.pop()
        elif source in (".", ".."):
            source = ""
        else:
            end = source.find("/", 1)
            end = len(source) if end == -1 else end
            output.append(source[:end])
            source = source[end:]
    return "".join(output)


def _routed_path(path: str) -> str:
    """The path Django routes when a browser follows a link to `path`.

    The browser resolves dot segments (`%2e` is a dot to it too); the server
    decodes every escape (`%2F` too); a proxy in front may merge slashes and
    resolve what decoding turned into dot segments. All of that, until
    nothing changes.
    """
    path = _remove_dot_segments(_decode_unreserved(path or "/")) or "/"
    for _round in range(3):
        routed = _remove_dot_segments(_SLASHES.sub("/", unquote(path))) or "/"
        if routed == path:
            break
        path = routed
    return path


def _route_name(path: str) -> str | None:
    """The url name Django would answer `path` with (after APPEND_SLASH), any case."""
    candidates = [path, path.lower()]
    candidates += [c + "/" for c in candidates if not c.endswith("/")]
    for candidate in candidates:
        try:
            return resolve(candidate).view_name
        except Resolver404:
            continue
    return None


def _own_redirect(path: str, query: str, prefixes: list[str], sites: set[tuple[str, str]], depth: int = 0):
    """Why a link to `path?query` on our own site (under one of `prefixes`)
    may not be shortened, or None."""
    routed = _routed_path(path)
    paths = [routed]
    paths += [routed[len(p) :] or "/" for p in prefixes if p and (routed + "/").startswith(p + "/")]
    for candidate in paths:
        name = _route_name(candidate)
        if name in _SHORT_LINK_ROUTES:
            return MSG_LOOP
        if name in _REDIRECTING_ROUTES:
            return MSG_OWN_REDIRECT
    if depth >= _NEXT_DEPTH:
        return None
    # Signing in (or the language switch) goes on to `next`; Django only
    # follows a `next` on the same site, so a relative one is ours.
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name != "next" or not value:
            continue
        try:
            nested = urlsplit(urljoin(routed, value))
        except ValueError:
            continue
        nested_prefixes = prefixes
        if nested.netloc:
            try:
                nested_prefixes = _own_prefixes(_normal_host(nested.hostname or "")[0], sites)
            except InvalidTarget:
                continue
            if not nested_prefixes:
                continue
        reason = _own_redirect(nested.path, nested.query, nested_prefixes, sites, depth + 1)
        if reason is not None:
            return reason
    return None


def target_url_normalize(*, url: str, request_host: str | None = None) -> str:
    """Check a target URL and return its normal form; raise `InvalidTarget`.

    `request_host` (the Host the request came in on) is treated as this
    service's own host, next to `ALLOWED_HOSTS`, `SHORT_LINK_BASE_URL` and
    `PUBLIC_BASE_URL`.
    """
    if not isinstance(url, str) or url == "":
        raise InvalidTarget(MSG_EMPTY)
    if len(url) > TARGET_MAX_LENGTH:
        raise InvalidTarget(MSG_TOO_LONG)
    try:
        checked = url_parts_checked(_with_scheme(url), schemes=ALLOWED_SCHEMES, scheme_message=MSG_SCHEME)
    except InvalidAddress as exc:
        raise InvalidTarget(exc.message) from exc
    parts, host, ip, port = checked.parts, checked.host, checked.ip, checked.port

    path = parts.path or "/"
    sites = _own_sites(request_host)
    prefixes = _own_prefixes(host, sites)
    if prefixes:
        reason = _own_redirect(path, parts.query, prefixes, sites)
        if reason is not None:
            raise InvalidTarget(reason)

    if not settings.SHORT_LINK_ALLOW_PRIVATE_TARGETS:
        if host_refused_as_private(host, ip):
            raise InvalidTarget(MSG_PRIVATE)

    netloc = host if port is None else f"{host}:{port}"
    normal = urlunsplit(
        (parts.scheme.lower(), netloc, iri_to_uri(path), iri_to_uri(parts.query), iri_to_uri(parts.fragment))
    )
    if len(normal) > TARGET_MAX_LENGTH:
        raise InvalidTarget(MSG_TOO_LONG)
    return normal
