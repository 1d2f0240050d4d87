"""The request being served, for `audit.services.audit_record` to read who and from where."""

import contextvars

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

# Context variables follow a request from the event loop into
# sync_to_async's threads, so a sync service called by an async view sees it.
_request: contextvars.ContextVar = contextvars.ContextVar("pan_audit_request", default=None)


def current_request():
    """The request being served in this context, or None (a command, the shell)."""
    return _request.get()


class AuditContextMiddleware:
    """After authentication, so the request's user is known to services."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)

    async def __acall__(self, request):
        token = _request.set(request)
        try:
            return await self.get_response(request)
        finally:
            _request.reset(token)
