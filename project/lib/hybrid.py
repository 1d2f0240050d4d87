"""A base for middleware that is sync- and async-capable without thread hand-offs.

Django's `MiddlewareMixin` runs a sync hook of an async stack in a thread;
a plain class with its own `__acall__` adds none. Subclasses say what they
do around the rest of the stack (`around`, a context manager) and to the
response (`after`), or replace `handle` and `__acall__` outright (the
timing, rate-limit and database middleware of project/middleware.py); this
class does the dispatching once.
"""

import contextlib

from asgiref.sync import iscoroutinefunction, markcoroutinefunction


class HybridMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def around(self, request):
        """Entered before the rest of the stack runs, left after (even on an exception)."""
        return contextlib.nullcontext()

    def after(self, request, response):
        """The response on its way out (change it in place)."""

    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        return self.handle(request)

    def handle(self, request):
        """The sync path (a subclass may replace it and `__acall__` together)."""
        with self.around(request):
            response = self.get_response(request)
        self.after(request, response)
        return response

    async def __acall__(self, request):
        with self.around(request):
            response = await self.get_response(request)
        self.after(request, response)
        return response
