"""The cache is optional: when it is unreachable, Pan works without it (SPEC §8).

Two kinds of cache users, one rule:

- Plain caches (short-link lookups, post fragments) go through
  `optional_cache`: each call that fails because the cache is unreachable
  answers as a miss (`default`), and the caller goes to the database.
- Limiters (the request rate limiter, the attempt limiter) run several
  calls as one decision; they catch `CACHE_ERRORS` around the whole
  decision and let the request or attempt through.

Either way the outage is reported through `warn_cache_unreachable`: one
warning per `RATE_LIMIT_WARNING_INTERVAL` seconds per process, not one per
request, and the `pan_cache_errors_total` metric for every failure.

Why not django-redis's `IGNORE_EXCEPTIONS`: it swallows errors inside the
backend, so `get` answers None (fine for a cache) but `incr` and `add`
answer None or False too, and the limiters would then count nothing
without anyone knowing; it logs nothing unless told to, and then a full
traceback per call. Here the limiters see the error and decide to fail
open, and every outage is logged once per interval.
"""

import logging
import math
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from project.lib.metrics import CACHE_ERRORS as CACHE_ERRORS_SEEN

# The logger and message are older than this module: operators' alerts and
# docs/middleware.md name them.
logger = logging.getLogger("pan.ratelimit")

try:
    from redis import RedisError
except ImportError:  # pragma: no cover - redis is pinned in requirements.txt
    RedisError = OSError
try:
    from django_redis.exceptions import ConnectionInterrupted
except ImportError:  # pragma: no cover - django-redis is pinned in requirements.txt
    ConnectionInterrupted = RedisError

# What an unreachable cache raises: redis-py's ConnectionError/TimeoutError
# (django-redis's cache methods re-raise them), django-redis's own
# ConnectionInterrupted (what its client raises when called directly; it
# subclasses neither of the others) and plain socket errors.
CACHE_ERRORS = (OSError, RedisError, ConnectionInterrupted)


class WarnOncePerInterval:
    """Log an outage once per `RATE_LIMIT_WARNING_INTERVAL` seconds, not once per request.

    `message` has one `%s`: the error, as "Type: text". `counter`, if any, counts
    every occurrence. The first one is always logged (however long the
    machine has been up).
    """

    def __init__(self, logger: logging.Logger, message: str, counter=None):
        self._lock = threading.Lock()
        self._last = -math.inf
        self.logger, self.message, self.counter = logger, message, counter

    def __call__(self, exc: BaseException) -> None:
        if self.counter is not None:
            self.counter.inc()
        now = time.monotonic()
        with self._lock:
            if now - self._last < settings.RATE_LIMIT_WARNING_INTERVAL:
                return
            self._last = now
        self.logger.warning(self.message, f"{type(exc).__name__}: {exc}")


# One warning for both kinds of users: while the cache is down, limits let
# everything through and cached reads go to the database.
warn_cache_unreachable = WarnOncePerInterval(
    logger, "Rate limiting is off for now: the cache is unreachable (%s)", counter=CACHE_ERRORS_SEEN
)


def _call(method: str, *args, fallback: Any = None) -> Any:
    try:
        return getattr(caches["default"], method)(*args)
    except CACHE_ERRORS as exc:
        warn_cache_unreachable(exc)
        return fallback


async def _acall(method: str, *args, fallback: Any = None) -> Any:
    try:
        return await getattr(caches["default"], method)(*args)
    except CACHE_ERRORS as exc:
        warn_cache_unreachable(exc)
        return fallback


class OptionalCache:
    """The default cache, with every call failing open.

    A failed read is a miss (`default`); a failed write or delete did
    nothing. While the cache is unreachable nothing is read from it, so
    nothing stale is served; when it comes back, entries it still holds may
    predate changes made meanwhile (their deletes failed). So a cache of
    something that changes must check what it reads (short links: the visit
    matches the row) or keep its entries short (post fragments:
    `POST_CACHE_SECONDS`).
    """

    def get(self, key: str, default: Any = None) -> Any:
        return _call("get", key, default, fallback=default)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The keys found (all of them missing with the cache down)."""
        return _call("get_many", list(keys), fallback={})

    def set(self, key: str, value: Any, seconds: float | None) -> None:
        _call("set", key, value, seconds)

    def add(self, key: str, value: Any, seconds: float | None) -> bool | None:
        """Set only if absent: True if this call set it, False if it was there, None with the cache down."""
        return _call("add", key, value, seconds, fallback=None)

    def delete(self, key: str) -> None:
        _call("delete", key)

    def delete_many(self, keys: Iterable[str]) -> None:
        _call("delete_many", list(keys))

    async def aget(self, key: str, default: Any = None) -> Any:
        return await _acall("aget", key, default, fallback=default)

    async def aset(self, key: str, value: Any, seconds: float | None) -> None:
        await _acall("aset", key, value, seconds)

    async def adelete(self, key: str) -> None:
        await _acall("adelete", key)


optional_cache = OptionalCache()


def cache_is_local() -> bool:
    """True when the default cache is this process's memory (the embedded
    default): reading it does no I/O, so the event loop may do it itself."""
    return isinstance(caches["default"], LocMemCache)
