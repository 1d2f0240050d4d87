"""Work a server process must finish before it stops (a buffer to write).

`on_stop(callback)` registers a callback; `stop_callbacks_run()` runs each
registered callback once, all of them bounded by `STOP_CALLBACKS_SECONDS`
together (a database that does not answer must not hold a stop for good).
They run on the first of two paths a normal stop takes:

- the ASGI lifespan `shutdown` event (`Lifespan`, around the application in
  project/asgi.py): uvicorn sends it after its graceful shutdown has
  answered and closed every connection. uvicorn then re-raises the SIGTERM
  it caught with the default handler, so the process dies by the signal and
  `atexit` never runs there;
- `atexit`: daphne speaks no lifespan; on SIGTERM Twisted stops the reactor
  (after daphne's own `before shutdown` trigger has cancelled what was still
  running), `daphne` returns and Python exits normally, running `atexit`
  after the worker threads are joined. So does `manage.py` and any normal exit.

A SIGKILL runs neither: what a callback would have written is lost.
"""

import atexit
import logging
import threading
from collections.abc import Callable

from django.conf import settings

logger = logging.getLogger(__name__)

_callbacks: list[Callable[[], object]] = []
_lock = threading.Lock()
_ran = False


def on_stop(callback: Callable[[], object]) -> None:
    """Run `callback` (no arguments) once when this process stops normally."""
    with _lock:
        if callback not in _callbacks:
            _callbacks.append(callback)


def stop_callbacks_run(timeout: float | None = None) -> bool:
    """Run the registered callbacks once, in a thread, for at most `timeout`
    seconds (default `STOP_CALLBACKS_SECONDS`); return whether they finished.
    Later calls (the `atexit` after a lifespan shutdown) do nothing."""
    global _ran
    with _lock:
        if _ran:
            return True
        _ran = True
        callbacks = list(_callbacks)
    if not callbacks:
        return True
    if timeout is None:
        timeout = settings.STOP_CALLBACKS_SECONDS

    def run_all() -> None:
        for callback in callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001 - one failing callback must not skip the others
                logger.warning("stopping: %s failed", getattr(callback, "__qualname__", callback), exc_info=True)

    # A daemon thread: if the bound passes, the process exits without it.
    worker = threading.Thread(target=run_all, name="pan-stop-callbacks", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        logger.warning("stopping: the stop callbacks did not finish within %ss; stopping without them", timeout)
        return False
    return True


atexit.register(stop_callbacks_run)


class Lifespan:
    """ASGI middleware that answers the lifespan protocol (which Django and
    Channels do not speak) and runs the stop callbacks on `shutdown`; every
    other scope goes to `app`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "lifespan":
            return await self.app(scope, receive, send)
        import asyncio

        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, stop_callbacks_run)
                await send({"type": "lifespan.shutdown.complete"})
                return
