"""Live events and e-mail receipts (SPEC §4.7).

`event_publish` is the one way an event leaves: services call it for what
happened (a download completed, files dropped, an upload's progress), after
their transaction commits. It sends to the channel layer group of the user
(`user.<id>`: the owner) and, for a share's progress only, to the share's
followers (`share_group`), which recipients on the share page may join.
Downloads go to the owner alone: a recipient never hears of another's.
The followers' group is named after the share's current code and password,
so a new code or password leaves earlier followers in a group nobody sends
to; `share_followers_drop` also tells their connections to leave it. The
in-memory layer reaches one process; channels-redis reaches every process
on the same Redis. A layer that cannot be reached is logged once per
interval and skipped: an event is a courtesy, never a reason to fail.

E-mail receipts: owners who turned them on (`User.receipts_by_email`) get
one message per completed download and per drop, in their language
(`User.language`, else LANGUAGE_CODE), through Django's e-mail backend, sent
by a background task (`events.tasks.receipt_send`, queued on commit, retried).
"""

import asyncio
import hashlib
import hmac
import logging
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from redis import TimeoutError as RedisTimeout

from jobs.services import task_done, task_enqueue_on_commit, task_once
from project.lib.optional_cache import WarnOncePerInterval
from project.lib.redis_breaker import breaker

logger = logging.getLogger(__name__)

# Event kinds, as the browser sees them in `{"type": …}`.
DOWNLOAD = "download.completed"
DROP = "drop.received"
PROGRESS = "share.progress"

# Logged once per RATE_LIMIT_WARNING_INTERVAL while the channel layer is unreachable.
layer_unreachable = WarnOncePerInterval(
    logger, "live events: the channel layer is unreachable (%s); events are skipped"
)


def user_group(user_id) -> str:
    return f"user.{user_id}"


# Who may follow what: callables (unique_name, user, session) -> the group to
# join, or None. The app that owns the thing registers its rule (pan/apps.py:
# shares), so this app imports none of them.
FOLLOW_CHECKS: list = []


def share_group(share) -> str:
    """The followers' group of a share as it is now: its id and a keyed hash of its code and password."""
    secret = f"{share.unique_name}:{share.code}:{share.password}".encode()
    key = hmac.new(settings.SECRET_KEY.encode(), b"follow:" + secret, hashlib.sha256).hexdigest()[:16]
    # Group names allow ASCII letters, digits, hyphens, underscores and periods: unique names are those.
    return f"share.{share.unique_name}.{key}"


def share_followers_drop(*, group: str) -> None:
    """After commit, every connection following `group` leaves it (a new code, a new password, a revoke)."""

    def deliver():
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(group, {"type": "pan.unfollow", "group": group})
        except Exception as exc:  # noqa: BLE001 - an unreachable layer must not fail what happened
            layer_unreachable(exc)

    transaction.on_commit(deliver)


async def _group_send(layer, group: str, message: dict) -> None:
    # channels-redis sets no read timeout (its receives block by design):
    # a send gets REDIS_SOCKET_TIMEOUT, and a frozen Redis then opens the
    # breaker, which makes the next sends fail at once (project/lib/redis_breaker.py).
    try:
        await asyncio.wait_for(layer.group_send(group, message), timeout=settings.REDIS_SOCKET_TIMEOUT)
    except TimeoutError as exc:
        unanswered = RedisTimeout(f"the channel layer did not answer within {settings.REDIS_SOCKET_TIMEOUT:g}s")
        breaker.failed(unanswered)
        raise unanswered from exc


def _send(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_group_send)(layer, group, {"type": "pan.event", "event": event})
    except Exception as exc:  # noqa: BLE001 - an unreachable layer must not fail what happened
        layer_unreachable(exc)


def event_publish(
    *, kind: str, user_id=None, share: str | None = None, followers: str | None = None, **payload
) -> None:
    """Send an event to a user's pages and, with `followers` (a `share_group`),
    to a share's followers, once the transaction commits. `share` is the
    share's id in the event."""
    event = {"type": kind, "at": timezone.now().isoformat(), **({"share": share} if share else {}), **payload}

    def deliver():
        if user_id is not None:
            _send(user_group(user_id), event)
        if followers is not None:
            _send(followers, event)

    transaction.on_commit(deliver)


def receipt_mail(*, user, kind: str, context: dict) -> None:
    """Queue one e-mail to `user` about a download or a drop, if they asked for them, once the
    transaction commits; the task `events.tasks.receipt_send` sends it (retried when the mail
    server refuses or does not answer; the download or drop is never held up by it)."""
    if not getattr(user, "receipts_by_email", False) or not user.email:
        return
    from .tasks import receipt_send

    task_enqueue_on_commit(receipt_send, receipt=uuid.uuid4().hex, user_id=user.pk, kind=kind, context=context)


def receipt_deliver(*, receipt: str, user_id, kind: str, context: dict) -> str:
    """Send the receipt `receipt` (a key: each is sent once, however often this runs).
    A user deleted meanwhile, or who turned receipts off, gets nothing."""
    key = f"receipt:{receipt}"
    if task_once(key):
        return "already sent"
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not getattr(user, "receipts_by_email", False) or not user.email:
        return "not wanted"
    language = getattr(user, "language", "") or settings.LANGUAGE_CODE
    with translation.override(language):
        subject = render_to_string(f"events/mail_{kind}_subject.txt", context).strip()
        body = render_to_string(f"events/mail_{kind}.txt", context)
    # A refusal or a timeout (EMAIL_TIMEOUT) raises: the worker tries again later.
    send_mail(" ".join(subject.split()), body, None, [user.email])
    task_done(key)
    return "sent"
