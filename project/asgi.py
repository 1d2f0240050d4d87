"""ASGI entry point: HTTP to Django, WebSocket to Channels. Served by daphne."""

import gc
import os

import django

from project.lib.memory import release_large_allocations

# Argon2's 19 MiB blocks would otherwise stay with the process (see module).
release_large_allocations()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

# Django must be set up before anything imports models (consumers, routing).
# (What django.core.asgi.get_asgi_application does, with Pan's handler: see
# project/lib/streaming.py, ASGIHandler.)
django.setup(set_prefix=False)

from project.lib.streaming import ASGIHandler  # noqa: E402

django_asgi_app = ASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from project.fast_path import FastPath  # noqa: E402
from project.lib import daphne_fixes  # noqa: E402
from project.lib.bodies import BodySizeGuard  # noqa: E402
from project.lib.stopping import Lifespan  # noqa: E402
from project.routing import api_key_handshakes, origin_checked, websocket_urlpatterns  # noqa: E402
from uploads.asgi import TusBodies  # noqa: E402

# Without these, daphne stores whole uploads before Pan sees them, holds big
# downloads in memory and drops over-size WebSocket messages without a close
# code (see the module).
daphne_fixes.apply_all()

# The lifespan protocol (uvicorn's graceful shutdown) runs what a stopping
# process must still write, such as buffered link statistics
# (project/lib/stopping.py; under daphne, which has no lifespan, atexit does).
application = Lifespan(
    ProtocolTypeRouter(
        {
            # Successful short-link redirects and kept share pages are answered
            # before Django's middleware (project/fast_path.py); bodies over their limit are
            # refused before Django spools them (project/lib/bodies.py), under
            # daphne too (it streams bodies to the application, see daphne_fixes).
            # tus bodies go to their views as a stream instead (uploads/asgi.py).
            "http": FastPath(TusBodies(django_asgi_app, others=BodySizeGuard(django_asgi_app))),
            # Channels' canonical wiring, with an origin check that lets clients
            # without `Origin` in (project/routing.py); unknown paths end in a
            # catch-all route that refuses them. An API key in `Authorization`
            # replaces the session's user where the consumer allows it.
            "websocket": origin_checked(AuthMiddlewareStack(api_key_handshakes(URLRouter(websocket_urlpatterns)))),
        }
    )
)

# What starting made (Django's apps, models, URL patterns, settings,
# translations: a few hundred thousand objects) lives as long as the
# process. Left to the cyclic collector, every full collection walked all
# of it: a pause of some 100 ms every few thousand requests, the share
# page's p99 on daphne (docs/performance.md). Frozen, collections walk
# only what requests make.
gc.collect()
gc.freeze()
