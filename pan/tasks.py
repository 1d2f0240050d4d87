"""Background tasks of `pan`."""

import logging

from audit.services import audit_addresses_hash
from jobs.services import background

from .services import share_purge_expired

logger = logging.getLogger(__name__)


@background(attempts=3)
def purge_expired() -> dict[str, int]:
    """Periodic (PAN_PURGE_INTERVAL): what `manage.py purge_expired` does: expired shares,
    upload leftovers, expired resumable uploads, old audit client addresses. Running it
    twice removes each thing once: the second run finds nothing left to remove."""
    purged, leftovers = share_purge_expired()
    for share in purged:
        logger.info("purge: removed share %s (%s)", share.unique_name, share.reason)
    for line in leftovers:
        logger.info("purge: %s", line)
    hashed = audit_addresses_hash()
    return {"shares": len(purged), "leftovers": len(leftovers), "audit_addresses": hashed}
