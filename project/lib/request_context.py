"""A request answered outside Django's handler gives back what it took.

Django ties a request's sync work to one thread through asgiref's
`ThreadSensitiveContext`, a context variable its ASGI handler sets for the
request; database connections are per thread, and `request_finished`
closes (or gives back to the pool) the connections of that thread.

uvicorn starts the next request of a pipelined keep-alive connection from
inside the previous request's task (`on_response_complete`, called by the
last `send`), so that request's task copies the previous one's context
variables, `ThreadSensitiveContext` included (CPython issue 140947; uvicorn
0.54 has an opt-in `--reset-contextvars`). A `sync_to_async` under that
stale, already exited context gets a fresh executor thread that nothing
ever finishes. A Django view's connections are still closed by
`request_finished`; the redirect's fast path, answered before Django's
handler and without its signals, left its query's pooled connection
checked out for good: a browser's keep-alive traffic (redirect, page,
download on one connection) took every worker's pool in about twenty
rounds (issue 20, R5).

So every path answered outside Django's handler (the short-link redirect's
fast path) runs inside the same lifecycle as a Django view,
`request_lifecycle`: a `ThreadSensitiveContext` and the `request_started`
and `request_finished` signals, which close the thread's connections (or
give them back to the pool) whatever context the request inherited.
`project.serve` also passes uvicorn's `--reset-contextvars`, so a request
does not inherit another's context variables in the first place.
"""

from contextlib import asynccontextmanager

from asgiref.sync import ThreadSensitiveContext
from django.core import signals
from django.core.handlers.asgi import ASGIHandler


@asynccontextmanager
async def request_lifecycle(scope):
    """What Django's ASGI handler does around a request: a thread of its
    own for sync work, `request_started` before, `request_finished` after
    (which gives the thread's database connections back), even on errors
    and cancellation."""
    async with ThreadSensitiveContext():
        await signals.request_started.asend(sender=ASGIHandler, scope=scope)
        try:
            yield
        finally:
            await signals.request_finished.asend(sender=ASGIHandler)
