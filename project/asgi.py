"""ASGI entry point: HTTP to Django, WebSocket to Channels. Served by daphne."""

import os

from django.core.asgi import get_asgi_application

from project.lib.memory import release_large_allocations

# Argon2's 19 MiB blocks would otherwise stay with the process (see module).
release_large_allocations()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

# Django must be set up before anything imports models (consumers, routing).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from pan.asgi import UploadSizeGuard  # noqa: E402
from project.lib import daphne_fixes  # noqa: E402
from project.routing import websocket_urlpatterns  # noqa: E402
from shortener.asgi import ShortLinkFastPath  # noqa: E402

# Without these, daphne holds big uploads and downloads in memory whole and
# drops over-size WebSocket messages without a close code (see the module).
daphne_fixes.apply_all()

application = ProtocolTypeRouter(
    {
        # Successful short-link redirects are answered before Django's
        # middleware (shortener/asgi.py); oversized uploads are refused
        # before Django spools their body (pan/asgi.py).
        "http": ShortLinkFastPath(UploadSizeGuard(django_asgi_app)),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
