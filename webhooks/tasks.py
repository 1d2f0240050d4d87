"""Background tasks of `webhooks`."""

from jobs.services import background

from .services import delivery_attempt


# One task per (endpoint, event): tries on WEBHOOK_RETRY_SCHEDULE (30 s, 2 min, 10 min, 30 min,
# 1 h, 3 h: 7 tries over about 5 hours), the same webhook-id on each.
@background(attempts=7, schedule_setting="WEBHOOK_RETRY_SCHEDULE")
def webhook_deliver(*, delivery_id: int) -> str:
    """Deliver one event to one endpoint (webhooks.services.delivery_attempt)."""
    return delivery_attempt(delivery_id=delivery_id)
