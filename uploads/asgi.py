"""Resumable uploads' bodies bypass Django's body reader.

Django's ASGI handler reads a request's whole body (spooling it to a
temporary file) before any view runs; a tus PATCH must instead reach
storage as it arrives, so that what came before a dropped connection is
kept. `TusBodies` hands POST and PATCH requests under `/api/uploads/` (and
`curl -T`'s PUT under `/api/put/`, docs/uploads.md) to
Django with an empty body and puts the real ASGI `receive` in the scope
(`BODY_RECEIVE`), where the tus views (`uploads/views.py`) read it after
checking `Content-Length` against what the upload still lacks (413 before
a byte is read). Every other request goes to `others` (the body-size guard
in front of Django).
"""

import asyncio

PREFIX = "/api/uploads/"
PUT_PREFIX = "/api/put/"
BODY_RECEIVE = "pan.body_receive"
# The requests whose bodies go to their views as a stream: tus's, and `curl -T`'s PUT.
_STREAMED = {(PREFIX, "POST"), (PREFIX, "PATCH"), (PUT_PREFIX, "PUT")}


def _streamed(scope) -> bool:
    path, method = scope["path"], scope.get("method")
    return any(method == streamed and path.startswith(prefix) for prefix, streamed in _STREAMED)


class TusBodies:
    def __init__(self, app, others):
        self.app = app
        self.others = others

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not _streamed(scope):
            return await self.others(scope, receive, send)
        handed = False
        never = asyncio.Event()

        async def empty_body():
            nonlocal handed
            if not handed:
                handed = True
                return {"type": "http.request", "body": b"", "more_body": False}
            # Django's handler listens for a disconnect while the view runs; the
            # view reads the real body itself, so this waits until it is cancelled.
            await never.wait()

        await self.app({**scope, BODY_RECEIVE: receive}, empty_body, send)
