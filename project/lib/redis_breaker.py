"""One circuit breaker in front of every Redis connection (SPEC §8, 3rd).

Every use of Redis — the cache (`optional_cache`, `/server-status`), the
request rate limiter, the attempt limiter's scripts, the channel layer —
talks through a redis-py connection of the classes below, made by the
connection pools that django-redis and channels-redis build from
project/settings.py. So this is the one place that sees every Redis call.

With Redis stopped (a refused port) each call fails at once; with Redis
frozen (it accepts connections and never answers) each call would wait
out `REDIS_SOCKET_TIMEOUT`, and a request makes several. The breaker
makes that one: when a call fails for want of an answer (a connection
error, a timeout), every call for the next `REDIS_BREAKER_SECONDS` fails
at once with `RedisSkipped`, without touching the network. Then the next
call tries Redis again: success closes the breaker, failure opens it for
another period. Callers see `RedisSkipped` as one more unreachable-Redis
error (a `redis.ConnectionError`, so in `CACHE_ERRORS`) and fail open as
always: limits let requests through, caches are skipped, live events are
dropped (project/lib/optional_cache.py, events/services.py). A request
thus pays at most one socket timeout per breaker period and process,
and only the request that meets the outage first pays it.

Only errors that mean "no answer" open it: a Redis that answers with an
error (a script error, a wrong type) is working.

Skipped calls count in `pan_cache_errors_total` like every call that
failed open; each opening logs one warning per RATE_LIMIT_WARNING_INTERVAL.
"""

import logging
import threading
import time

import redis
from django.conf import settings
from redis.asyncio import connection as async_connection

logger = logging.getLogger("pan.redis")

# What means "Redis did not answer": redis-py's ConnectionError (refused,
# reset, closed) and TimeoutError, and the socket errors underneath.
NO_ANSWER = (redis.ConnectionError, redis.TimeoutError, OSError)


class RedisSkipped(redis.ConnectionError):
    """Raised instead of calling Redis while the breaker is open."""


class Breaker:
    """Open for `REDIS_BREAKER_SECONDS` after a failure; closed by the next success."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open_until = 0.0  # monotonic time; 0 = closed (the hot path reads only this)
        self._last_warning = -float("inf")

    def check(self) -> None:
        """Raise RedisSkipped while open. After the period, calls go through again (one of them decides)."""
        if self._open_until and time.monotonic() < self._open_until:
            raise RedisSkipped(f"Redis skipped: it did not answer within the last {settings.REDIS_BREAKER_SECONDS:g}s")

    def failed(self, exc: BaseException) -> None:
        if isinstance(exc, RedisSkipped):
            return
        now = time.monotonic()
        with self._lock:
            self._open_until = now + settings.REDIS_BREAKER_SECONDS
            warn = now - self._last_warning >= settings.RATE_LIMIT_WARNING_INTERVAL
            if warn:
                self._last_warning = now
        if warn:
            logger.warning(
                "Redis did not answer (%s: %s); skipping it for %gs at a time until it does",
                type(exc).__name__,
                exc,
                settings.REDIS_BREAKER_SECONDS,
            )

    def succeeded(self) -> None:
        if self._open_until:
            self._open_until = 0.0

    def reset(self) -> None:
        """Close the breaker (tests)."""
        self._open_until = 0.0


breaker = Breaker()


class _Guarded:
    """Mixin for redis-py's sync connections: every exchange passes the breaker."""

    def connect(self, *args, **kwargs):
        breaker.check()
        try:
            return super().connect(*args, **kwargs)
        except NO_ANSWER as exc:
            breaker.failed(exc)
            raise

    def send_packed_command(self, *args, **kwargs):
        breaker.check()
        try:
            return super().send_packed_command(*args, **kwargs)
        except NO_ANSWER as exc:
            breaker.failed(exc)
            raise

    def read_response(self, *args, **kwargs):
        try:
            response = super().read_response(*args, **kwargs)
        except NO_ANSWER as exc:
            breaker.failed(exc)
            raise
        breaker.succeeded()
        return response


class _AsyncGuarded:
    """The same for redis-py's asyncio connections (channels-redis)."""

    async def connect(self, *args, **kwargs):
        breaker.check()
        try:
            return await super().connect(*args, **kwargs)
        except NO_ANSWER as exc:
            breaker.failed(exc)
            raise

    async def send_packed_command(self, *args, **kwargs):
        breaker.check()
        try:
            return await super().send_packed_command(*args, **kwargs)
        except NO_ANSWER as exc:
            breaker.failed(exc)
            raise

    async def read_response(self, *args, **kwargs):
        try:
            response = await super().read_response(*args, **kwargs)
        except NO_ANSWER as exc:
            breaker.failed(exc)
            raise
        breaker.succeeded()
        return response


class Connection(_Guarded, redis.Connection):
    pass


class SSLConnection(_Guarded, redis.SSLConnection):
    pass


class UnixDomainSocketConnection(_Guarded, redis.UnixDomainSocketConnection):
    pass


class AsyncConnection(_AsyncGuarded, async_connection.Connection):
    pass


class AsyncSSLConnection(_AsyncGuarded, async_connection.SSLConnection):
    pass


class AsyncUnixDomainSocketConnection(_AsyncGuarded, async_connection.UnixDomainSocketConnection):
    pass


# A clever layer fails loudly: the methods it wraps must be the ones redis-py calls.
_WRAPPED = ("connect", "send_packed_command", "read_response")
APPLIES = all(
    callable(getattr(base, name, None)) for base in (redis.Connection, async_connection.Connection) for name in _WRAPPED
)
if not APPLIES:  # pragma: no cover - the pinned redis has them
    logger.warning(
        "project.lib.redis_breaker does not apply to redis %s: a frozen Redis costs every call its timeout",
        redis.__version__,
    )

_SYNC = {"redis": Connection, "rediss": SSLConnection, "unix": UnixDomainSocketConnection}
_ASYNC = {"redis": AsyncConnection, "rediss": AsyncSSLConnection, "unix": AsyncUnixDomainSocketConnection}


def connection_class(url: str, *, asynchronous: bool = False) -> type:
    """The guarded connection class for a Redis URL (its scheme decides TCP, TLS or a Unix socket)."""
    scheme = url.partition("://")[0].lower()
    classes = _ASYNC if asynchronous else _SYNC
    if scheme not in classes:
        raise ValueError(f"REDIS_URL scheme {scheme!r} is not one of {', '.join(classes)}")
    return classes[scheme]
