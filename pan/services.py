"""Rules for shares: create, fill, edit, codes, revoke, restore, delete, purge.

Every interface (API, pages, admin, management commands) calls these.
Storing bytes lives in `pan/storing.py`, access checks and guessing
limits in `pan/access.py`, download grants
and leases in `pan/grants.py`, the responses that stream bytes in
`pan/downloads.py`.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import Action
from audit.services import audit_record
from events.services import PROGRESS, event_publish, share_followers_drop, share_group
from project.lib.errors import DATABASE_UNAVAILABLE_ERRORS, ValidationFailed
from project.lib.fields import validate_expires_in, validate_flag, validate_text, validate_whole_number
from project.lib.in_doubt import commit_doubt, undo_when_settled
from project.lib.lifecycle import expiry_from
from project.lib.secrets import new_share_code, password_hash, password_validate
from webhooks.services import webhook_emit

from .errors import ShareNotFilling, ShareNotLive, TooManyItems
from .models import Item, ItemKind, Share, ShareState
from .page_cache import share_page_changed
from .previews import text_previews_prepare
from .quotas import quota_check
from .signals import purge_requested
from .storing import (
    IncomingFile,
    StoredFile,
    files_check_sizes,
    files_declared_size,
    files_store,
    stored_bytes_delete,
)
from .uploads import item_path_deduplicate

logger = logging.getLogger(__name__)
MAX_TITLE = 200
MAX_MESSAGE = 2000


def validate_max_downloads(value) -> int | None:
    return validate_whole_number("max_downloads", value, low=1, high=1_000_000)


def share_options_check(*, title=None, expires_in=None, max_downloads=None, password=None) -> dict:
    """A new share's options, checked as `share_create` checks them, before
    anything is stored (a streamed upload refuses bad options before its
    body): the cleaned values, ready for `share_create(**options)`. Raises
    `ValidationFailed` (400) naming the field."""
    return {
        "title": validate_text("title", title, MAX_TITLE),
        "expires_in": validate_expires_in(expires_in),
        "max_downloads": validate_max_downloads(max_downloads),
        "password": password_validate(password),
    }


def _text_item(share: Share, prepared, path: str) -> Item:
    return Item(
        share=share,
        kind=ItemKind.TEXT,
        name=path.rsplit("/", 1)[-1],
        path=path,
        size=prepared.size,
        content_type=prepared.content_type,
        sha256=prepared.sha256,
        text=prepared.text,
        text_format=prepared.text_format,
        position=0,
    )


def _items_create(share: Share, stored: list[StoredFile], *, first_position: int) -> list[Item]:
    return Item.objects.bulk_create(
        Item(
            share=share,
            kind=ItemKind.FILE,
            name=s.path.rsplit("/", 1)[-1],
            path=s.path,
            size=s.size,
            content_type=s.content_type,
            sha256=s.sha256,
            storage_key=s.storage_key,
            position=first_position + number,
        )
        for number, s in enumerate(stored)
    )


def share_create(
    *,
    owner,
    files: list[IncomingFile],
    title: str | None = None,
    message: str | None = None,
    expires_in=None,
    max_downloads=None,
    uploading: bool = False,
    text=None,
    text_format=None,
    password=None,
    listed=False,
    audited: bool = True,
    stored: list[StoredFile] | None = None,
) -> Share:
    """Store files (and a text) and record them as one share with a fresh code.

    `expires_in` is seconds (None = `PAN_DEFAULT_EXPIRY`, 0 = never).
    `uploading=True` makes an open share that may start empty and is filled
    by `share_items_add` (recipients see "still uploading" until it is
    completed). Raises `ValidationFailed` (bad field or path, no files),
    `FileTooLarge`/`ShareTooLarge`/`TooManyItems` (413). `text` (a str,
    or bytes that must be UTF-8) becomes the first item, in `text_format`
    (`pan.texts`); `TextTooLarge` (413) past `PAN_MAX_TEXT_SIZE`. On any
    error neither rows nor stored bytes remain. `audited=False`: the caller
    writes its own audit row (a drop is not its owner's doing). `listed`
    (false by default): on `/share/`, open without the code for signed-in
    accounts (`pan.access.share_opens_without_code`). `stored`: files
    already in storage (a finished resumable upload, `uploads`), recorded
    as they are; on error their bytes go too.
    """
    from .texts import text_prepare

    prepared = None if text is None else text_prepare(text, text_format, limit=settings.PAN_MAX_TEXT_SIZE)
    expires_in = validate_expires_in(expires_in)
    max_downloads = validate_max_downloads(max_downloads)
    title = validate_text("title", title, MAX_TITLE)
    message = validate_text("message", message, MAX_MESSAGE)
    hashed_password = password_hash(password)
    listed = validate_flag("listed", listed)
    if not files and not stored and prepared is None and not uploading:
        raise ValidationFailed(fields={"file": [_("Choose at least one file to share.")]})
    files_check_sizes(files, already_items=0 if prepared is None else 1, already_bytes=0)
    quota_check(owner=owner, adding=files_declared_size(files))
    taken = set() if prepared is None else {prepared.name}
    stored = list(stored or []) + files_store(files, taken, settings.PAN_MAX_SHARE_SIZE)
    # Set just before an outermost transaction's COMMIT: a database that
    # then stops answering leaves it in doubt (project/lib/in_doubt.py).
    doubt = None
    outermost = not transaction.get_connection().in_atomic_block
    try:
        now = timezone.now()
        with transaction.atomic():
            quota_check(owner=owner, adding=sum(item.size for item in stored), lock=True)
            share = Share.objects.create(
                code=_fresh_code(),
                owner=owner,
                title=title,
                message=message,
                created_at=now,
                expires_at=expiry_from(expires_in, now, default=settings.PAN_DEFAULT_EXPIRY),
                max_downloads=max_downloads,
                complete=not uploading,
                password=hashed_password,
                listed=listed,
            )
            items = [] if prepared is None else [_text_item(share, prepared, prepared.name)]
            for item in items:
                item.save()
            items += _items_create(share, stored, first_position=1)
            if audited:
                # A drop (audited=False) is announced as drop.received by dropoff instead.
                _webhook(share, "share.created", len(items), sum(item.size for item in items))
                _audit(
                    Action.SHARE_CREATE,
                    share,
                    actor=owner,
                    items=len(stored) + (prepared is not None),
                    size=sum(item.size for item in stored),
                    password=bool(hashed_password),
                    uploading=uploading,
                )
            if outermost:
                doubt = commit_doubt(f"share {share.unique_name}")
    except BaseException as exc:
        if doubt is not None and isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
            # The request answers 503; the share goes if the server applies the COMMIT after all.
            undo_when_settled(doubt, lambda: _share_undo(share.pk, [item.storage_key for item in stored]))
        else:
            for item in stored:
                stored_bytes_delete(item.storage_key)
        raise
    text_previews_prepare(items=items)
    return share


def _share_undo(share_pk: int, storage_keys: list[str]) -> bool:
    """Remove a share whose creation was answered with an error; True if it had been committed."""
    share = Share.objects.filter(pk=share_pk).first()
    if share is not None:
        share_delete(share=share)  # its items' bytes go once this commits
        return True
    for storage_key in storage_keys:
        stored_bytes_delete(storage_key)
    return False


def share_items_add(
    *, share: Share, files: list[IncomingFile], complete: bool = False, stored: list[StoredFile] | None = None
) -> list[Item]:
    """Add files to a share that is still uploading; `complete=True` closes it after.

    `stored`: files already in storage (a finished resumable upload), added
    as they are. Raises `ShareNotFilling` (409) for a share already
    complete, the size and path errors of `share_create`; nothing is kept
    on error.
    """
    already = list(stored or [])
    if share.complete:
        raise ShareNotFilling()
    existing = share.items.all()
    files_check_sizes(
        files,
        already_items=existing.count(),
        already_bytes=sum(existing.values_list("size", flat=True)),
    )
    quota_check(owner=share.owner, adding=files_declared_size(files))
    taken = set(existing.values_list("path", flat=True))
    used = sum(existing.values_list("size", flat=True))
    stored = already + files_store(files, taken, settings.PAN_MAX_SHARE_SIZE - used - sum(s.size for s in already))
    try:
        with transaction.atomic():
            quota_check(owner=share.owner, adding=sum(item.size for item in stored), lock=True)
            locked = Share.objects.select_for_update().get(pk=share.pk)
            if locked.complete:
                raise ShareNotFilling()
            # Another upload may have taken a path meanwhile: renumber under the lock.
            current = set(locked.items.values_list("path", flat=True))
            for item in stored:
                if item.path in current:
                    item.path = item_path_deduplicate(item.path, current)
                current.add(item.path)
            if len(current) > settings.PAN_MAX_SHARE_ITEMS:
                raise TooManyItems(TooManyItems.default_message % {"max": settings.PAN_MAX_SHARE_ITEMS})
            position = (locked.items.order_by("-position").values_list("position", flat=True).first() or 0) + 1
            items = _items_create(locked, stored, first_position=position)
            if complete:
                _share_complete(locked)
            else:
                locked.save(update_fields=["updated_at"])
                _progress_publish(locked)
    except BaseException:
        for item in stored:
            stored_bytes_delete(item.storage_key)
        raise
    share.refresh_from_db()
    text_previews_prepare(items=items)
    return items


def _share_complete(share: Share) -> None:
    if not share.items.exists():
        raise ValidationFailed(fields={"file": [_("Add at least one file before completing the share.")]})
    share.complete = True
    share.save(update_fields=["complete", "updated_at"])
    share_page_changed(unique_name=share.unique_name)  # no longer "still uploading"
    _progress_publish(share)
    totals = share.items.aggregate(items=Count("id"), size=Sum("size"))
    _webhook(share, "share.completed", totals["items"], totals["size"] or 0)


def _webhook(share: Share, event: str, items: int, size: int) -> None:
    """The owner's webhooks (after commit). Never the code or the password: the code is the share's secret."""
    webhook_emit(
        owner_id=share.owner_id,
        event=event,
        data={
            "share": share.unique_name,
            "title": share.title,
            "items": items,
            "size": size,
            "complete": share.complete,
            "expires_at": share.expires_at.isoformat() if share.expires_at else None,
            "max_downloads": share.max_downloads,
            "has_password": bool(share.password),
        },
    )


def _progress_publish(share: Share) -> None:
    """Tell the owner's pages and the share's followers what it holds now (live events, after commit)."""
    totals = share.items.aggregate(items=Count("id"), size=Sum("size"))
    event_publish(
        kind=PROGRESS,
        user_id=share.owner_id,
        share=share.unique_name,
        # Followers of the share as it is now (its code and password); a revoked share has none.
        followers=None if share.revoked_at is not None else share_group(share),
        items=totals["items"],
        size=totals["size"] or 0,
        complete=share.complete,
    )


_EDITABLE = {"title", "message", "expires_in", "max_downloads", "complete", "password", "listed"}


def share_update(*, share: Share, changes: dict) -> Share:
    """PATCH: `title`, `message`, `expires_in` (seconds from now; 0 = never),
    `max_downloads` (null = no limit), `complete` (true closes an open share),
    `password` ("" or null clears it; a new one locks unlocked browsers out
    and ends live follows), `listed` (a drop-off delivery is never listed:
    `ValidationFailed`).

    Any other field is refused with `ValidationFailed` and nothing changes.
    """
    from .access import share_is_drop

    unknown = sorted(set(changes) - _EDITABLE)
    if unknown:
        raise ValidationFailed(fields={name: [_("This field cannot be changed.")] for name in unknown})
    fields = []
    if "title" in changes:
        share.title = validate_text("title", changes["title"], MAX_TITLE)
        fields.append("title")
    if "message" in changes:
        share.message = validate_text("message", changes["message"], MAX_MESSAGE)
        fields.append("message")
    if "expires_in" in changes:
        seconds = validate_expires_in(changes["expires_in"])
        if seconds is None:
            raise ValidationFailed(fields={"expires_in": [_("Enter a whole number of seconds.")]})
        share.expires_at = expiry_from(seconds, timezone.now(), default=settings.PAN_DEFAULT_EXPIRY)
        fields.append("expires_at")
    if "max_downloads" in changes:
        share.max_downloads = validate_max_downloads(changes["max_downloads"])
        fields.append("max_downloads")
    if "listed" in changes:
        if not isinstance(changes["listed"], bool):  # PATCH is JSON: true or false, never null
            raise ValidationFailed(fields={"listed": [_("Enter true or false.")]})
        share.listed = changes["listed"]
        if share.listed and share_is_drop(share):
            raise ValidationFailed(fields={"listed": [_("Files dropped into a request are never listed.")]})
        fields.append("listed")
    followed_before = share_group(share)
    if "password" in changes:
        share.password = password_hash(changes["password"])
        fields.append("password")
    complete = changes.get("complete")
    if complete not in (None, True, False, "true", "false"):
        raise ValidationFailed(fields={"complete": [_("Enter true or false.")]})
    with transaction.atomic():
        if fields:
            share.save(update_fields=[*fields, "updated_at"])
            share_page_changed(unique_name=share.unique_name)  # its title, expiry, limit
        if complete in (True, "true") and not share.complete:
            _share_complete(share)
        elif complete in (False, "false") and share.complete:
            raise ValidationFailed(fields={"complete": [_("A complete share cannot be reopened.")]})
        if share_group(share) != followed_before:
            share_followers_drop(group=followed_before)
    return share


# --- Codes, revoke, restore, delete -----------------------------------------


def _audit(action: Action, share: Share, *, actor=None, **detail) -> None:
    """One audit row about a share, named by its public id (never its code or password)."""
    audit_record(action, object_type="share", object_id=share.unique_name, actor=actor, detail=detail)


def _fresh_code() -> str:
    """A new code no live share uses (so a code alone finds one share)."""
    for _attempt in range(10):
        code = new_share_code()
        if not Share.objects.filter(code=code, revoked_at__isnull=True).exists():
            return code
    raise RuntimeError("could not find a free share code")  # 2^40 codes: never in practice


# Why a new code would not open a share, by state: what to do instead.
_NOT_LIVE = {
    ShareState.REVOKED: _("This share is not shared now: share it again first."),
    ShareState.EXPIRED: _("This share has expired: change its expiry first; it then opens with its code."),
    ShareState.USED_UP: _("This share is used up: raise its download limit first; it then opens with its code."),
}


def share_code_regenerate(*, share: Share) -> Share:
    """A new code: the old one stops working at once, and the guessing lock on the share lifts.

    Only for a share a code can open (active or still uploading): a revoked,
    expired or used-up one raises `ShareNotLive` saying what would revive
    it, and keeps its code.
    """
    from .access import code_guessing_reset

    state = share.state()
    if state in _NOT_LIVE:
        raise ShareNotLive(_NOT_LIVE[state])
    with transaction.atomic():
        share_followers_drop(group=share_group(share))
        share.code = _fresh_code()
        share.save(update_fields=["code", "updated_at"])
        _audit(Action.SHARE_CODE, share)
    code_guessing_reset(share=share)
    return share


def share_revoke(*, share: Share) -> Share:
    """Stop sharing: every download and code check answers 410 until
    restored, and the share's live followers are dropped."""
    if share.revoked_at is None:
        with transaction.atomic():
            share_followers_drop(group=share_group(share))
            share.revoked_at = timezone.now()
            share.save(update_fields=["revoked_at", "updated_at"])
            share_page_changed(unique_name=share.unique_name)
            _audit(Action.SHARE_REVOKE, share)
    return share


def share_restore(*, share: Share) -> Share:
    """Share a revoked share again, with the same code — or a new one in the
    rare case a live share took that code meanwhile (a code names one share)."""
    if share.revoked_at is not None:
        share.revoked_at = None
        fields = ["revoked_at", "updated_at"]
        if Share.objects.filter(code=share.code, revoked_at__isnull=True).exclude(pk=share.pk).exists():
            share.code = _fresh_code()
            fields.append("code")
        with transaction.atomic():
            share.save(update_fields=fields)
            _audit(Action.SHARE_RESTORE, share, new_code="code" in fields)
    return share


def share_delete(*, share: Share) -> None:
    """Remove the share, its items and grants and, once committed, the stored bytes.

    The bytes go in `item_bytes_delete_on_commit`, connected to
    `post_delete` of items, so a cascade (a deleted user) removes them too.
    """
    with transaction.atomic():
        _audit(Action.SHARE_DELETE, share, title=share.title, owner=share.owner.username if share.owner_id else "")
        share.delete()


def item_bytes_delete_on_commit(*, item: Item) -> None:
    if item.storage_key:
        storage_key = item.storage_key
        transaction.on_commit(lambda: stored_bytes_delete(storage_key))


def share_mark_broken(*, share: Share) -> None:
    """A stored object was found missing: record it for the owner."""
    Share.objects.filter(pk=share.pk, broken_at__isnull=True).update(broken_at=timezone.now())


# --- Purge ------------------------------------------------------------------


@dataclass(frozen=True)
class PurgedShare:
    unique_name: str
    title: str
    owner: str
    reason: str


def share_purge_expired(*, now=None) -> tuple[list[PurgedShare], list[str]]:
    """Remove what `Share.objects.purgeable` names, whatever leases its
    downloads left behind: rows and bytes. Then old grants that hold
    nothing, and upload leftovers (`pan/leftovers.py`).

    Returns (the shares removed, one line per leftover removed).
    """
    from .leftovers import upload_leftovers_purge

    now = now or timezone.now()
    purged = []
    doomed = Share.objects.purgeable(now).select_related("owner").prefetch_related("items")
    for share in doomed.order_by("created_at"):
        reason = {ShareState.REVOKED: "revoked", ShareState.USED_UP: "used up", ShareState.UPLOADING: "abandoned"}.get(
            share.state(now), "expired"
        )
        purged.append(PurgedShare(share.unique_name, share.display_name, share.owner.username, reason))
        share_delete(share=share)
    from .grants import grants_purge_stale

    grants_purge_stale(now=now)
    lines = []
    for _receiver, answer in purge_requested.send(sender=Share, now=now):
        lines.extend(answer or [])
    return purged, lines + upload_leftovers_purge(now=now)


def share_link_qr_data_uri(*, url: str) -> str:
    """An SVG QR code of a share link, as a data URI (made with segno)."""
    import segno

    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)
