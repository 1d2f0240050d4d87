"""ASGI entry point: HTTP to Django, WebSocket to Channels. Served by daphne."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

# Django must be set up before anything imports models (consumers, routing).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from pan.asgi import (  # noqa: E402
    UploadSizeGuard,
    daphne_body_from_disk,
    daphne_send_backpressure,
    daphne_without_form_parsing,
)
from project.routing import websocket_urlpatterns  # noqa: E402

# Under daphne, big uploads and downloads would otherwise sit in memory whole:
# Twisted parses multipart bodies it never uses, daphne queues an entire
# request body before the application reads any, and it buffers responses
# for slow clients without limit (see pan/asgi.py).
daphne_without_form_parsing()
daphne_body_from_disk()
daphne_send_backpressure()

application = ProtocolTypeRouter(
    {
        # Oversized uploads are refused before Django spools their body.
        "http": UploadSizeGuard(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
