"""Operator endpoints that look like unknown paths to everyone else.

`/server-status` and `/metrics` answer only a caller who proves they may
ask; anyone else, with any method, gets exactly what an unknown path
answers (the site's 404, same headers), so the endpoint cannot be told
apart from one that does not exist.
"""

from collections.abc import Callable
from functools import wraps

from asgiref.sync import sync_to_async
from django.views.decorators.csrf import csrf_exempt

from project.lib.error_pages import unknown_path_page


def unknown_path_unless(authorised: Callable) -> Callable:
    """Decorate an async GET view: it runs only for GET/HEAD requests for
    which `authorised(request)` is true; everything else gets the 404 of
    an unknown path."""

    def decorate(view):
        # Exempt from CSRF so that a POST, PUT or DELETE reaches the 404, as
        # it would on an unknown path, instead of the CSRF failure page (a
        # 403 that would tell the path exists). The views change nothing.
        @csrf_exempt
        @wraps(view)
        async def hidden(request, *args, **kwargs):
            # Any other method is a 404 too: a 405 would tell that the path exists.
            if request.method not in ("GET", "HEAD") or not authorised(request):
                return await sync_to_async(unknown_path_page)(request)
            return await view(request, *args, **kwargs)

        return hidden

    return decorate
