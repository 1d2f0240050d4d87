"""Background tasks of `events`."""

from jobs.services import background

from .services import receipt_deliver


# A mail server down for a while: tries after 30 s, 1, 2, 4, 8 minutes (PAN_TASK_RETRY_BACKOFF).
@background(attempts=6)
def receipt_send(*, receipt: str, user_id, kind: str, context: dict) -> str:
    """Send one e-mail receipt (events.services.receipt_deliver); once, however often it runs."""
    return receipt_deliver(receipt=receipt, user_id=user_id, kind=kind, context=context)
