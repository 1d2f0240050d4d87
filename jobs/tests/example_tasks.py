"""Tasks the jobs tests enqueue (a task is found again by its module path)."""

from django.core.cache import cache

from jobs.services import background


@background(attempts=3)
def flaky(*, key: str, failures: int) -> int:
    """Fails `failures` times (counted in the cache), then succeeds."""
    runs = cache.get(key, 0) + 1
    cache.set(key, runs)
    if runs <= failures:
        raise ConnectionRefusedError(f"run {runs} refused")
    return runs
