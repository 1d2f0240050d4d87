"""Short-link rules: create, change, delete, resolve a visit.

Every interface calls these: the API, the `/short/` page, the redirect view,
Django admin and `manage.py shorten`.

The redirect path (`short_link_visit`) reads one cache entry holding what it
needs (target, expiry, visit limit); the database is read only on a cache
miss. Visits are counted with one conditional `UPDATE ... SET visit_count =
visit_count + 1` by primary key: no read-modify-write, so concurrent visits
are never lost, and with a visit limit the `visit_count < max_visits`
condition decides in the database which visit is the last one allowed.
"""

import re
import secrets
from datetime import datetime
from types import SimpleNamespace
from typing import NamedTuple

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import Action
from audit.services import audit_record
from project.lib.errors import ValidationFailed
from project.lib.lifecycle import has_expired
from project.lib.metrics import SHORT_LINK_VISITS
from project.lib.optional_cache import optional_cache
from project.lib.qr import qr_svg_inline
from project.lib.secrets import guess_layers, password_check, password_hash
from webhooks.services import webhook_emit

from .errors import (
    InvalidExpiry,
    InvalidSlug,
    KeySpaceBusy,
    LinkExpired,
    LinkNotFound,
    LinkPasswordRequired,
    LinkPaused,
    LinkUsedUp,
    SlugTaken,
)
from .models import KEY_LENGTH, LINK_LIFECYCLE, LinkState, ShortLink
from .stats import visit_record
from .targets import target_url_normalize

# No look-alikes: no 0/O/o, 1/l/I/i.
KEY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
KEY_ATTEMPTS = 10
_ALPHABET_SIZE = len(KEY_ALPHABET)
_UNIFORM_BELOW = 256 - 256 % _ALPHABET_SIZE
SLUG_PATTERN = re.compile(r"^[A-Za-z0-9_-]{3,64}$")
# Route names and words that would make a short link look like part of the site.
RESERVED_SLUGS = frozenset(
    {
        "about", "account", "accounts", "admin", "api", "assets", "docs", "f", "favicon.ico", "files", "help",
        "i18n", "login", "logout", "media", "new", "post", "redoc", "register", "robots.txt", "s", "schema",
        "server-status", "share", "short", "static", "videos", "welcome", "ws", "ws-echo",
    }
)  # fmt: skip
_UNSET = object()
_MISSING = "missing"  # cached "no such key", so unknown keys do not hit the database each time
_MISSING_SECONDS = 60


class Visitor(NamedTuple):
    """What the statistics may learn of a visit (shortener/stats.py reduces it further)."""

    user_agent: str
    referer: str
    client: str


def generate_key() -> str:
    """A random key: `KEY_LENGTH` characters of `KEY_ALPHABET`, uniform, from `secrets`.

    One read of the system's random source per key (rejection sampling of
    random bytes), not one per character as `secrets.choice` would: each
    read hands the interpreter lock to the other request threads.
    Kept as a module-level function so a test can replace it to force a
    collision (the random source is the one thing a test cannot steer).
    """
    key = ""
    while len(key) < KEY_LENGTH:
        # 55 characters: bytes below 220 (4 × 55) map uniformly; about 14 % are drawn again.
        key += "".join(KEY_ALPHABET[byte % _ALPHABET_SIZE] for byte in secrets.token_bytes(12) if byte < _UNIFORM_BELOW)
    return key[:KEY_LENGTH]


def _cache_key(key: str) -> str:
    return f"shortlink:v1:{key}"


def short_link_forget(*, key: str) -> None:
    """Drop a key's cache entry now and again when the transaction commits.

    The second delete closes the window in which a concurrent visit could
    read the old row before the commit and put it back in the cache.
    """
    optional_cache.delete(_cache_key(key))
    transaction.on_commit(lambda: optional_cache.delete(_cache_key(key)))


def slug_validate(*, slug: str) -> str:
    """A custom slug: 3–64 of [A-Za-z0-9_-], not reserved. Raises `InvalidSlug`."""
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
        raise InvalidSlug()
    if slug.lower() in RESERVED_SLUGS:
        raise InvalidSlug(_("This name is reserved. Please choose another one."))
    return slug


def short_link_check_limits(*, expires_at: datetime | None = None, max_visits: int | None = None) -> None:
    """An expiry must lie in the future, a visit limit be an integer >= 1; else `ValidationFailed`."""
    if expires_at is not None:
        if timezone.is_naive(expires_at):
            expires_at = timezone.make_aware(expires_at)
        if has_expired(expires_at, timezone.now()):
            raise InvalidExpiry()
    if max_visits is not None and (isinstance(max_visits, bool) or not isinstance(max_visits, int) or max_visits < 1):
        message = _("The visit limit must be a whole number of at least 1.")
        raise ValidationFailed(message, fields={"max_visits": [message]})


def _owner_or_none(owner):
    return owner if owner is not None and getattr(owner, "is_authenticated", False) else None


def short_link_create(
    *,
    url: str,
    owner=None,
    slug: str | None = None,
    expires_at: datetime | None = None,
    max_visits: int | None = None,
    password: str | None = None,
    request_host: str | None = None,
) -> tuple[ShortLink, bool]:
    """Shorten `url`; return `(link, created)`.

    The target is checked and normalised (`target_url_normalize`). Without
    options, the same normalised URL from the same owner returns the owner's
    existing plain link (`created` False); anonymous plain links are shared
    the same way among anonymous callers. The insert comes first and the
    unique constraints on plain links (`ShortLink.is_plain`) decide: no
    lookup before it, and N concurrent identical creations make one link.
    A `password` (hashed like share passwords; empty or None: none), an
    expiry or a visit limit makes a new link every time, so an existing
    unprotected link is never handed out in its place, nor a protected one
    for a plain request. A slug that exists already is `SlugTaken` unless it
    is the same owner's identical link without a password. A generated key
    that collides is drawn again, up to `KEY_ATTEMPTS` times (`KeySpaceBusy`
    after that); an existing row is never overwritten.
    Raises `InvalidTarget`, `InvalidSlug`, `InvalidExpiry`, `ValidationFailed`.
    """
    owner = _owner_or_none(owner)
    target = target_url_normalize(url=url, request_host=request_host)
    if slug is not None:
        slug = slug_validate(slug=slug)
    short_link_check_limits(expires_at=expires_at, max_visits=max_visits)
    hashed_password = password_hash(password)
    fields = {
        "target_url": target,
        "owner": owner,
        "expires_at": expires_at,
        "max_visits": max_visits,
        "password": hashed_password,
    }

    if slug is not None:
        existing = ShortLink.objects.filter(key=slug).first()
        if existing is not None:
            if (
                owner is not None
                and existing.owner_id == owner.pk
                and existing.target_url == target
                and existing.expires_at == expires_at
                and existing.max_visits == max_visits
                and not existing.password
                and not hashed_password
            ):
                return existing, False
            raise SlugTaken()
        try:
            link = _insert(key=slug, is_custom=True, **fields)
        except IntegrityError as exc:  # taken between the check and the insert
            raise SlugTaken() from exc
        return link, True

    plain = expires_at is None and max_visits is None and not hashed_password
    for _attempt in range(KEY_ATTEMPTS):
        key = generate_key()
        try:
            return _insert(key=key, is_plain=plain, **fields), True
        except IntegrityError:
            # The unique constraints decide: the owner's plain link for this
            # target (made before, or by a concurrent request) …
            existing = _plain_link(owner=owner, target=target) if plain else None
            if existing is not None:
                return existing, False
            if ShortLink.objects.filter(key=key).exists():
                continue  # … or a key collision: draw again, never overwrite
            raise
    raise KeySpaceBusy()


def _plain_link(*, owner, target: str) -> ShortLink | None:
    return ShortLink.objects.filter(owner=owner, target_url=target, is_plain=True).select_related("owner").first()


def _insert(**columns) -> ShortLink:
    """One new link and its audit row, in one transaction; `IntegrityError` if a
    unique constraint refuses it (nothing written then)."""
    with transaction.atomic():
        link = ShortLink.objects.create(**columns)
        _created_audit(link)
        # A "no such key" kept by a visit before the commit is dropped once the link is there.
        transaction.on_commit(lambda: optional_cache.delete(_cache_key(link.key)))
    return link


def short_link_update(
    *,
    link: ShortLink,
    url=_UNSET,
    expires_at=_UNSET,
    max_visits=_UNSET,
    paused=_UNSET,
    password=_UNSET,
    request_host: str | None = None,
) -> ShortLink:
    """Change a link's target, expiry, visit limit, pause or password and drop its cache entry.

    Only the given fields are written (`update_fields`), so a concurrent
    visit's counter update is never overwritten by a stale `visit_count`.
    `None` clears the expiry or the limit; `password` "" or None clears it.
    Raises like `short_link_create`.
    """
    changed = []
    was_plain = link.is_plain
    target_before = link.target_url
    if paused is not _UNSET:
        if not isinstance(paused, bool):
            message = _("Enter true or false.")
            raise ValidationFailed(message, fields={"paused": [message]})
        link.paused = paused
        changed.append("paused")
    if password is not _UNSET:
        link.password = password_hash(password)
        changed.append("password")
    if url is not _UNSET:
        link.target_url = target_url_normalize(url=url, request_host=request_host)
        changed.append("target_url")
    if expires_at is not _UNSET:
        short_link_check_limits(expires_at=expires_at)
        link.expires_at = expires_at
        changed.append("expires_at")
    if max_visits is not _UNSET:
        short_link_check_limits(max_visits=max_visits)
        link.max_visits = max_visits
        changed.append("max_visits")
    if was_plain and not (
        link.target_url == target_before and link.expires_at is None and link.max_visits is None and not link.password
    ):
        # No longer what a plain creation asks for: never handed out for the same URL again.
        link.is_plain = False
        changed.append("is_plain")
    if changed:
        with transaction.atomic():
            link.save(update_fields=changed)
            short_link_forget(key=link.key)
            audit_record(Action.LINK_UPDATE, object_type="link", object_id=link.key, detail={"fields": sorted(changed)})
    return link


def short_link_password_check(*, link: ShortLink, password: str | None, client: str) -> None:
    """A link's password, counted like share codes and passwords (401 missing, 403 wrong, 429 limited)."""
    password_check(stored=link.password, given=password, layers=lambda: guess_layers(client, scope=f"link:{link.key}"))


def short_link_delete(*, link: ShortLink) -> None:
    """Delete a link; its key answers 404 from now on (cache entry dropped)."""
    key = link.key
    with transaction.atomic():
        audit_record(Action.LINK_DELETE, object_type="link", object_id=key, detail={"visits": link.visit_count})
        link.delete()
        short_link_forget(key=key)


def _created_audit(link: ShortLink) -> None:
    detail = {
        "custom": link.is_custom,
        "expires": link.expires_at is not None,
        "max_visits": link.max_visits,
        "password": bool(link.password),
    }
    audit_record(Action.LINK_CREATE, object_type="link", object_id=link.key, actor=link.owner, detail=detail)


def short_link_url(*, key: str, base_url: str | None = None) -> str:
    """The public short URL of a key: `SHORT_LINK_BASE_URL` or `base_url`, then `/s/<key>`."""
    base = settings.SHORT_LINK_BASE_URL or base_url or settings.PUBLIC_BASE_URL
    return f"{base.rstrip('/')}/s/{key}"


def short_link_qr_svg(*, short_url: str) -> str:
    """A QR code of the short URL as inline SVG markup (the `/short/` page's; the API links to the files)."""
    return qr_svg_inline(short_url)


# --- The redirect's hot path (async) ------------------------------------------


def _entry(row: dict) -> dict:
    return {
        "id": row["pk"],
        "url": row["target_url"],
        "exp": row["expires_at"],
        "max": row["max_visits"],
        "paused": row["paused"],
        "pw": row["password"],
    }


_ENTRY_FIELDS = ("pk", "target_url", "expires_at", "max_visits", "paused", "password")
# What a link's state is judged on (`LINK_LIFECYCLE`), and what each state answers.
_STATE_FIELDS = ("paused", "expires_at", "max_visits", "visit_count")
_STATE_ERRORS = {LinkState.PAUSED: LinkPaused, LinkState.EXPIRED: LinkExpired, LinkState.USED_UP: LinkUsedUp}


async def _load(key: str) -> dict | None:
    row = await ShortLink.objects.filter(key=key).values(*_ENTRY_FIELDS).afirst()
    if row is None:
        await optional_cache.aset(_cache_key(key), _MISSING, _MISSING_SECONDS)
        return None
    entry = _entry(row)
    await optional_cache.aset(_cache_key(key), entry, settings.SHORT_LINK_CACHE_SECONDS)
    return entry


@sync_to_async
def _visit_count(matches, *, now: datetime, link_id: int, visitor: Visitor | None) -> int:
    """Count the visit and, if it counted, put it in the statistics buffer: in
    one call in the ORM's thread (what `aupdate` would run), so a request
    cancelled while it runs (daphne cancels what is still running when it
    stops) cannot count a visit that the statistics never see."""
    hit = matches.update(visit_count=F("visit_count") + 1, last_visit=now)
    if hit and visitor is not None:
        visit_record(link_id=link_id, **visitor._asdict())
    return hit


@sync_to_async
def _used_up_announce(link_id: int, now: datetime) -> None:
    """After a counted visit to a link with a visit limit: if that visit used it up,
    tell the owner's webhooks, once (the conditional UPDATE picks one announcer)."""
    _expiry_announce(
        ShortLink.objects.filter(pk=link_id, max_visits__isnull=False, visit_count__gte=F("max_visits")),
        now=now,
        reason="visits",
    )


def _expiry_announce(matches, *, now: datetime, reason: str) -> bool:
    link = matches.filter(expiry_announced_at__isnull=True).values("pk", "key", "owner_id", "visit_count").first()
    if link is None or not ShortLink.objects.filter(pk=link["pk"], expiry_announced_at__isnull=True).update(
        expiry_announced_at=now
    ):
        return False
    webhook_emit(
        owner_id=link["owner_id"],
        event="link.expired",
        data={"link": link["key"], "reason": reason, "visits": link["visit_count"]},
        at=now,
    )
    return True


def short_links_announce_expired(*, now: datetime | None = None, batch: int = 500) -> int:
    """Tell owners' webhooks about links whose time passed (`link.expired`, reason "time"),
    each once: run by the periodic task `shortener.tasks.short_links_announce_expired`.
    Links without an owner have no webhooks and are left alone. Return how many."""
    now = now or timezone.now()
    due = ShortLink.objects.filter(expiry_announced_at__isnull=True, owner__isnull=False, expires_at__lte=now)
    announced = 0
    for pk in list(due.order_by("expires_at").values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            announced += _expiry_announce(ShortLink.objects.filter(pk=pk), now=now, reason="time")
    return announced


async def short_link_visit(
    *, key: str, count: bool = True, visitor: Visitor | None = None, password_checked: bool = False
) -> str:
    """Resolve a key for a visit and count it; return the target URL.

    One cache read in the common case, then one `UPDATE` by primary key
    that also matches the cached target, expiry, limit, pause and password:
    if the row was changed or deleted behind a stale cache entry, the
    update matches nothing, the entry is dropped and the row is read afresh
    — a stale target is never served. Expiry is judged now, not when cached.
    `count=False` (HEAD) checks without counting. A counted visit goes into
    the statistics buffer (`shortener.stats`, no database write) when a
    `visitor` is given. A link with a password needs `password_checked`
    (`short_link_password_check` passed for this visit).
    Raises `LinkNotFound`, `LinkExpired`, `LinkUsedUp`, `LinkPaused`,
    `LinkPasswordRequired`.
    """
    entry = await optional_cache.aget(_cache_key(key))
    from_cache = entry is not None
    for _attempt in range(3):
        if entry is None:
            entry, from_cache = await _load(key), False
        if entry is None or entry == _MISSING:
            raise LinkNotFound()
        now = timezone.now()
        if entry.get("paused"):
            raise LinkPaused()
        if has_expired(entry["exp"], now):
            raise LinkExpired()
        if entry.get("pw") and not password_checked:
            raise LinkPasswordRequired()
        matches = ShortLink.objects.filter(
            pk=entry["id"],
            target_url=entry["url"],
            expires_at=entry["exp"],
            max_visits=entry["max"],
            paused=False,
            password=entry.get("pw", ""),
        )
        if entry["max"] is not None:
            matches = matches.filter(visit_count__lt=F("max_visits"))
        if count:
            hit = await _visit_count(matches, now=now, link_id=entry["id"], visitor=visitor)
        else:
            hit = await matches.aexists()
        if hit:
            if count:
                SHORT_LINK_VISITS.inc()
                if entry["max"] is not None:
                    await _used_up_announce(entry["id"], now)
            return entry["url"]
        if not from_cache:
            # Freshly read and still no match: ask the row why.
            row = await ShortLink.objects.filter(pk=entry["id"]).values(*_STATE_FIELDS).afirst()
            if row is None:
                await optional_cache.adelete(_cache_key(key))
                raise LinkNotFound()
            state = LINK_LIFECYCLE.state(SimpleNamespace(**row), now)
            if state in _STATE_ERRORS:
                raise _STATE_ERRORS[state]()
        # A stale cache entry (or a change racing this visit): read the row again.
        await optional_cache.adelete(_cache_key(key))
        entry = None
    raise LinkNotFound()
