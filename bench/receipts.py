"""Drops that queue an e-mail receipt (issue 23): what the sender waits for.

The request's owner has e-mail receipts on; every drop into the request
sends one. The figure is the drop's own rate and latency as its sender sees
it; the receipts are counted as they reach a real SMTP server (aiosmtpd)
beside the bench, so a case that "got faster" by not sending them shows.

    python -m bench.receipts                 # Pan from this checkout (daphne + one task worker)
    python -m bench.receipts --url URL --smtp-port P
        # a running Pan whose EMAIL_HOST/EMAIL_PORT point at 127.0.0.1:P (say, another checkout)

`make bench` runs `receipt_rows` against each server it starts.
"""

import argparse
import asyncio
import json
import secrets
import time
from contextlib import contextmanager

import aiohttp

from .load import http_load

PASSWORD = "Bench-Password-" + secrets.token_hex(4)
DROP = b"a scanned page\n" * 64  # ~1 KiB: the drop's own work is small, the receipt is what differs
BOUNDARY = "bench-" + secrets.token_hex(8)
# One multipart body, sent again by every request (a FormData is consumed as it is sent).
DROP_BODY = (
    (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\nBench\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="page.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    + DROP
    + f"\r\n--{BOUNDARY}--\r\n".encode()
)
DROP_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


@contextmanager
def smtp_sink(port: int):
    """A real SMTP server on 127.0.0.1:`port` that accepts everything: (its mailbox)."""
    from aiosmtpd.controller import Controller

    from project.testing import Mailbox

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def mail_env(port: int) -> dict:
    """A server's settings for sending its receipts to the sink."""
    return {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "PAN_DROP_CLIENT_LIMIT": "0",
        "PAN_DROP_NETWORK_LIMIT": "0",
    }


async def _json(session, method, url, expect, **kwargs) -> dict:
    async with session.request(method, url, **kwargs) as response:
        body = await response.text()
        if response.status != expect:
            raise RuntimeError(f"{method} {url} answered {response.status}: {body[:300]}")
        return json.loads(body) if body else {}


async def receipt_rows(session, base: str, auth: dict, box, *, steps: list[tuple[int, int]]) -> list[dict]:
    """Turn receipts on for the signed-in owner (`auth`), open a request, and
    drop into it `total` times at each concurrency of `steps`; each row says
    how many receipts the SMTP server had received 30 s after its drops at most."""
    await _json(
        session, "PATCH", f"{base}/api/me", 200, headers=auth,
        json={"email": "owner@example.test", "receipts_by_email": True},
    )  # fmt: skip
    made = await _json(
        session, "POST", f"{base}/api/requests", 201, headers=auth,
        json={"title": "Bench drops", "max_files": 10_000, "max_bytes": 2**30},
    )  # fmt: skip
    url = f"{base}/api/requests/{made['code'].replace('-', '')}/drops"
    rows = []
    for concurrency, total in steps:
        before = len(box.accepted)
        result = await http_load(
            session, "drop with an e-mail receipt", "POST", url, expect=201,
            concurrency=concurrency, total=total, seconds=60, data=DROP_BODY, headers={"Content-Type": DROP_TYPE},
        )  # fmt: skip
        row = result.summary()
        row["receipts_received"] = await _received(box, before, result.requests, seconds=30)
        rows.append(row)
    return rows


async def _received(box, before: int, wanted: int, *, seconds: float) -> int:
    """How many receipts arrived since `before`, once `wanted` have or `seconds` passed."""
    deadline = time.monotonic() + seconds
    while len(box.accepted) - before < wanted and time.monotonic() < deadline:  # noqa: ASYNC110 - a thread appends
        await asyncio.sleep(0.1)
    return len(box.accepted) - before


async def _main(args) -> list[dict]:
    from project.testing import LiveServer, free_port

    port = args.smtp_port or free_port()
    steps = [(1, args.drops), (8, args.drops * 2)]
    with smtp_sink(port) as box:
        server = None
        if args.url:
            base = args.url.rstrip("/")
        else:
            env = {"RATE_LIMIT_ENABLED": "false", **mail_env(port)}
            server = LiveServer(extra_env=env, server=args.server, task_workers=1).start()
            base = server.url
        try:
            async with aiohttp.ClientSession() as session:
                name = f"bench-{secrets.token_hex(3)}"
                await _json(session, "POST", f"{base}/api/register", 201, json={"username": name, "password": PASSWORD})
                tokens = await _json(
                    session, "POST", f"{base}/api/login", 200, json={"username": name, "password": PASSWORD}
                )
                auth = {"Authorization": f"Bearer {tokens['access']}"}
                return await receipt_rows(session, base, auth, box, steps=steps)
        finally:
            if server:
                server.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running Pan (its first account must be able to open requests)")
    parser.add_argument("--smtp-port", type=int, help="the sink's port (with --url: the server's EMAIL_PORT)")
    parser.add_argument("--server", default="daphne", choices=["daphne", "uvicorn"])
    parser.add_argument("--drops", type=int, default=200, help="drops at concurrency 1 (twice as many at 8)")
    args = parser.parse_args(argv)
    for row in asyncio.run(_main(args)):
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
