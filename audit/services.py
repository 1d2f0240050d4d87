"""Writing and keeping the audit log (SPEC §4.7).

`audit_record` is the one way a row is written. Services call it for what
they do; it finds who and from where in the request being served
(`audit.middleware.AuditContextMiddleware` keeps it in a context variable, which follows the
request into sync_to_async threads), or, outside any request (a management
command, the shell), records the action as `via=command` with no client.

It writes in the caller's transaction: an action rolled back leaves no row.
A `detail` never holds a password, share code, link password or token: the
callers pass names, counts and reasons only (tests check every action).
"""

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.encoding import force_bytes

from project.lib.net import client_address

from .middleware import current_request
from .models import Action, AuditEvent, Via

HASH_PREFIX = "hash:"


def _request_user(request):
    # Only a user already known: a session's user is looked up by then
    # wherever an action needs one; an anonymous request is anonymous.
    user = getattr(request, "user", None)
    if user is None:
        return None
    try:
        return user if user.is_authenticated else None
    except Exception:  # noqa: BLE001 - a lazy user that cannot load here is no actor
        return None


def audit_record(
    action: Action | str,
    *,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    actor=None,
    client: str | None = None,
    via: str | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Append one row. `obj` (a model instance) gives the object's type and id
    unless they are passed; `actor`, `client` and `via` default to the
    request's (a download's receipt, written while its last bytes go out,
    after the view returned, passes them)."""
    request = current_request()
    if actor is None and request is not None:
        actor = _request_user(request)
    if client is None:
        client = client_address(request) if request is not None else ""
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or str(obj.pk)
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_name=getattr(actor, "username", "") if actor is not None else "",
        object_type=object_type,
        object_id=str(object_id)[:64],
        client=client[:80],
        via=via or (Via.WEB if request is not None else Via.COMMAND),
        detail=detail or {},
    )


def client_hash(address: str) -> str:
    """A keyed hash of a client address: the same address gives the same
    hash (so rows of one client still group), and without SECRET_KEY the
    address cannot be found by trying every address."""
    key = hashlib.sha256(b"pan.audit.client:" + force_bytes(settings.SECRET_KEY)).digest()
    return HASH_PREFIX + hmac.new(key, force_bytes(address), hashlib.sha256).hexdigest()[:24]


def audit_addresses_hash(*, now: datetime | None = None) -> int:
    """Replace client addresses older than AUDIT_ADDRESS_RETENTION days by
    their keyed hash; return how many rows changed. The only change ever
    made to a row."""
    before = (now or timezone.now()) - timedelta(days=settings.AUDIT_ADDRESS_RETENTION)
    rows = AuditEvent.objects.filter(at__lt=before).exclude(client="").exclude(client__startswith=HASH_PREFIX)
    changed = 0
    for pk, address in rows.values_list("pk", "client").iterator(chunk_size=1000):
        changed += AuditEvent.objects.filter(pk=pk).update(client=client_hash(address))
    return changed


CSV_COLUMNS = ("at", "actor", "action", "object_type", "object_id", "client", "via", "detail")


def audit_rows(*, since: datetime, until: datetime | None = None) -> Iterator[list[str]]:
    """The CSV rows (header first) of events from `since` up to `until`, oldest first."""
    events = AuditEvent.objects.filter(at__gte=since)
    if until is not None:
        events = events.filter(at__lt=until)
    yield list(CSV_COLUMNS)
    for event in events.order_by("at", "id").iterator(chunk_size=1000):
        yield [
            event.at.isoformat(),
            event.actor_name,
            event.action,
            event.object_type,
            event.object_id,
            event.client,
            event.via,
            _json(event.detail),
        ]


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
