"""Rate limiting on Django's cache: rules, the sliding window, the headers.

The middleware in `project/middleware.py` asks `rate_limit_hit()` once per
request; everything about counting lives here.

Algorithm (a sliding-window counter, as Cloudflare and others use): each
rule counts requests in fixed windows of `window` seconds, one cache entry
per window. A request is weighed against

    current window's count + previous window's count × (share of the
    sliding window still overlapping the previous window)

so a client cannot send `2 × limit` across a window boundary. The current
count is raised with `cache.add(key, 0)` + `cache.incr(key)`: both are atomic
on the local-memory cache (a lock) and on django-redis (SET NX, and a Lua
script around INCRBY), so concurrent requests each get their own number and
exactly `limit` of them fit, across every process sharing the Redis. A
refused request gives its count back (`decr`): refusals do not prolong the
wait, and every request is counted once.

The windows live in the `limits` cache alias (project/lib/limit_store.py),
not in the default cache any request can fill. When that store has no room
for a new window, the request is refused (429) rather than counted nowhere.
"""

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

# The outage and full-store warnings are defined below, in project/lib/ (the
# attempt limiter there uses them too); the middleware imports them from here.
from project.lib.limit_store import limit_store_is_full, limits_cache, limits_cache_is_local, warn_limit_store_full
from project.lib.metrics import TOO_MANY_REQUESTS
from project.lib.optional_cache import CACHE_ERRORS, warn_cache_unreachable  # noqa: F401


@dataclass(frozen=True, slots=True)
class Rule:
    prefix: str  # a path prefix, or "default"
    limit: int
    window: int

    @property
    def policy_name(self) -> str:
        """The rule as a Structured Fields string (RFC 9651 sf-string)."""
        escaped = self.prefix.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'


@dataclass(frozen=True, slots=True)
class Decision:
    rule: Rule
    allowed: bool
    remaining: int
    reset: int  # seconds until the current window ends (or until allowed again, when refused)
    retry_after: int | None = None

    def headers(self) -> dict[str, str]:
        """Rate-limit headers: the old triple and draft-ietf-httpapi-ratelimit-headers-11."""
        rule = self.rule
        headers = {
            "RateLimit-Limit": str(rule.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f"{rule.policy_name};q={rule.limit};w={rule.window}",
            "RateLimit": f"{rule.policy_name};r={self.remaining};t={self.reset}",
        }
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RuleBook:
    """The rules from settings, matched by the longest path prefix."""

    def __init__(self, rules: dict, exempt: list[str] | tuple[str, ...]):
        self.exempt = tuple(exempt)
        default = rules.get("default")
        self.default = Rule("default", *default) if default and default[0] > 0 else None
        # Disabled rules stay in the list: a more specific "0" switches off a
        # broader rule (and the default) for its prefix.
        self.rules = sorted(
            (Rule(prefix, int(limit), int(window)) for prefix, (limit, window) in rules.items() if prefix != "default"),
            key=lambda rule: len(rule.prefix),
            reverse=True,
        )

    def rule_for(self, path: str, method: str = "GET") -> Rule | None:
        # Exempt prefixes cover reads (redirects, static files); a form
        # posted to such a path is still counted.
        if method in ("GET", "HEAD") and path.startswith(self.exempt):
            return None
        for rule in self.rules:
            if path.startswith(rule.prefix):
                return rule if rule.limit > 0 else None
        return self.default


_rulebook: RuleBook | None = None


def rulebook() -> RuleBook:
    global _rulebook
    if _rulebook is None:
        _rulebook = RuleBook(settings.RATE_LIMITS, settings.RATE_LIMIT_EXEMPT_PREFIXES)
    return _rulebook


@receiver(setting_changed)
def _forget_rules(*, setting, **kwargs):
    global _rulebook
    if setting in ("RATE_LIMITS", "RATE_LIMIT_EXEMPT_PREFIXES"):
        _rulebook = None


# Where RateLimitMiddleware finds the decision the fast path in front of
# Django (project/fast_path.py) already took for a request it then left to
# Django, which answers with its 429 page: counted once, not twice.
RATE_LIMIT_DECISION = "pan.rate_limit_decision"


def cache_is_local() -> bool:
    """True when the limits' store is in this process's memory: no I/O, no thread needed."""
    return limits_cache_is_local()


def _retry_after(rule: Rule, *, current: int, previous: int, elapsed: float) -> int:
    """Seconds until one more request fits, if nobody else sends any.

    `current` is what this window holds without the refused request.
    """
    limit, window = rule.limit, rule.window
    if current + 1 <= limit:
        # Only the previous window's weight is in the way: wait until
        # previous × (window - t) / window <= limit - current - 1.
        wait = window * (1 - (limit - current - 1) / previous) - elapsed
    else:
        # This window is full: wait for it to end, then for its weight (as
        # the next window's "previous") to fall to limit - 1.
        wait = (window - elapsed) + window * (1 - (limit - 1) / current)
    return max(1, math.ceil(wait))


def rate_limit_hit(*, rule: Rule, identity: str) -> Decision:
    """Count one request of `identity` under `rule` and say whether it may pass.

    Effects: raises the current window's counter (and lowers it again when
    the request is refused). Raises one of CACHE_ERRORS when the cache is
    unreachable; the caller lets the request through then. With no room
    for a new window in the limits' store, refuses.
    """
    try:
        return _hit(rule=rule, identity=identity)
    except Exception as exc:
        seconds = limit_store_is_full(exc)
        if seconds is None:
            raise
        warn_limit_store_full(exc)
        retry_after = min(seconds, rule.window)
        TOO_MANY_REQUESTS.labels("requests", rule.prefix).inc()
        return Decision(rule=rule, allowed=False, remaining=0, reset=retry_after, retry_after=retry_after)


def _hit(*, rule: Rule, identity: str) -> Decision:
    cache = limits_cache()
    window = rule.window
    now = time.time()
    index = int(now // window)
    elapsed = now - index * window
    base = f"rl:{rule.prefix}:{identity}:"
    current_key, previous_key = f"{base}{index}", f"{base}{index - 1}"
    # Kept for two windows: it is the "previous" window for the next one.
    timeout = 2 * window + 1
    for _attempt in range(3):
        cache.add(current_key, 0, timeout)
        try:
            current = cache.incr(current_key)
            break
        except ValueError:
            continue  # expired between add and incr: add it again
    else:  # pragma: no cover - needs the key to vanish three times in a row
        raise OSError("rate-limit counter keeps vanishing")
    previous = int(cache.get(previous_key) or 0)
    weight = (window - elapsed) / window
    estimate = current + previous * weight
    if estimate <= rule.limit:
        return Decision(
            rule=rule,
            allowed=True,
            remaining=max(0, math.floor(rule.limit - estimate)),
            reset=max(0, math.ceil(window - elapsed)),
        )
    try:
        cache.decr(current_key)
    except ValueError:
        pass  # expired meanwhile: nothing left to give back
    retry_after = _retry_after(rule, current=current - 1, previous=previous, elapsed=elapsed)
    TOO_MANY_REQUESTS.labels("requests", rule.prefix).inc()
    return Decision(rule=rule, allowed=False, remaining=0, reset=retry_after, retry_after=retry_after)
