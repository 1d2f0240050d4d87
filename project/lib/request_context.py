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

So a path answered outside Django's handler (the short-link redirect's
fast path) runs in `outside_request_lifecycle`: its sync work goes to one
long-lived thread of its own, named explicitly (a `ThreadSensitiveContext`
with that executor, which ignores whatever context the request inherited),
and that thread's connections are closed (given back to the pool) before
the response is sent, as `request_finished` closes a view's. One thread
kept for the purpose costs no thread start per request: a fresh
`ThreadSensitiveContext` per redirect (a new thread each, and Django's
request signals) halved the redirect's rate (docs/performance.md).
`project.serve` also passes uvicorn's `--reset-contextvars`, so a request
does not inherit another's context variables in the first place.
"""

from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.db import close_old_connections

# One thread for all sync work done outside Django's handler in this process.
_OUTSIDE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pan-outside-request")


@asynccontextmanager
async def outside_request_lifecycle():
    """Run the block's sync work (`sync_to_async`, the async ORM) in this
    process's one thread for work outside Django's handler, never in a
    thread an inherited context names, and give that thread's database
    connections back when the block ends, even on errors."""
    async with ThreadSensitiveContext(executor=_OUTSIDE_THREAD):
        try:
            yield
        finally:
            await sync_to_async(close_old_connections)()
