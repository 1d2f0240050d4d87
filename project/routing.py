"""WebSocket routes (Channels). Consumers live in project/consumers.py."""

from django.urls import path

from project.consumers import EchoConsumer, daphne_closes_over_size_messages

daphne_closes_over_size_messages()

websocket_urlpatterns = [
    path("ws/echo/", EchoConsumer.as_asgi()),
]
