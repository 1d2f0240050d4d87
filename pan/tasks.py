"""Background tasks of `pan`."""

from audit.services import audit_addresses_hash
from jobs.services import background

from .services import share_purge_expired


@background(attempts=3)
def purge_expired() -> dict[str, int]:
    """Periodic (PAN_PURGE_INTERVAL): what `manage.py purge_expired` does: expired shares,
    upload leftovers, expired resumable uploads, old audit client addresses. Running it
    twice removes each thing once: the second run finds nothing left to remove."""
    purged, leftovers = share_purge_expired()
    hashed = audit_addresses_hash()
    return {"shares": len(purged), "leftovers": len(leftovers), "audit_addresses": hashed}
