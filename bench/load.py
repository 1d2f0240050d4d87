"""Bounded load loops: HTTP requests and WebSocket echo round trips."""

import asyncio
import statistics
import time
from dataclasses import asdict, dataclass, field


@dataclass
class LoadResult:
    name: str
    concurrency: int
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(p) - 1]

    def summary(self) -> dict:
        data = asdict(self)
        data.pop("latencies_ms")
        data.update(rps=round(self.rps, 1), p50_ms=round(self.percentile(50), 2), p99_ms=round(self.percentile(99), 2))
        return data


async def http_load(
    session, name, method, url, *, expect, concurrency, total, seconds, json_of=None, **kwargs
) -> LoadResult:
    """`total` requests (or until `seconds` pass) from `concurrency` workers.
    `json_of(n)`: the JSON body of the n-th request (each its own, e.g. a new URL to shorten)."""
    result = LoadResult(name=name, concurrency=concurrency)
    issued = 0
    deadline = time.monotonic() + seconds

    async def worker():
        nonlocal issued
        while issued < total and time.monotonic() < deadline:
            issued += 1
            body = {} if json_of is None else {"json": json_of(issued)}
            started = time.perf_counter()
            try:
                async with session.request(method, url, allow_redirects=False, **body, **kwargs) as response:
                    await response.read()
                    ok = response.status == expect
            except Exception:  # noqa: BLE001 - any failure counts as an error
                ok = False
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.requests += 1
            result.errors += 0 if ok else 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


async def websocket_echo(session, url, *, connections, total, seconds, origin, size=64) -> LoadResult:
    """Round trips of `size`-byte text messages over `connections` sockets."""
    result = LoadResult(name=f"websocket echo x{connections}", concurrency=connections)
    message = "x" * size
    per_connection = max(1, total // connections)
    deadline = time.monotonic() + seconds

    async def one():
        async with session.ws_connect(url, origin=origin) as ws:
            for _ in range(per_connection):
                if time.monotonic() >= deadline:
                    break
                started = time.perf_counter()
                await ws.send_str(message)
                reply = await ws.receive(timeout=10)
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                result.requests += 1
                result.errors += 0 if reply.data == message else 1

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(connections)))
    result.seconds = time.perf_counter() - started
    return result
