"""A tiny ASGI application for daphne's request-body tests (project/tests/test_live_daphne_streaming.py).

Served by a real daphne (`python -m daphne project.tests.daphne_streaming_app:application`)
with Pan's daphne fixes applied, it records what it received so that a test
can compare it with what the client sent:

- `POST /count?id=NAME&delay=SECONDS`: reads the body message by message
  (sleeping `delay` after each, a slow application), answers
  `{"received": n, "sha256": ...}` and writes the same, with whether the
  client went away (`http.disconnect`), to `$PAN_STREAMING_RECORDS/NAME.json`;
  on its first body message it writes what it has so far to `NAME.started.json`.
- `POST /refuse`: answers 413 without reading the body (as BodySizeGuard does).
- anything else: 200 "ok" without reading the body.
"""

import asyncio
import hashlib
import json
import os
from pathlib import Path
from urllib.parse import parse_qs

from project.lib import daphne_fixes

daphne_fixes.apply_all()


def _record(name: str, result: dict) -> None:
    folder = Path(os.environ["PAN_STREAMING_RECORDS"])
    partial = folder / f".{name}.json"
    partial.write_text(json.dumps(result))
    partial.rename(folder / f"{name}.json")  # whole or not at all for the reader


async def _answer(send, status: int, body: bytes, headers: list | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _count(scope, receive, send) -> None:
    query = parse_qs(scope["query_string"].decode())
    name = query.get("id", ["anonymous"])[0]
    delay = float(query.get("delay", ["0"])[0])
    digest = hashlib.sha256()
    received = messages = 0
    disconnected = False
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            disconnected = True
            break
        received += len(message.get("body", b""))
        digest.update(message.get("body", b""))
        messages += 1
        if messages == 1:
            _record(f"{name}.started", {"received": received})
        if delay:
            await asyncio.sleep(delay)
        if not message.get("more_body", False):
            break
    result = {"received": received, "sha256": digest.hexdigest(), "disconnected": disconnected, "messages": messages}
    _record(name, result)
    if not disconnected:
        await _answer(send, 200, json.dumps(result).encode())


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        return
    if scope["type"] != "http":
        return
    if scope["method"] == "POST" and scope["path"] == "/count":
        return await _count(scope, receive, send)
    if scope["method"] == "POST" and scope["path"] == "/refuse":
        return await _answer(send, 413, b'{"error": "too large"}', [(b"connection", b"close")])
    await _answer(send, 200, b'"ok"')
