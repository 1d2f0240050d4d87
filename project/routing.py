"""WebSocket routes (Channels). Consumers live in project/consumers.py."""

from django.urls import path

from project.consumers import EchoConsumer

websocket_urlpatterns = [
    path("ws/echo/", EchoConsumer.as_asgi()),
]
