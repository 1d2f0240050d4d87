"""Download grants and leases: what counts as a download (SPEC §4.4).

A recipient who passed the access check downloads under a grant
(`DownloadGrant`): `s:<random>` kept in a browser session, or for tools
`c:<hash of client address and User-Agent>`. One rule holds for every way
a share's bytes leave the server — an item download, a zip, a preview (the
browser's image, video, audio or PDF viewer), the video stream of a video
item, a `Range` of any of them — and it is written here once:

- A response counts when it hands the file's last byte (of an item or a
  zip) to the server: `download_complete` runs just before that last
  chunk is yielded, so a client that hangs up the instant it has the bytes
  is counted (the server may cancel the response before it asks for
  more). The grant is counted once; `max_downloads` caps the count.
- On a share with `max_downloads`, every response that carries bytes under
  a grant that is not free first reserves a slot: a lease on the grant
  (`lease_until`), taken only while `download_count` plus the live leases
  of other grants stay under `max_downloads`, under a lock on the share
  row, so N+1 recipients can never all be served, in any number of
  processes. That includes ranges that stop short of the end: they count
  nothing, but they are served only under a slot, and their lease is kept
  (`held`) until it lapses instead of being given back when they end — so
  no set of recipients can piece a file together from short ranges under
  several grants without one of them being counted (whoever fetches the
  last byte counts). The lease is renewed while bytes flow and lapses
  `PAN_DOWNLOAD_LEASE_SECONDS` after they stop; an aborted response that
  would have counted gives it back at once unless the grant served a short
  range meanwhile; a killed process's lease simply lapses.
- Several responses under one grant share its lease (a browser's video
  seeks, a download accelerator's connections, resumes), with one
  exception for tools: under one tool grant only one response at a time
  may start at byte 0 of the same item (or zip) without taking a new slot.
  A second one from byte 0 while the first is still in flight (`starting`)
  is another download: it goes under a grant of its own, `<key>+<n>`,
  which needs a free slot (else 410) and counts on its own. Ranges past
  byte 0 always join the tool's grant (`<key>`). Sessions are not split:
  a session is one browser, whose viewer and download button may well
  fetch from byte 0 at the same time.
- Within `PAN_DOWNLOAD_GRANT_WINDOW` after a grant (or one of its `+<n>`)
  counted, a session's every download is free (even once the share is
  used up); a tool's downloads of other items, its ranges past byte 0 and
  its short ranges are free, but a full download of what it already
  completed is a new download.
- HEAD and the owner's own downloads count nothing and need no slot.
  Nothing Pan serves is a thumbnail or a first page of a file: a preview
  is the file, so it counts like a download — the share page that shows
  text items in full too (`download_served`: it counts before the page
  leaves, and shows no text when no slot is free). (The video stream of posts,
  `/videos/<id>/stream`, serves published videos, which belong to no share
  and have no limit.)
"""

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.models import Action, Via
from audit.services import audit_record
from events.services import DOWNLOAD, event_publish, receipt_mail
from project.lib.clients import client_summary
from project.lib.metrics import DOWNLOADS_COMPLETED
from project.lib.net import client_key
from webhooks.services import webhook_emit

from .errors import FileExpired, FileRevoked, FileUsedUp
from .models import DownloadGrant, Share, ShareState
from .page_cache import share_page_changed

SESSION_GRANTS = "pan_grants"


class DownloadSlotLost(Exception):
    """The lease lapsed (bytes stopped flowing too long) and the slot went to someone else."""


def grant_key_for_tool(*, client: str, user_agent: str) -> str:
    """Tools have no session: a grant per client address and User-Agent
    (people behind one NAT address with different tools stay apart)."""
    digest = hashlib.sha256(f"{client_key(client)}\n{user_agent[:512]}".encode()).hexdigest()[:40]
    return f"c:{digest}"


def grant_key_for_session(session, *, create: bool = True) -> str | None:
    """One grant per browser session (the same for every share). With
    `create=False` (a page view) a session without one is not written to."""
    import secrets

    token = session.get(SESSION_GRANTS)
    if not isinstance(token, str):
        if not create:
            return None
        token = secrets.token_urlsafe(24)
        session[SESSION_GRANTS] = token
    return f"s:{token}"


def _window() -> timedelta:
    return timedelta(seconds=settings.PAN_DOWNLOAD_GRANT_WINDOW)


def _lease() -> timedelta:
    return timedelta(seconds=settings.PAN_DOWNLOAD_LEASE_SECONDS)


def _family(key: str) -> Q:
    """A grant and the grants its tool's simultaneous downloads from byte 0 took (`<key>+<n>`)."""
    return Q(key=key) | Q(key__startswith=f"{key}+")


def grant_is_fresh(*, share: Share, key: str | None, now: datetime | None = None) -> bool:
    """Did this grant count a download within the window (so it may still fetch a used-up share)?"""
    if not key:
        return False
    now = now or timezone.now()
    return DownloadGrant.objects.filter(_family(key), share=share, counted_at__gt=now - _window()).exists()


@dataclass
class Recipient:
    """Who a response goes to, for the download's receipt (audit row, live
    event, e-mail): the client address, User-Agent and user, if any."""

    client: str = ""
    user_agent: str = ""
    user_id: int | None = None


def recipient_of(request) -> Recipient:
    from project.lib.net import client_address

    user = getattr(request, "user", None)
    user_id = user.pk if user is not None and user.is_authenticated else None
    return Recipient(client_address(request), request.headers.get("User-Agent", "")[:512], user_id)


@dataclass
class Ticket:
    """One response's claim on a share's downloads."""

    share_pk: int
    target: str  # "item:<id>" or "zip"
    recipient: Recipient = field(default_factory=Recipient)
    grant_pk: int | None = None
    reaches_end: bool = True  # it carries the last byte: completing it notes the target as fetched
    counting: bool = False  # completing it counts a download
    leased: bool = False  # it is one of the streams on its grant's lease (holds a slot if limited)
    from_zero: bool = False  # a tool's response from byte 0: listed in its grant's `starting`
    started_at: datetime = field(default_factory=timezone.now)
    done: bool = False
    renewed: float = field(default_factory=time.monotonic)


def _live(grant: DownloadGrant, now: datetime) -> bool:
    return grant.lease_until is not None and grant.lease_until > now


def _free_slots(share: Share, now: datetime, *, other_than: int | None = None) -> bool:
    leases = share.grants.filter(lease_until__gt=now)
    if other_than is not None:
        leases = leases.exclude(pk=other_than)
    return share.download_count + leases.count() < share.max_downloads


def _take_slot(share: Share, grant: DownloadGrant, now: datetime) -> None:
    """Join the grant's live lease or take a free slot (any slot on a share
    without a limit); raises `FileUsedUp`. The caller saves the grant."""
    if _live(grant, now):
        grant.streams += 1
    elif share.max_downloads is None or _free_slots(share, now, other_than=grant.pk):
        # A lapsed lease's leftovers (a killed process's streams) are forgotten with it.
        grant.streams, grant.starting, grant.held = 1, [], False
    else:
        raise FileUsedUp()
    grant.lease_until = now + _lease()


def _grant_for_start(share: Share, grant: DownloadGrant, target: str, now: datetime) -> DownloadGrant:
    """The grant a tool's response from byte 0 goes under: its own, unless
    a response from byte 0 of the same target is in flight there; then the
    first `<key>+<n>` where none is (a new slot, counted on its own)."""
    if not (_live(grant, now) and target in grant.starting):
        return grant
    others = {other.key: other for other in share.grants.filter(key__startswith=f"{grant.key}+")}
    number = 1
    while (other := others.get(f"{grant.key}+{number}")) is not None:
        if not (_live(other, now) and target in other.starting):
            return other
        number += 1
    return DownloadGrant.objects.create(share=share, key=f"{grant.key}+{number}")


def _locked_share(pk: int, now: datetime) -> Share:
    share = Share.objects.select_for_update().get(pk=pk)
    state = share.state(now)
    if state == ShareState.REVOKED:
        raise FileRevoked()
    if state == ShareState.EXPIRED:
        raise FileExpired()
    return share


def download_begin(
    *,
    share: Share,
    grant_key: str | None,
    target: str,
    session: bool,
    start: int = 0,
    reaches_end: bool = True,
    recipient: Recipient | None = None,
) -> Ticket:
    """Decide whether a response counts, and reserve its slot.

    `grant_key` None: nothing counts and no slot is needed (the owner, a
    HEAD). `start`: the first byte the response carries; `reaches_end`:
    it carries the last one. `session`: a browser session's grant. Raises
    `FileUsedUp` (410) when a slot is needed and none is free,
    `FileRevoked`/`FileExpired` when the share went away meanwhile.
    """
    ticket = Ticket(share_pk=share.pk, target=target, recipient=recipient or Recipient(), reaches_end=reaches_end)
    if grant_key is None:
        return ticket
    now = timezone.now()
    with transaction.atomic():
        locked = _locked_share(share.pk, now)
        grant, _created = DownloadGrant.objects.get_or_create(share=locked, key=grant_key)
        counted = list(
            DownloadGrant.objects.filter(_family(grant_key), share=locked, counted_at__gt=now - _window()).order_by(
                "-counted_at"
            )
        )
        fetched = {done for row in counted for done in row.fetched}
        if counted and (session or start > 0 or not reaches_end or target not in fetched):
            # Free: another item of what the recipient has, a resume, a short range.
            if reaches_end:
                ticket.grant_pk = counted[0].pk  # completing it only notes what was fetched
            return ticket
        if not reaches_end and locked.max_downloads is None:
            return ticket  # a short range of an unlimited share: nothing to count or hold
        from_zero = start == 0 and not session
        if from_zero:
            grant = _grant_for_start(locked, grant, target, now)
        _take_slot(locked, grant, now)
        if from_zero:
            grant.starting = [*grant.starting, target]
        grant.save(update_fields=["streams", "lease_until", "starting", "held"])
    ticket.grant_pk = grant.pk
    ticket.counting = reaches_end
    ticket.leased = True
    ticket.from_zero = from_zero
    ticket.started_at = now
    return ticket


def download_served(
    *, share: Share, grant_key: str | None, target: str, session: bool, recipient: Recipient | None = None
) -> None:
    """A response that hands out whole files at once, not streamed (the share
    page showing text items in full): it reserves a slot and counts like a
    download that reached the end, before the response leaves. Raises
    `FileUsedUp` (and `DownloadSlotLost`) when no slot is free: the caller
    then leaves the files out."""
    download_complete(
        download_begin(share=share, grant_key=grant_key, target=target, session=session, recipient=recipient)
    )


def _counted_since(grant: DownloadGrant, ticket: Ticket) -> bool:
    return grant.counted_at is not None and grant.counted_at >= ticket.started_at


def _stream_ends(grant: DownloadGrant, ticket: Ticket, now: datetime) -> None:
    """Take a leased response off its grant's lease (the caller saves).

    A range that stops short keeps the lease until it lapses (`held`): its
    bytes were a part of the file, and the slot must not pass to another
    grant that could fetch the rest. Otherwise the last stream gone gives
    the slot back at once.
    """
    grant.streams = max(0, grant.streams - 1)
    if ticket.from_zero and ticket.target in grant.starting:
        grant.starting = [target for target in grant.starting if target != ticket.target]
    if not ticket.reaches_end:
        grant.held = True
        grant.lease_until = max(grant.lease_until or now, now + _lease())
    elif grant.streams == 0 and not grant.held:
        grant.lease_until = None


def download_renew(ticket: Ticket) -> None:
    """Extend a leased response's lease while its bytes flow.

    If the lease lapsed meanwhile, take a slot again; raises
    `DownloadSlotLost` when none is free (the response then stops short).
    """
    if not ticket.leased or ticket.done:
        return
    now = timezone.now()
    renewed = DownloadGrant.objects.filter(pk=ticket.grant_pk, lease_until__gt=now).update(lease_until=now + _lease())
    if renewed:
        return
    with transaction.atomic():
        share = Share.objects.select_for_update().get(pk=ticket.share_pk)
        grant = DownloadGrant.objects.select_for_update().get(pk=ticket.grant_pk)
        if _counted_since(grant, ticket):
            ticket.counting = ticket.leased = False  # a sibling response under this grant counted it
            return
        try:
            _take_slot(share, grant, now)
        except FileUsedUp:
            raise DownloadSlotLost() from None
        if ticket.from_zero:
            grant.starting = [*grant.starting, ticket.target]
        grant.save(update_fields=["streams", "lease_until", "starting", "held"])


def download_complete(ticket: Ticket) -> None:
    """Record a response that served all it promised (called just before its last chunk).

    One that reaches the end counts the grant once and turns its lease
    into the count; a sibling response under a grant already counted adds
    nothing. A range that stops short keeps its lease (`_stream_ends`).
    Raises `DownloadSlotLost` when the lease lapsed and the slot is gone.
    """
    if ticket.done or ticket.grant_pk is None:
        return
    ticket.done = True
    now = timezone.now()
    with transaction.atomic():
        share = Share.objects.select_for_update().get(pk=ticket.share_pk)
        grant = DownloadGrant.objects.select_for_update().get(pk=ticket.grant_pk)
        if not ticket.counting or _counted_since(grant, ticket):
            if ticket.leased and not _counted_since(grant, ticket):
                _stream_ends(grant, ticket, now)
            if ticket.reaches_end and ticket.target not in grant.fetched:
                grant.fetched = [*grant.fetched, ticket.target]
            grant.save(update_fields=["fetched", "streams", "starting", "held", "lease_until"])
            return
        limited = share.max_downloads is not None
        if limited and not _live(grant, now) and not _free_slots(share, now, other_than=grant.pk):
            raise DownloadSlotLost()
        grant.counted_at = now
        grant.fetched = [ticket.target]
        grant.lease_until = None
        grant.streams = 0
        grant.starting = []
        grant.held = False
        grant.save(update_fields=["counted_at", "fetched", "lease_until", "streams", "starting", "held"])
        Share.objects.filter(pk=share.pk).update(download_count=F("download_count") + 1)
        share.download_count += 1
        if share.max_downloads is not None:
            share_page_changed(unique_name=share.unique_name)  # it may be used up now
        _receipt(share, ticket, now)
    DOWNLOADS_COMPLETED.inc()  # after the commit: a rolled-back count is no download


def _receipt(share: Share, ticket: Ticket, now: datetime) -> None:
    """A counted download's audit row, and (after commit) its live event and e-mail to the owner."""
    who = ticket.recipient
    summary = client_summary(who.user_agent, who.client)
    what = "zip" if ticket.target.startswith("zip") else "item"
    audit_record(
        Action.DOWNLOAD,
        object_type="share",
        object_id=share.unique_name,
        actor=_user(who.user_id),
        client=who.client,
        via=Via.WEB,
        detail={"what": ticket.target, "browser": summary.browser},
    )
    downloads_left = None if share.max_downloads is None else max(share.max_downloads - share.download_count, 0)
    event_publish(
        kind=DOWNLOAD,
        user_id=share.owner_id,
        share=share.unique_name,
        title=share.title or share.unique_name,
        what=what,
        downloads=share.download_count,
        downloads_left=downloads_left,
        **summary.as_dict(),
    )
    webhook_emit(
        owner_id=share.owner_id,
        event="download.completed",
        data={
            "share": share.unique_name,
            "title": share.title,
            "what": what,
            "item": None if what == "zip" else ticket.target.removeprefix("item:"),
            "downloads": share.download_count,
            "downloads_left": downloads_left,
            "browser": summary.browser,
        },
        at=now,
    )
    receipt_mail(
        user=share.owner,
        kind="download",
        context={
            "site": settings.SITE_NAME,
            "title": share.title or share.unique_name,
            "what": what,
            "at": now.strftime("%Y-%m-%d %H:%M"),
            "downloads_left": downloads_left,
            "url": f"{settings.PUBLIC_BASE_URL.rstrip('/')}/files/",
            **summary.as_dict(),
        },
    )


def _user(user_id):
    if user_id is None:
        return None
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=user_id).first()


def download_abort(ticket: Ticket) -> None:
    """A leased response stopped short of what it promised: its slot goes
    back at once unless another response under the grant still streams or
    the grant served a short range (`_stream_ends`)."""
    if ticket.done or not ticket.leased:
        return
    ticket.done = True
    now = timezone.now()
    with transaction.atomic():
        grant = DownloadGrant.objects.select_for_update().filter(pk=ticket.grant_pk).first()
        if grant is None or _counted_since(grant, ticket):
            return
        _stream_ends(grant, ticket, now)
        grant.save(update_fields=["streams", "starting", "held", "lease_until"])


class DownloadTracker:
    """The async face of a ticket for the streaming code (project/lib/streaming.py)."""

    def __init__(self, ticket: Ticket):
        self.ticket = ticket
        self.renew_every = max(1.0, settings.PAN_DOWNLOAD_LEASE_SECONDS / 3)

    async def progress(self) -> None:
        if self.ticket.leased and time.monotonic() - self.ticket.renewed >= self.renew_every:
            self.ticket.renewed = time.monotonic()
            await sync_to_async(download_renew)(self.ticket)

    async def complete(self) -> None:
        await sync_to_async(download_complete)(self.ticket)

    async def abort(self) -> None:
        await sync_to_async(download_abort)(self.ticket)


def grants_purge_stale(*, now: datetime | None = None) -> int:
    """Forget grants whose window ended and that hold no live lease."""
    now = now or timezone.now()
    stale = DownloadGrant.objects.filter(created_at__lt=now - _window()).exclude(lease_until__gt=now)
    stale = stale.exclude(counted_at__gt=now - _window())
    deleted, _by_model = stale.delete()
    return deleted
