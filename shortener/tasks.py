"""Background tasks of `shortener`."""

from jobs.services import background

from .services import short_links_announce_expired as _announce


@background(attempts=3)
def short_links_announce_expired() -> int:
    """Periodic (SHORT_LINK_EXPIRY_SCAN_INTERVAL): `link.expired` for links whose time passed, once each."""
    return _announce()
