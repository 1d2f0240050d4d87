"""Logins do not leave their Argon2 memory with the server (project/lib/memory.py)."""

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.memory import rss_mib
from project.testing import LiveServer

pytestmark = pytest.mark.live

PASSWORD = "Lantern-Field-71"


def test_forty_concurrent_logins_leave_the_server_no_bigger():
    with LiveServer(extra_env={"RATE_LIMIT_ENABLED": "false", "LOGIN_FAILURE_LIMIT": "0"}) as server:
        server.register("memory-user", PASSWORD)
        body = json.dumps({"username": "memory-user", "password": PASSWORD}).encode()

        def login(_):
            request = urllib.request.Request(  # noqa: S310 - loopback only
                f"{server.url}/api/login", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status

        assert login(0) == 200  # warm up: imports, first connection
        before = rss_mib(server.procs[0].pid)
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(login, range(40))) == {200}
        grown = rss_mib(server.procs[0].pid) - before
        # Each hash takes 19 MiB; kept in arenas this grew by ~150 MiB.
        assert grown < 50, f"the server grew by {grown:.0f} MiB"
