"""Rules for drop-off requests: create, close, reopen, delete, and drops
from people without an account (SPEC §4.6).

Every interface (API, pages, admin) calls these. A drop is stored with
`pan.services.share_create` as a share owned by the requester; the request's
totals (`received_files`, `received_bytes`) are checked before anything is
stored, then again under a row lock once the share exists, so concurrent
drops can never take a request past its limits.
"""

import hmac

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import Action
from audit.services import audit_record
from events.services import DROP, event_publish, receipt_mail
from pan.models import Share
from pan.services import MAX_MESSAGE, MAX_TITLE, share_create, share_delete
from pan.storing import IncomingFile, StoredFile, files_declared_size
from project.lib.attempts import Layer, attempts_give_back, attempts_take
from project.lib.errors import ValidationFailed
from project.lib.fields import validate_expires_in, validate_text, validate_whole_number
from project.lib.lifecycle import expiry_from
from project.lib.net import client_key, key_digest, network_key
from project.lib.secrets import (
    CODE_CHECK_PATIENCE,
    code_in,
    guess_layers,
    new_share_code,
    password_check,
    password_hash,
)
from webhooks.services import webhook_emit

from .errors import RequestClosed, RequestExpired, RequestFull, RequestNotFound, TooManyDrops
from .models import Drop, DropRequest, RequestState

MAX_NAME = 100


# --- Validation -------------------------------------------------------------


# --- The requester's side ----------------------------------------------------


def request_create(
    *, owner, title=None, message=None, expires_in=None, max_files=None, max_bytes=None, password=None
) -> DropRequest:
    """A new open request with a fresh code (unique among requests, and
    among live shares, so the home page's box finds one thing)."""
    now = timezone.now()
    fields = {
        "title": validate_text("title", title, MAX_TITLE),
        "message": validate_text("message", message, MAX_MESSAGE),
        "expires_at": expiry_from(validate_expires_in(expires_in), now, default=settings.PAN_REQUEST_DEFAULT_EXPIRY),
        "max_files": validate_whole_number("max_files", max_files, low=1, high=settings.PAN_REQUEST_MAX_FILES)
        or settings.PAN_REQUEST_DEFAULT_FILES,
        "max_bytes": validate_whole_number("max_bytes", max_bytes, low=1, high=settings.PAN_REQUEST_MAX_BYTES)
        or settings.PAN_REQUEST_DEFAULT_BYTES,
        "password": password_hash(password),
    }
    with transaction.atomic():
        request = DropRequest.objects.create(owner=owner, code=_fresh_code(), created_at=now, **fields)
        audit_record(
            Action.REQUEST_CREATE,
            object_type="request",
            object_id=request.unique_name,
            actor=owner,
            detail={"max_files": request.max_files, "max_bytes": request.max_bytes, "password": request.has_password},
        )
    return request


def _fresh_code() -> str:
    for _attempt in range(10):
        code = new_share_code()
        taken = DropRequest.objects.filter(code=code).exists()
        if not taken and not Share.objects.filter(code=code, revoked_at__isnull=True).exists():
            return code
    raise RuntimeError("could not find a free request code")  # 2^40 codes: never in practice


def request_close(*, request: DropRequest) -> DropRequest:
    """No more drops (410 for droppers) until reopened; what was received stays."""
    if request.closed_at is None:
        with transaction.atomic():
            request.closed_at = timezone.now()
            request.save(update_fields=["closed_at"])
            audit_record(Action.REQUEST_CLOSE, object_type="request", object_id=request.unique_name)
    return request


def request_reopen(*, request: DropRequest) -> DropRequest:
    if request.closed_at is not None:
        with transaction.atomic():
            request.closed_at = None
            request.save(update_fields=["closed_at"])
            audit_record(Action.REQUEST_REOPEN, object_type="request", object_id=request.unique_name)
    return request


def request_delete(*, request: DropRequest) -> None:
    """Remove the request and every share dropped into it (rows and bytes)."""
    with transaction.atomic():
        audit_record(
            Action.REQUEST_DELETE,
            object_type="request",
            object_id=request.unique_name,
            detail={"drops": request.drops.count()},
        )
        for drop in request.drops.select_related("share"):
            share_delete(share=drop.share)
        request.delete()


# --- The dropper's side ------------------------------------------------------


def _guess_layers(client: str, request: DropRequest | None = None) -> list[Layer]:
    """Codes and passwords typed by outsiders count where share codes do:
    per client and per network on all codes (the same keys as
    shares, `project.lib.secrets.guess_layers`), and per client on one request's password."""
    return guess_layers(client, scope=f"request:{request.unique_name}" if request else None)


def request_by_code(*, code: str | None, client: str) -> DropRequest:
    """The request a code names, within the guessing limits: a code that
    names nothing counts as a wrong guess (404 here: the code box on the home
    page answers 403 for any code that opens nothing)."""
    normal = code_in(code)
    if normal is None:
        raise RequestNotFound()
    layers = _guess_layers(client)
    attempts_take(layers, patience=CODE_CHECK_PATIENCE)
    request = request_for_pickup(normal)
    if request is None:
        raise RequestNotFound()
    attempts_give_back(layers)
    return request


def request_for_pickup(code: str) -> DropRequest | None:
    """The request a (normalised) code typed in the home page's box names, or None."""
    found = DropRequest.objects.select_related("owner").filter(code=code).first()
    return found if found is not None and hmac.compare_digest(found.code.encode(), code.encode()) else None


def request_raise_if_closed(request: DropRequest) -> None:
    """410 for a closed or expired request, 413 for a full one."""
    state = request.state()
    if state == RequestState.CLOSED:
        raise RequestClosed()
    if state == RequestState.EXPIRED:
        raise RequestExpired()
    if state == RequestState.FULL:
        raise RequestFull()


def request_password_check(*, request: DropRequest, password: str | None, client: str) -> None:
    """The request's optional password, counted like a share's (401 missing, 403 wrong, 429 limited)."""
    password_check(stored=request.password, given=password, layers=lambda: _guess_layers(client, request))


def _drop_layers(client: str) -> list[Layer]:
    return [
        Layer(
            f"drop:client:{key_digest(client_key(client))}",
            settings.PAN_DROP_CLIENT_LIMIT,
            settings.PAN_DROP_WINDOW,
            TooManyDrops,
        ),
        Layer(
            f"drop:network:{key_digest(network_key(client))}",
            settings.PAN_DROP_NETWORK_LIMIT,
            settings.PAN_DROP_WINDOW,
            TooManyDrops,
        ),
    ]


def _check_fits(request: DropRequest, count: int, size: int) -> None:
    if count > request.files_left or size > request.bytes_left:
        raise RequestFull()


def drop_admit(*, request: DropRequest, client: str) -> None:
    """May an outsider start a drop into `request` now? RequestClosed/RequestExpired
    (410) or RequestFull (413) when it takes nothing more, TooManyDrops (429)
    past the per-client and per-network drop limits (each call counts one drop)."""
    request_raise_if_closed(request)
    attempts_take(_drop_layers(client))


def drop_receive(
    *,
    request: DropRequest,
    files: list[IncomingFile],
    name=None,
    note=None,
    client: str,
    stored: list[StoredFile] | None = None,
) -> Drop:
    """Store an outsider's files as a share of the requester and record the drop.

    Raises RequestClosed/RequestExpired (410), RequestFull (413: over the
    request's files or bytes left; checked before anything is stored, and
    again once stored, under a lock), TooManyDrops (429: per client and
    per network, `PAN_DROP_CLIENT_LIMIT`/`PAN_DROP_NETWORK_LIMIT` per
    `PAN_DROP_WINDOW`), ValidationFailed (no files, bad name or note),
    and what `share_create` raises (413 per file or share, 503 storage).
    On any error nothing is kept. `stored`: files already in storage, from
    a resumable upload that `drop_admit` let in when it began (so it is not
    counted against the drop limits twice).
    """
    name, note = validate_text("name", name, MAX_NAME), validate_text("note", note, MAX_MESSAGE)
    stored = list(stored or [])
    count = len(files) + len(stored)
    if not count:
        raise ValidationFailed(fields={"file": [_("Choose at least one file to send.")]})
    if stored:
        request_raise_if_closed(request)
    else:
        drop_admit(request=request, client=client)
    _check_fits(request, count, files_declared_size(files) + sum(item.size for item in stored))
    title = f"{request.title} — {name}" if request.title and name else (request.title or name)
    share = share_create(
        owner=request.owner,
        files=files,
        stored=stored,
        title=title[:MAX_TITLE],
        message=note,
        expires_in=0,
        audited=False,
    )
    size = share.total_size
    try:
        with transaction.atomic():
            locked = DropRequest.objects.select_for_update().get(pk=request.pk)
            request_raise_if_closed(locked)
            _check_fits(locked, count, size)
            locked.received_files += count
            locked.received_bytes += size
            locked.save(update_fields=["received_files", "received_bytes"])
            drop = Drop.objects.create(request=locked, share=share, name=name, note=note)
            audit_record(
                Action.DROP,
                object_type="request",
                object_id=locked.unique_name,
                client=client,
                detail={"share": share.unique_name, "files": count, "size": size},
            )
    except BaseException:
        share_delete(share=share)
        raise
    request.received_files, request.received_bytes = locked.received_files, locked.received_bytes
    _announce(request, drop, files=count, size=size)
    return drop


def _announce(request: DropRequest, drop: Drop, *, files: int, size: int) -> None:
    """The requester's live event and, if they want one, e-mail (after commit)."""
    title = request.title or request.code_display
    event_publish(
        kind=DROP,
        user_id=request.owner_id,
        request=request.unique_name,
        title=title,
        name=drop.name,
        files=files,
        size=size,
        url=drop.share.get_absolute_url(),
        # The request's totals after this drop: /requests/ shows them live.
        received_files=request.received_files,
        received_bytes=request.received_bytes,
    )
    # The owner's webhooks: never the request's code or password (anyone holding the code may drop).
    webhook_emit(
        owner_id=request.owner_id,
        event="drop.received",
        data={
            "request": request.unique_name,
            "title": request.title,
            "share": drop.share.unique_name,
            "name": drop.name,
            "note": drop.note,
            "files": files,
            "size": size,
            "received_files": request.received_files,
            "received_bytes": request.received_bytes,
        },
    )
    receipt_mail(
        user=request.owner,
        kind="drop",
        context={
            "site": settings.SITE_NAME,
            "title": title,
            "sender": drop.name,
            "note": drop.note,
            "files": files,
            "size": size,
            "url": f"{settings.PUBLIC_BASE_URL.rstrip('/')}/requests/",
        },
    )


def drop_by_receipt(*, request: DropRequest, receipt_key: str) -> Drop:
    """The drop a receipt link names (404 for any other key)."""
    drop = Drop.objects.select_related("share").filter(request=request, receipt_key=str(receipt_key)[:32]).first()
    if drop is None:
        raise RequestNotFound()
    return drop
