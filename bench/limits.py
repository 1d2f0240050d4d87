"""Where limit windows could live on the embedded default, and what each costs.

    python -m bench.limits

Per call, on the hot paths: the request rate limiter (`rate_limit_hit`,
one window opened or counted plus the previous window read) and a code
check (`attempts_take` over four layers). Compared:

- `locmem`: Django's LocMemCache (what main used: flushable, 300 entries);
- `store`: project.lib.limit_store.LimitStore (the choice);
- `sqlite`: the rate limiter's two statements on a table of windows in a
  WAL SQLite file (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, then a
  `SELECT`), the database option, measured as SQL alone (no ORM), so a
  lower bound; an async view would also pay a thread hand-off
  (`sync_to_async`, measured too), since SQLite work may not run in the
  event loop and must not run in `thread_sensitive=False` threads.

Also the memory one live window takes in the store. Figures: docs/decisions.md.
"""

import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
import tracemalloc

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings_test")
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from django.test import override_settings  # noqa: E402

CALLS = 20_000
ROUNDS = 5


def per_call_us(action, calls: int = CALLS) -> float:
    """Median over ROUNDS of the mean µs per call."""
    results = []
    for _round in range(ROUNDS):
        started = time.perf_counter()
        for index in range(calls):
            action(index)
        results.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(results)


def bench_cache(backend: dict) -> tuple[float, float]:
    from project.lib.attempts import Layer, attempts_take
    from project.lib.errors import TooManyRequests
    from project.ratelimit import Rule, rate_limit_hit

    with override_settings(CACHES={"default": backend, "limits": backend}):
        rule = Rule("default", 10**9, 60)
        # Many identities, as on a busy site: every 50th request opens a window.
        rate = per_call_us(lambda i: rate_limit_hit(rule=rule, identity=f"addr:198.51.{i // 50 % 256}.{i % 50}"))
        layers = [
            Layer(f"code:{kind}:x", 10**9, 3600, TooManyRequests) for kind in ("client-share", "client", "network")
        ]
        layers.append(Layer("code:share:x", 10**9, 3600, TooManyRequests))
        take = per_call_us(lambda _i: attempts_take(layers), calls=CALLS // 4)
    return rate, take


def bench_sqlite() -> float:
    directory = tempfile.mkdtemp(prefix="pan-bench-limits-")
    db = sqlite3.connect(os.path.join(directory, "limits.sqlite3"), isolation_level=None, check_same_thread=False)
    db.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
        "CREATE TABLE limit_window (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL);"
    )
    upsert = (
        "INSERT INTO limit_window (key, count, expires) VALUES (?, 1, ?) "
        "ON CONFLICT (key) DO UPDATE SET count = count + 1 RETURNING count"
    )

    def hit(index: int) -> None:
        now = time.time()
        window = int(now // 60)
        identity = f"addr:198.51.{index // 50 % 256}.{index % 50}"
        db.execute(upsert, (f"rl:default:{identity}:{window}", now + 121)).fetchone()
        db.execute("SELECT count FROM limit_window WHERE key = ?", (f"rl:default:{identity}:{window - 1}",)).fetchone()

    return per_call_us(hit)


def bench_thread_hop() -> float:
    async def hops() -> float:
        noop = sync_to_async(lambda: None)
        started = time.perf_counter()
        for _ in range(CALLS // 4):
            await noop()
        return (time.perf_counter() - started) / (CALLS // 4) * 1e6

    return statistics.median(asyncio.run(hops()) for _ in range(ROUNDS))


def bench_memory(entries: int = 100_000) -> float:
    from project.lib.limit_store import LimitStore

    store = LimitStore("pan-bench-memory", {"OPTIONS": {"MAX_ENTRIES": entries}})
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for index in range(entries):
        key = f"rl:/api/files:addr:2001:db8:{index:x}::/64:{29_000_000 + index % 2}"
        store.add(key, 0, 121)
        store.incr(key)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    store.clear()
    return used / entries


def main() -> None:
    locmem = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pan-bench"}
    store = {
        "BACKEND": "project.lib.limit_store.LimitStore",
        "LOCATION": "pan-bench",
        "OPTIONS": {"MAX_ENTRIES": 10**6},
    }
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores shared)")
    for name, backend in (("locmem", locmem), ("store", store)):
        rate, take = bench_cache(backend)
        print(f"{name:8} rate_limit_hit {rate:7.1f} µs   attempts_take (4 layers) {take:7.1f} µs")
    print(f"sqlite   rate limiter's 2 statements {bench_sqlite():7.1f} µs (SQL only)")
    print(f"thread hand-off (sync_to_async, thread_sensitive) {bench_thread_hop():7.1f} µs")
    print(f"store memory per live window {bench_memory():.0f} bytes")


if __name__ == "__main__":
    main()
