"""Background tasks of `webhooks`."""

from jobs.services import background

from .services import delivery_attempt


# One task per (endpoint, event): tries on WEBHOOK_RETRY_SCHEDULE (30 s, 2 min, 10 min, 30 min,
# 1 h, 3 h: 7 tries over about 5 hours), the same webhook-id on each.
@background(attempts=7, schedule_setting="WEBHOOK_RETRY_SCHEDULE")
def webhook_deliver(*, delivery_id: int) -> str:
    """Deliver one event to one endpoint (webhooks.services.delivery_attempt)."""
    return delivery_attempt(delivery_id=delivery_id)


@background(attempts=3)
def deliveries_prune() -> int:
    """Periodic (PAN_PURGE_INTERVAL): forget finished deliveries older than WEBHOOK_DELIVERIES_KEEP days."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from .services import deliveries_purge

    return deliveries_purge(before=timezone.now() - timedelta(days=settings.WEBHOOK_DELIVERIES_KEEP))
