"""Where limits live: a store no request can flush (SPEC §8, docs/middleware.md).

The request rate limiter (`project/ratelimit.py`) and the attempt limiter
(`project/lib/attempts.py`) keep their windows in the `limits` cache alias
(`LIMITS_CACHE`), never in the default cache that short-link lookups and
post fragments fill:

- Embedded default: `LimitStore` below, a cache backend in this process's
  memory whose entries are dropped only when they expire. A full store
  (`LIMITS_MAX_ENTRIES` live windows) refuses to open another window
  (`LimitStoreFull`) instead of forgetting one, and the limiters decide
  conservatively: they refuse the request or attempt. Django's
  `LocMemCache` holds 300 entries and culls a third of them, live or not,
  whenever it is full: any 300 new keys (unknown short links, say) used to
  reset every counter and unlock every share.
- With `REDIS_URL`: django-redis on the same Redis under a key prefix of
  its own. Redis drops keys only by expiry or by its eviction policy, and
  every limit window has a TTL, so only `maxmemory-policy noeviction` keeps
  them (volatile-* policies evict exactly the keys with a TTL);
  `/server-status` says so (`redis_eviction_warning`). Under `noeviction` a
  full Redis refuses writes (OOM), and the limiters refuse too
  (`limit_store_is_full`), rather than failing open as for an outage.
"""

import heapq
import logging
import math
import threading
import time

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache

from project.lib.optional_cache import WarnOncePerInterval

LIMITS_CACHE = "limits"

# A full limit store refuses (never fails open); said once per interval, by
# the request limiter (project/ratelimit.py) and the attempt limiter alike.
warn_limit_store_full = WarnOncePerInterval(
    logging.getLogger("pan.ratelimit"), "The limit store is full: new limit windows are refused (%s)"
)

try:
    from redis.exceptions import OutOfMemoryError
except ImportError:  # pragma: no cover - redis is pinned in requirements.txt
    OutOfMemoryError = None


class LimitStoreFull(Exception):  # noqa: N818 - reads as what happened, like Django's `Resolver404`
    """No room for another window; `retry_after`: seconds until the soonest window ends (at least 1).

    Deliberately not an `OSError`: the limiters fail open on those (the cache
    is down), and a full store must not open them.
    """

    def __init__(self, retry_after: float):
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"the limit store is full; room in {self.retry_after}s")


def limit_store_is_full(exc: BaseException) -> int | None:
    """Seconds to wait when `exc` says the limits' store has no room (the in-process
    store full, Redis out of memory under `noeviction`), else None."""
    if isinstance(exc, LimitStoreFull):
        return exc.retry_after
    if OutOfMemoryError is not None:
        # django-redis re-raises Redis's errors as ConnectionInterrupted from them.
        for error in (exc, exc.__cause__, exc.__context__):
            if isinstance(error, OutOfMemoryError):
                return 60
    return None


class _Shelf:
    """One store's entries, shared by every `LimitStore` instance of the same name
    (Django makes one cache object per thread, like LocMemCache's `_caches`)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries: dict[str, list] = {}  # key -> [value, expires at (time.time()) or inf]
        self.expiries: list[tuple[float, str]] = []  # a heap; stale items are skipped

    def purge(self, now: float) -> None:
        """Drop expired entries, and nothing else (called with the lock held)."""
        expiries, entries = self.expiries, self.entries
        while expiries and expiries[0][0] <= now:
            expires, key = heapq.heappop(expiries)
            entry = entries.get(key)
            if entry is not None and entry[1] == expires:
                del entries[key]
        # Keys deleted or given a new expiry leave stale items behind: rebuild
        # before the heap outgrows the entries it indexes.
        if len(expiries) > 2 * len(entries) + 1024:
            self.expiries = [(entry[1], key) for key, entry in entries.items() if entry[1] != math.inf]
            heapq.heapify(self.expiries)


_shelves: dict[str, _Shelf] = {}
_shelves_lock = threading.Lock()


class LimitStore(BaseCache):
    """A cache backend for limit windows: in process, never evicts a live entry.

    OPTIONS: `MAX_ENTRIES` (live entries at most). Values are stored as
    given, not pickled: limits store numbers, which are immutable. `incr`
    and `add` are atomic under one lock, as on LocMemCache.
    """

    def __init__(self, name, params):
        super().__init__(params)
        with _shelves_lock:
            self._shelf = _shelves.setdefault(name, _Shelf())

    def validate_key(self, key):
        # Any string is a fine dict key; memcached's key rules (checked
        # character by character) cost a quarter of an attempt check here.
        pass

    def _expiry(self, timeout) -> float:
        expires = self.get_backend_timeout(timeout)
        return math.inf if expires is None else expires

    def _live(self, key: str, now: float) -> list | None:
        entry = self._shelf.entries.get(key)
        if entry is None or entry[1] <= now:
            return None
        return entry

    def _put(self, key: str, value, expires: float, now: float) -> None:
        shelf = self._shelf
        shelf.purge(now)
        if key not in shelf.entries and len(shelf.entries) >= self._max_entries:
            soonest = shelf.expiries[0][0] if shelf.expiries else now + 60
            raise LimitStoreFull(soonest - now)
        shelf.entries[key] = [value, expires]
        if expires != math.inf:
            heapq.heappush(shelf.expiries, (expires, key))

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        expires, now = self._expiry(timeout), time.time()
        with self._shelf.lock:
            if self._live(key, now) is not None:
                return False
            self._put(key, value, expires, now)
            return True

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._shelf.lock:
            entry = self._live(key, time.time())
            return default if entry is None else entry[0]

    def get_many(self, keys, version=None):
        found = {}
        now = time.time()
        with self._shelf.lock:
            for key in keys:
                entry = self._live(self.make_and_validate_key(key, version=version), now)
                if entry is not None:
                    found[key] = entry[0]
        return found

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        expires, now = self._expiry(timeout), time.time()
        with self._shelf.lock:
            self._put(key, value, expires, now)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        expires, now = self._expiry(timeout), time.time()
        with self._shelf.lock:
            entry = self._live(key, now)
            if entry is None:
                return False
            entry[1] = expires
            if expires != math.inf:
                heapq.heappush(self._shelf.expiries, (expires, key))
            return True

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._shelf.lock:
            entry = self._live(key, time.time())
            if entry is None:
                raise ValueError(f"Key '{key}' not found")
            entry[0] += delta
            return entry[0]

    def has_key(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._shelf.lock:
            return self._live(key, time.time()) is not None

    def delete(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._shelf.lock:
            return self._shelf.entries.pop(key, None) is not None

    def clear(self):
        with self._shelf.lock:
            self._shelf.entries.clear()
            self._shelf.expiries.clear()

    @property
    def max_entries(self) -> int:
        return self._max_entries

    def is_full(self) -> bool:
        """True while the store holds `max_entries` live windows (for /server-status)."""
        with self._shelf.lock:
            self._shelf.purge(time.time())
            return len(self._shelf.entries) >= self._max_entries


def limits_cache():
    """The cache alias the limiters count in."""
    return caches[LIMITS_CACHE]


def limits_cache_is_local() -> bool:
    """True on the embedded default: no I/O, no thread needed."""
    return isinstance(limits_cache(), LimitStore)


# --- With Redis: the eviction policy ----------------------------------------

SAFE_EVICTION_POLICY = "noeviction"


def redis_eviction_warning(policy: str) -> str | None:
    """The warning `/server-status` gives for Redis's `maxmemory-policy`, None when it is safe.

    Only `noeviction` keeps limit windows: allkeys-* may evict any key, and
    volatile-* evict keys with a TTL, which every limit window has.
    """
    if policy == SAFE_EVICTION_POLICY:
        return None
    return (
        f"warning: Redis maxmemory-policy is {policy!r}; when Redis fills up it may evict limit windows "
        f"(counters and locks reset); set maxmemory-policy {SAFE_EVICTION_POLICY}"
    )


def redis_eviction_policy() -> str:
    """Redis's `maxmemory-policy`, read with `CONFIG GET` (raises when Redis refuses or is down)."""
    from django_redis import get_redis_connection

    answer = get_redis_connection(LIMITS_CACHE).config_get("maxmemory-policy")
    return answer["maxmemory-policy"]
