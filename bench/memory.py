"""Resident memory of a process, sampled from /proc while work runs."""

import asyncio
import contextlib
from pathlib import Path


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PeakSampler:
    """`async with PeakSampler(pid) as s:` then `s.before`, `s.peak` (MiB)."""

    def __init__(self, pid: int | None, interval: float = 0.02):
        self.pid = pid
        self.interval = interval
        self.before = self.peak = float("nan")
        self._task = None

    async def _sample(self):
        while True:
            self.peak = max(self.peak, rss_mib(self.pid))
            await asyncio.sleep(self.interval)

    async def __aenter__(self):
        if self.pid:
            self.before = self.peak = rss_mib(self.pid)
            self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc):
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self.peak = max(self.peak, rss_mib(self.pid))
