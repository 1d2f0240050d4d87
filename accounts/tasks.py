"""Background tasks of `accounts`."""

from jobs.services import background

from .factors import login_challenges_purge as _login_challenges_purge


@background(attempts=3)
def login_challenges_purge() -> int:
    """Periodic (PAN_PURGE_INTERVAL): delete second-step challenges that expired
    more than a day ago (accounts.factors.login_challenges_purge); a second run finds none."""
    return _login_challenges_purge()
