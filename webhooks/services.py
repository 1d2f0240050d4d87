"""Webhooks: endpoints their owners register, and the events sent to them
(docs/webhooks.md). The parts that have events call `webhook_emit` (pan,
dropoff, shortener); this app imports none of them.

- `endpoint_create` / `endpoint_delete`: the owner's endpoints (audited).
- `webhook_emit(owner_id=, event=, data=)`: after the current transaction
  commits, one `Delivery` row (its `webhook-id`) and one task per endpoint
  of that owner that asked for the event.
- `delivery_attempt`: one try of a delivery, from the task
  `webhooks.tasks.webhook_deliver` (retried on `WEBHOOK_RETRY_SCHEDULE`).
"""

import base64
import json
import logging
import secrets
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from audit.models import Action
from audit.services import audit_record
from jobs.services import attempts_of, retry_delay, task_enqueue_on_commit

from .delivery import webhook_post
from .errors import InvalidEvents, TooManyEndpoints
from .models import Delivery, DeliveryStatus, Endpoint, Event
from .targets import endpoint_url_check

logger = logging.getLogger(__name__)
EVENTS = tuple(Event.values)
DELIVERY_TASK = "webhooks.tasks.webhook_deliver"
RECENT_DELIVERIES = 10


class DeliveryFailed(Exception):
    """A try that did not get a 2xx: the task raises it, so the worker tries again later."""


def _secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def events_check(events) -> list[str]:
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise InvalidEvents()
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise InvalidEvents()
    return [e for e in EVENTS if e in events]  # the list's order, each once


def endpoint_create(*, owner, url, events) -> Endpoint:
    """Register an endpoint of `owner`. Raises `InvalidEndpointUrl`, `InvalidEvents`,
    `TooManyEndpoints` (400s); nothing is kept on error."""
    events = events_check(events)
    url = endpoint_url_check(url)
    with transaction.atomic():
        # The owner's row, locked: two registrations at once cannot both take the last place.
        # (The user model by name: a page's `request.user` is a lazy wrapper, not the model.)
        get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
        if Endpoint.objects.filter(owner=owner).count() >= settings.WEBHOOKS_PER_USER:
            raise TooManyEndpoints(TooManyEndpoints.default_message % {"max": settings.WEBHOOKS_PER_USER})
        endpoint = Endpoint.objects.create(owner=owner, url=url, events=events, secret=_secret_new())
        audit_record(
            Action.WEBHOOK_CREATE,
            object_type="webhook",
            object_id=endpoint.unique_name,
            actor=owner,
            detail={"url": url, "events": events},
        )
    return endpoint


def endpoint_delete(*, endpoint: Endpoint, actor=None) -> None:
    """Delete the endpoint and its deliveries (tasks still queued find nothing and stop)."""
    with transaction.atomic():
        audit_record(
            Action.WEBHOOK_DELETE,
            object_type="webhook",
            object_id=endpoint.unique_name,
            actor=actor or endpoint.owner,
            detail={"url": endpoint.url},
        )
        endpoint.delete()


def endpoints_of(*, user):
    return Endpoint.objects.filter(owner=user)


def endpoint_get_own(*, user, unique_name: str) -> Endpoint:
    """One of `user`'s endpoints; anyone else's (even for an admin: admins use Django admin) is a 404."""
    from .errors import EndpointNotFound

    endpoint = Endpoint.objects.filter(owner=user, unique_name=str(unique_name)).first()
    if endpoint is None:
        raise EndpointNotFound()
    return endpoint


def deliveries_recent(*, endpoint: Endpoint, limit: int = RECENT_DELIVERIES) -> list[Delivery]:
    return list(endpoint.deliveries.order_by("-created_at", "-id")[:limit])


# Events.


def webhook_emit(*, owner_id, event: str, data: dict, at: datetime | None = None) -> None:
    """Send `event` with `data` to the endpoints of `owner_id` that asked for it, once the
    current transaction commits (at once outside one). `data` never holds a share's or a
    request's code, or a password (the code is the secret of a share)."""
    if owner_id is None:
        return
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    payload = {"type": event, "timestamp": (at or timezone.now()).isoformat(), "data": data}
    transaction.on_commit(partial(_emit_committed, owner_id, event, payload), robust=True)


def _emit_committed(owner_id, event: str, payload: dict) -> list[Delivery]:
    endpoints = [
        endpoint
        for endpoint in Endpoint.objects.filter(owner_id=owner_id, owner__is_active=True).only("id", "events")
        if event in endpoint.events
    ]
    if not endpoints:
        return []
    from .tasks import webhook_deliver

    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)
    created = []
    with transaction.atomic():
        for endpoint in endpoints:
            delivery = Delivery.objects.create(
                endpoint=endpoint,
                event=event,
                message_id="msg_" + secrets.token_urlsafe(18),
                body=body,
                next_attempt_at=timezone.now(),
            )
            task_enqueue_on_commit(webhook_deliver, delivery_id=delivery.pk)
            created.append(delivery)
    return created


# Delivery.


def _headers(endpoint: Endpoint, delivery: Delivery, now: datetime) -> dict[str, str]:
    signature = Webhook(endpoint.secret).sign(msg_id=delivery.message_id, timestamp=now, data=delivery.body)
    return {
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def delivery_attempt(*, delivery_id: int) -> str:
    """Try delivery `delivery_id` once: a 2xx marks it delivered; anything else is recorded
    (status code, error, the start of the answer, the next try's time) and raises
    `DeliveryFailed` while tries are left, so the task runs again with the same `webhook-id`.
    A delivery already delivered, or gone with its endpoint, is left alone."""
    delivery = Delivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"
    if delivery.status == DeliveryStatus.DELIVERED:
        return "already delivered"
    now = timezone.now()
    outcome = webhook_post(
        url=delivery.endpoint.url,
        body=delivery.body.encode("utf-8"),
        headers=_headers(delivery.endpoint, delivery, now),
    )
    attempts = delivery.attempts + 1
    done = timezone.now()
    changes = {
        "attempts": attempts,
        "last_status_code": outcome.status,
        "last_error": outcome.error[:300],
        "last_response": outcome.response,
        "last_attempt_at": done,
    }
    if outcome.delivered:
        changes.update(status=DeliveryStatus.DELIVERED, delivered_at=done, next_attempt_at=None)
    elif attempts >= attempts_of(DELIVERY_TASK):
        changes.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    else:
        changes.update(next_attempt_at=done + timedelta(seconds=retry_delay(attempts, DELIVERY_TASK)))
    Delivery.objects.filter(pk=delivery.pk).update(**changes)
    if outcome.delivered:
        return f"delivered: {outcome.status}"
    reason = f"HTTP {outcome.status}" if outcome.status is not None else outcome.error
    if changes.get("status") == DeliveryStatus.FAILED:
        return f"gave up after {attempts} tries: {reason}"
    raise DeliveryFailed(reason)


def deliveries_purge(*, before: datetime) -> int:
    """Forget finished deliveries older than `before`."""
    return Delivery.objects.exclude(status=DeliveryStatus.PENDING).filter(created_at__lt=before).delete()[0]
