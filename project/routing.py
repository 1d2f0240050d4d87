"""WebSocket routes (Channels). Consumers live in project/consumers.py."""

websocket_urlpatterns = []
