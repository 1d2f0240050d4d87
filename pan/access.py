"""The one access check in front of every way bytes leave the server, and the
guessing limits on share codes (SPEC §4.2, §4.3).

Every download (API, page, zip, preview) calls `share_access`, then one of
the response builders in `pan/downloads.py`.

Guessing limits: each code check counts one attempt in four layers first
and decides after (`project.lib.attempts`, atomic on locmem and Redis, so N
simultaneous wrong codes get at most the limit checked): the three of
`project.lib.secrets.guess_layers` (one client on one share, one client
on all shares, one network on all shares) and one share from everyone. A right code
gives its attempt back. While a layer is full every code, even the right
one, answers 429 with `Retry-After`.
"""

import hmac

from django.conf import settings
from django.db.models import F

from accounts.permissions import user_has_pan_permission
from events.services import share_group
from project.lib.attempts import Layer, attempts_give_back, attempts_locked_for, attempts_reset, attempts_take
from project.lib.metrics import CODE_GUESS_FAILURES
from project.lib.optional_cache import optional_cache
from project.lib.secrets import CODE_CHECK_PATIENCE, code_in, guess_layers, password_check

from .codes import pickup_parse
from .errors import (
    CodeRejected,
    DownloadNotAllowed,
    FileExpired,
    FileLockedForCodes,
    FileNotFound,
    FileRevoked,
    FileUsedUp,
    LoginRequiredToDownload,
    NoCodeFound,
    ShareStillUploading,
)
from .grants import grant_is_fresh
from .models import Share, ShareState
from .unlocks import session_unlocked


def _share_layer(share: Share) -> Layer:
    return Layer(
        f"code:share:{share.unique_name}",
        settings.PAN_CODE_SHARE_LIMIT,
        settings.PAN_CODE_SHARE_WINDOW,
        FileLockedForCodes,
    )


def _layers(share: Share, client: str) -> list[Layer]:
    return [*guess_layers(client, scope=share.unique_name), _share_layer(share)]


def _client_layers(client: str) -> list[Layer]:
    """The layers a code typed on its own counts in: it names no share yet."""
    return guess_layers(client)


def code_guessing_locked_for(*, share: Share) -> int:
    """Seconds until a share under attack accepts codes again (0 = it does)."""
    return attempts_locked_for(_share_layer(share))


def code_guessing_reset(*, share: Share) -> None:
    attempts_reset([_share_layer(share)])


def share_code_check(*, share: Share, code: str | None, client: str) -> None:
    """Compare a code in constant time, within the guessing limits.

    Raises `CodeGuessingLimited`/`FileLockedForCodes` (429, `Retry-After`)
    while a layer is full, else `CodeRejected` (403) for a wrong code. The
    code is found in what was pasted (`project.lib.secrets.code_in`). A missing code is
    `CodeRejected` and text with no code in it `NoCodeFound` (400), neither
    counted as a guess.
    """
    if not str(code or "").strip(" -\t\n"):
        raise CodeRejected()  # nothing was guessed (a link opened without the code): nothing counts
    found = code_in(code, lengths=(len(share.code),))
    if found is None:
        raise NoCodeFound()
    given = found.encode()
    layers = _layers(share, client)
    try:
        attempts_take(layers, patience=CODE_CHECK_PATIENCE)
    except FileLockedForCodes as exc:
        _lock_audit_once(share, exc.retry_after)
        raise
    if hmac.compare_digest(given, share.code.encode()):
        attempts_give_back(layers)
        return
    CODE_GUESS_FAILURES.labels("code").inc()
    raise CodeRejected()


def _lock_audit_once(share: Share, retry_after: int) -> None:
    """One audit row when a share's guessing lock starts (not one per refused attempt)."""
    from audit.models import Action
    from audit.services import audit_record

    if optional_cache.add(f"audit:lock:{share.unique_name}", 1, max(int(retry_after), 1)) is False:
        return
    audit_record(
        Action.GUESSING_LOCK,
        object_type="share",
        object_id=share.unique_name,
        actor=None,
        detail={"retry_after": int(retry_after)},
    )


def share_managed_by(*, user, share: Share) -> bool:
    """The one "owner or `manage`" rule: these see codes and change shares."""
    if not (user and user.is_authenticated):
        return False
    return share.owner_id == user.pk or user_has_pan_permission(user, "manage")


def share_opens_without_code(*, user, share: Share) -> bool:
    """A listed share opens for any signed-in account holding `visit` or
    `download`, without its code (its password is still asked); owners and
    `manage` holders need no code either. Drop-off deliveries are never
    listed (`share_update` refuses it), so they open this way only for
    their requester and `manage`."""
    if share_managed_by(user=user, share=share):
        return True
    if not (share.listed and user and user.is_authenticated):
        return False
    return user_has_pan_permission(user, "visit") or user_has_pan_permission(user, "download")


def share_details_visible(*, user, share: Share, session=None, passed: bool = False) -> bool:
    """The one "may see details" rule (SPEC §4.3): may this caller see what
    a share holds (items, names, sizes, hashes, the message, the owner, the
    sender of a drop, its live progress)? Before that, a share shows only
    that it exists and its public title (`share_public_title`).

    Yes for the owner and `manage`; for a caller who just passed the code
    and password (`passed`); for a browser `session` that unlocked the share
    as it is now (a new code or password locks it again); and for a listed
    share opened by a signed-in account (`share_opens_without_code`) when
    the share has no password. Pages, the API and the WebSocket all ask here.
    """
    if share_managed_by(user=user, share=share) or passed:
        return True
    if session is not None and session_unlocked(session, share):
        return True
    return not share.has_password and share_opens_without_code(user=user, share=share)


def share_follow_group(*, unique_name: str, user, session) -> str | None:
    """Who may follow a share's live progress on the WebSocket
    (events/consumers.py asks through `events.services.FOLLOW_CHECKS`):
    whoever may see its details (`share_details_visible`), on a share not
    revoked. Returns the followers' group to join, or None."""
    share = Share.objects.filter(unique_name=unique_name, revoked_at__isnull=True).first()
    if share is None or not share_details_visible(user=user, share=share, session=session):
        return None
    return share_group(share)


def share_public_title(share: Share) -> str:
    """What a share shows before its code: the title its owner chose, never
    an item's name. A drop-off delivery shows none (its title names the
    sender)."""
    if share_is_drop(share):
        return ""
    return share.title


def share_is_drop(share: Share) -> bool:
    # The reverse one-to-one of dropoff's `Drop.share` (pan does not import dropoff).
    return hasattr(share, "drop")


def share_unlock_check(*, share: Share, user, code: str | None, password: str | None, client: str) -> None:
    """The code (unless the share opens without it for this user, see
    `share_opens_without_code`), then the password when the share has one.
    Raises what `share_code_check` and `share_password_check` raise."""
    if not share_opens_without_code(user=user, share=share):
        share_code_check(share=share, code=code, client=client)
    share_password_check(share=share, password=password, client=client)


def share_lookup(*, unique_name: str) -> Share:
    # One query for the items, however often the page and checks ask for them.
    share = Share.objects.select_related("owner").prefetch_related("items").filter(unique_name=unique_name).first()
    if share is None:
        raise FileNotFound()
    return share


def share_raise_if_gone(share: Share, *, grant_key: str | None = None) -> None:
    """410 for revoked, expired and used-up shares (a recipient whose grant
    counted within the window may still fetch a used-up one); 409 while
    the share is still uploading."""
    state = share.state()
    if state == ShareState.REVOKED:
        raise FileRevoked()
    if state == ShareState.EXPIRED:
        raise FileExpired()
    if state == ShareState.USED_UP and not grant_is_fresh(share=share, key=grant_key):
        raise FileUsedUp()
    if state == ShareState.UPLOADING:
        raise ShareStillUploading()


def share_password_check(*, share: Share, password: str | None, client: str) -> None:
    """A share's optional password, counted in its code's guessing layers (`project.lib.secrets.password_check`)."""
    password_check(stored=share.password, given=password, layers=lambda: _layers(share, client))


def share_access(
    *,
    unique_name: str,
    code: str | None,
    user,
    client: str,
    unlocked: bool = False,
    code_passed: bool = False,
    password: str | None = None,
    grant_key: str | None = None,
    opening: bool = False,
) -> tuple[Share, bool]:
    """The single access check. Returns (share, the caller manages it).

    In order: unknown → `FileNotFound` (404); gone → 410 (see
    `share_raise_if_gone`); with `PAN_DOWNLOAD_REQUIRES_LOGIN`, anonymous →
    401 and no `download` permission → 403; then, unless the caller is the
    owner or holds `manage`, or the share was `unlocked` (code and
    password) in this browser session: the code (`share_code_check`, unless
    `code_passed` earlier in the session or the share is listed and the
    caller signed in, `share_opens_without_code`), then the password when
    the share has one (`share_password_check`). `opening=True` is the share page being
    unlocked: a share still uploading may be opened, to watch it fill
    (its downloads still answer 409 until it is complete).
    """
    share = share_lookup(unique_name=unique_name)
    manages = share_managed_by(user=user, share=share)
    if (manages or opening) and share.state() == ShareState.UPLOADING:
        pass  # the owner may fetch what has arrived so far; a recipient may watch it arrive
    else:
        share_raise_if_gone(share, grant_key=grant_key)
    if settings.PAN_DOWNLOAD_REQUIRES_LOGIN:
        if not (user and user.is_authenticated):
            raise LoginRequiredToDownload()
        if not (user_has_pan_permission(user, "download") or manages):
            raise DownloadNotAllowed()
    if manages or unlocked:
        return share, manages
    if code_passed:
        share_password_check(share=share, password=password, client=client)
    else:
        share_unlock_check(share=share, user=user, code=code, password=password, client=client)
    return share, manages


# Other things a code typed in the home page's box may open, asked in turn
# when no share has it: callables code -> object with get_absolute_url(), or
# None. Drop-off requests register theirs (dropoff/apps.py), so this module
# does not depend on them.
PICKUP_OTHER_CODES: list = []


def share_pickup(*, text: str | None, client: str):
    """What a paste into the home page's box or `POST /api/pickup` opens:
    `(share or other, code_passed)`.

    The paste is read by `pan.codes.pickup_parse` (a code in any case with
    or without its dash, words around it, a whole link in any case). Text
    with no code and no link is `NoCodeFound` (400), never a counted guess.
    A link names its share, so its code is checked like any code; a link
    without a code returns its share with `code_passed` False (the page
    asks for the code). A code on
    its own is counted first in the client's and the network's layers, then
    looked up among live shares (codes are unique there): no share →
    `CodeRejected` (403) and the attempt stays counted; a share →
    the attempt is given back, and its own lock (429) and state (410, 409)
    apply. The password, if any, is asked for next, on the share page.
    A code that names no share but something in `PICKUP_OTHER_CODES` (a
    drop-off request) returns that instead, its attempt given back too.
    """
    pasted = pickup_parse(text)
    if pasted.unique_name is not None:
        share = _share_of_pasted_link(pasted.unique_name)
        _raise_if_gone_for_pickup(share)
        if pasted.code is None:
            return share, False
        share_code_check(share=share, code=pasted.code, client=client)
        return share, True
    if pasted.code is None:
        # Nothing to find, nothing guessed. First-wave 6-character codes
        # (30 bits) open their share only with its link, so they cannot be
        # guessed on their own.
        raise NoCodeFound()
    code = pasted.code
    layers = _client_layers(client)
    attempts_take(layers, patience=CODE_CHECK_PATIENCE)
    live_first = F("revoked_at").asc(nulls_first=True)
    candidates = Share.objects.select_related("owner").filter(code=code).order_by(live_first, "-created_at")
    share = next((s for s in candidates if hmac.compare_digest(s.code.encode(), code.encode())), None)
    if share is None:
        for other in PICKUP_OTHER_CODES:
            found = other(code)
            if found is not None:
                attempts_give_back(layers)
                return found, True
        CODE_GUESS_FAILURES.labels("code").inc()
        raise CodeRejected()
    attempts_give_back(layers)
    locked = code_guessing_locked_for(share=share)
    if locked:
        raise FileLockedForCodes(retry_after=locked)
    _raise_if_gone_for_pickup(share)
    return share, True


def _share_of_pasted_link(unique_name: str) -> Share:
    """The share a pasted link names, also when a phone's keyboard or a
    chat app lower-cased its id (ids are 128-bit: the case-insensitive
    match is taken only when it names exactly one share)."""
    try:
        return share_lookup(unique_name=unique_name)
    except FileNotFound:
        matches = list(Share.objects.filter(unique_name__iexact=unique_name).values_list("unique_name", flat=True)[:2])
        if len(matches) != 1:
            raise
        return share_lookup(unique_name=matches[0])


def _raise_if_gone_for_pickup(share: Share) -> None:
    # A share still uploading is found all the same: its page says so.
    if share.state() != ShareState.UPLOADING:
        share_raise_if_gone(share)
