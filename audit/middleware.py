"""The request being served, for `audit.services.audit_record` to read who and from where."""

import contextlib
import contextvars

from project.lib.hybrid import HybridMiddleware

# Context variables follow a request from the event loop into
# sync_to_async's threads, so a sync service called by an async view sees it.
_request: contextvars.ContextVar = contextvars.ContextVar("pan_audit_request", default=None)


def current_request():
    """The request being served in this context, or None (a command, the shell)."""
    return _request.get()


@contextlib.contextmanager
def serving(request):
    """`request` is the one being served inside the block (this middleware,
    and the answers made in front of Django: project/fast_path.py)."""
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


class AuditContextMiddleware(HybridMiddleware):
    """After authentication, so the request's user is known to services."""

    def around(self, request):
        return serving(request)
