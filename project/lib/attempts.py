"""One fixed-window attempt limiter for everything that must not be guessed.

Logins and share codes (and whatever comes next) describe their limits as
`Layer`s and call `attempts_take` before the check that could be guessed.

Increment first, then decide: every layer counts the attempt (`cache.add`
opens the window, `cache.incr` raises the count) and the number `incr`
returned decides. Both are atomic on the local-memory cache (a lock) and on
django-redis (SET NX, and a Lua script around INCRBY), so N simultaneous
callers each get their own number and at most `limit` of them pass, across
every process sharing the Redis. A refused attempt is given back: refusals
do not prolong the lockout.

Cache entries, all under "attempts:<layer key>":

    :since              the window's start (a timestamp), written with add;
                        the window is judged from it, not from the entry's
                        expiry, so it ends on time on every backend and
                        under time_machine (Redis TTLs run on Redis's clock)
    :<start>            the count of the window that began at <start>; a new
                        window is a new entry, so it starts at zero without
                        a reset that could wipe a concurrent count
    :since:after:<start>  the start of the window after <start>, when the
                        :since entry outlived its window; every caller that
                        saw the stale start reads the same successor

With django-redis every operation is instead one Lua script (one round
trip, atomic over all layers; see "With Redis" below): a right code holds
its place for two round trips, not twenty-six.

Windows live in the `limits` cache alias (project/lib/limit_store.py):
an in-process store that never drops a live window on the embedded
default, a key prefix of its own on Redis. When that store has no room
for another window (full of live ones; Redis out of memory under
`noeviction`), `attempts_take` refuses: it never forgets a count to make
room, and never lets an attempt through uncounted.

When the cache is unreachable every function fails open: it logs a warning
(at most once per `RATE_LIMIT_WARNING_INTERVAL`) and lets the attempt
through, like the request rate limiter.
"""

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import caches
from django.utils.connection import ConnectionProxy

from project.lib.limit_store import LIMITS_CACHE, limit_store_is_full, warn_limit_store_full
from project.lib.metrics import TOO_MANY_REQUESTS
from project.lib.optional_cache import CACHE_ERRORS, warn_cache_unreachable

# The limits' own store (project/lib/limit_store.py), never the default cache
# that any request can fill: a flood of new keys there must not reset a count.
cache = ConnectionProxy(caches, LIMITS_CACHE)

_PREFIX = "attempts:"
# Each retry answers an entry that expired between two calls; three in a row
# means something else is wrong, and the caller fails open.
_TRIES = 3


@dataclass(frozen=True)
class Layer:
    # Cache key (the module adds its own prefix "attempts:"). Its first two
    # parts name the layer's kind ("login:user", "code:client-share"): the
    # `limit` label of the 429 metric, so they never hold an identity.
    key: str
    limit: int  # attempts allowed per window; 0 = layer off
    window: int  # seconds
    error: type  # a project.lib.errors.TooManyRequests subclass raised when over


def _refusal(layer: Layer, seconds_left: float) -> Exception:
    """The layer's error, marked with the layer (for the metric's label)."""
    error = layer.error(retry_after=max(1, math.ceil(seconds_left)))
    error.attempt_layer = layer
    return error


def _kind(layer: Layer) -> str:
    return ":".join(layer.key.split(":")[:2])


def _since_key(layer: Layer) -> str:
    return f"{_PREFIX}{layer.key}:since"


def _count_key(layer: Layer, since: float) -> str:
    return f"{_PREFIX}{layer.key}:{since!r}"


def _window_start(layer: Layer, now: float) -> float:
    """The start of the layer's open window, opening one at `now` if none is."""
    since_key = _since_key(layer)
    for _attempt in range(_TRIES):
        cache.add(since_key, now, layer.window)
        since = cache.get(since_key)
        if since is None:
            continue  # expired between add and get: add it again
        if now < since + layer.window:
            return since
        # The entry outlived its window (Redis keeps time by its own clock:
        # time_machine, or app servers whose clocks disagree). Overwriting it
        # directly could let two callers open two windows; instead the first
        # add of a successor wins and everyone who saw this start reads it.
        successor_key = f"{since_key}:after:{since!r}"
        cache.add(successor_key, now, layer.window)
        successor = cache.get(successor_key)
        if successor is None:
            continue
        # Every caller writes the same value, so a late writer cannot move
        # the window; a very late one only makes the next caller follow the
        # successor entry again.
        cache.set(since_key, successor, layer.window)
        if now < successor + layer.window:
            return successor
    raise OSError(f"attempt window {layer.key!r} keeps vanishing")


def _count_one(layer: Layer, now: float) -> tuple[str, int, float]:
    """Count one attempt in the layer's open window: (count key, count, window start)."""
    for _attempt in range(_TRIES):
        since = _window_start(layer, now)
        count_key = _count_key(layer, since)
        cache.add(count_key, 0, layer.window)
        try:
            return count_key, cache.incr(count_key), since
        except ValueError:
            continue  # expired between add and incr: open the window again
    raise OSError(f"attempt counter {layer.key!r} keeps vanishing")


def _decrement(count_key: str) -> None:
    """Give one attempt back, never below zero and never recreating the entry."""
    try:
        if cache.decr(count_key) < 0:
            # The window was reset after this attempt was counted: there was
            # nothing of ours left to give back.
            cache.incr(count_key)
    except ValueError:
        pass  # the entry expired with its window: nothing left to give back


def _active(layers: Sequence[Layer]) -> list[Layer]:
    return [layer for layer in layers if layer.limit > 0]


# --- With Redis: one atomic script per operation ------------------------------
#
# The cache API above takes about 26 round trips to count and give back an
# attempt in four layers; a right code holds its place for all of them, and
# a crowd behind one NAT address pushed each other over the limit. On Redis
# each operation is one Lua script instead (atomic, one round trip): the
# window's start is judged from the caller's clock as above, a new window
# resets its count inside the script, and a refused attempt counts nowhere.

_TAKE = """
local now = tonumber(ARGV[1])
local starts = {}
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local since = tonumber(redis.call('GET', key .. ':since'))
  if since == nil or now >= since + window then
    since = now
    redis.call('SET', key .. ':since', ARGV[1], 'EX', window + 60)
    redis.call('SET', key .. ':count', 0, 'EX', window + 60)
  end
  starts[i] = since
  if (tonumber(redis.call('GET', key .. ':count')) or 0) >= limit then
    return {i, tostring(since)}
  end
end
for i, key in ipairs(KEYS) do
  redis.call('INCR', key .. ':count')
end
return {0, '0'}
"""

_GIVE_BACK = """
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key .. ':count'))
  if count ~= nil and count > 0 then
    redis.call('DECR', key .. ':count')
  end
end
return 0
"""


def _redis():
    """The raw Redis client when the limits' cache is django-redis, else None."""
    try:
        from django_redis.cache import RedisCache
    except ImportError:  # pragma: no cover - django-redis is pinned in requirements.txt
        return None
    if not isinstance(caches[LIMITS_CACHE], RedisCache):
        return None
    from django_redis import get_redis_connection

    return get_redis_connection(LIMITS_CACHE)


def _redis_keys(layers: Sequence[Layer]) -> list[str]:
    return [cache.make_key(f"{_PREFIX}{layer.key}") for layer in layers]


def _redis_take(client, layers: list[Layer], now: float) -> None:
    args = [repr(now)]
    for layer in layers:
        args += [layer.limit, layer.window]
    full, since = client.eval(_TAKE, len(layers), *_redis_keys(layers), *args)
    if full:
        layer = layers[int(full) - 1]
        raise _refusal(layer, float(since) + layer.window - now)


def _redis_locked_for(client, layer: Layer, now: float) -> int:
    key = _redis_keys([layer])[0]
    since, count = client.mget([f"{key}:since", f"{key}:count"])
    if since is None or now >= float(since) + layer.window:
        return 0
    if int(count or 0) < layer.limit:
        return 0
    return max(1, math.ceil(float(since) + layer.window - now))


def attempts_take(layers: Sequence[Layer], *, now: float | None = None, patience: float = 0.0) -> None:
    """Count one attempt in every layer, then let it through or refuse it.

    Effects: raises each active layer's count (a layer with limit 0 is off).
    When a count passes its layer's limit, the attempt is given back in
    every layer it was counted in and the first such layer's `error` is
    raised with `retry_after` = seconds until that window ends (at least 1).
    Fails open when the cache is unreachable.

    `patience` (seconds): before refusing, try again for that long. Callers
    that give successes back (a right code) hold a place only while they
    check; with Redis that is a few round trips, and a burst of right codes
    from one NAT address would otherwise push each other over the limit.
    Wrong attempts keep their places, so "at most `limit` pass" still holds.
    """
    deadline = time.monotonic() + patience
    delay = 0.005
    while True:
        try:
            return _take_once(layers, now=time.time() if now is None else now)
        except Exception as exc:
            refused = getattr(exc, "attempt_layer", None)
            if refused is None:
                raise
            if time.monotonic() + delay > deadline:
                TOO_MANY_REQUESTS.labels("attempts", _kind(refused)).inc()
                raise
        time.sleep(delay)
        delay = min(2 * delay, 0.05)


def _full_layer(layers: list[Layer], now: float) -> tuple[Layer, float] | None:
    """A layer already at its limit, read without counting (two round trips).

    Refusing these without raising their counts keeps a crowd of refused
    attempts from filling the layer for the attempts that would fit.
    """
    starts = cache.get_many([_since_key(layer) for layer in layers])
    open_windows = {}
    for layer in layers:
        since = starts.get(_since_key(layer))
        if since is not None and now < since + layer.window:
            open_windows[_count_key(layer, since)] = (layer, since)
    counts = cache.get_many(list(open_windows))
    for count_key, (layer, since) in open_windows.items():
        if (counts.get(count_key) or 0) >= layer.limit:
            return layer, since
    return None


def _take_once(layers: Sequence[Layer], *, now: float) -> None:
    counted: list[str] = []
    refusal: tuple[Layer, float] | None = None
    try:
        client = _redis()
        if client is not None:
            active = _active(layers)
            if active:
                _redis_take(client, active, now)
            return
        refusal = _full_layer(_active(layers), now)
        if refusal is not None:
            layer, since = refusal
            raise _refusal(layer, since + layer.window - now)
        for layer in _active(layers):
            count_key, count, since = _count_one(layer, now)
            counted.append(count_key)
            if count > layer.limit and refusal is None:
                refusal = (layer, since)
        if refusal is not None:
            for count_key in counted:
                _decrement(count_key)
    except Exception as exc:
        seconds = limit_store_is_full(exc)
        if seconds is None:
            if isinstance(exc, CACHE_ERRORS):
                warn_cache_unreachable(exc)
                return
            raise
        # No room for a window: refuse rather than let an attempt through
        # uncounted (see project/lib/limit_store.py).
        warn_limit_store_full(exc)
        for count_key in counted:
            _decrement(count_key)
        layer = _active(layers)[len(counted)]
        raise _refusal(layer, min(layer.window, seconds)) from None
    if refusal is not None:
        layer, since = refusal
        raise _refusal(layer, since + layer.window - now)


def attempts_give_back(layers: Sequence[Layer]) -> None:
    """Undo one attempt that `attempts_take` let through (a success that should not count).

    Gives back in the layer's current window; when that window has ended
    or been reset there is nothing to give back. Fails open.
    """
    try:
        client = _redis()
        if client is not None:
            active = _active(layers)
            if active:
                client.eval(_GIVE_BACK, len(active), *_redis_keys(active))
            return
        for layer in _active(layers):
            since = cache.get(_since_key(layer))
            if since is not None:
                _decrement(_count_key(layer, since))
    except CACHE_ERRORS as exc:
        warn_cache_unreachable(exc)


def attempts_reset(layers: Sequence[Layer]) -> None:
    """Forget the layers' windows: the next attempt opens a fresh one. Fails open."""
    try:
        client = _redis()
        if client is not None:
            if layers:
                client.delete(*(f"{key}:{part}" for key in _redis_keys(layers) for part in ("since", "count")))
            return
        for layer in layers:
            since_key = _since_key(layer)
            since = cache.get(since_key)
            keys = [since_key] if since is None else [since_key, _count_key(layer, since)]
            cache.delete_many(keys)
    except CACHE_ERRORS as exc:
        warn_cache_unreachable(exc)


def attempts_locked_for(layer: Layer, *, now: float | None = None) -> int:
    """Seconds until the layer accepts attempts again (0 = it does now).

    Read-only. Fails open (0) when the cache is unreachable.
    """
    if layer.limit <= 0:
        return 0
    now = time.time() if now is None else now
    try:
        client = _redis()
        if client is not None:
            return _redis_locked_for(client, layer, now)
        since = cache.get(_since_key(layer))
        if since is None or now >= since + layer.window:
            return 0
        count = cache.get(_count_key(layer, since)) or 0
    except CACHE_ERRORS as exc:
        warn_cache_unreachable(exc)
        return 0
    if count < layer.limit:
        return 0
    return max(1, math.ceil(since + layer.window - now))
