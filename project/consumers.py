"""WebSocket consumers (Channels). Routes: project/routing.py."""

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

# RFC 6455 §7.4.1: "a message that is too big for it to process".
CLOSE_MESSAGE_TOO_BIG = 1009


class EchoConsumer(AsyncWebsocketConsumer):
    """Sends every message straight back: text as text, binary as binary, in order.

    A message over WS_ECHO_MAX_MESSAGE_BYTES (text counted in UTF-8 bytes)
    closes the connection with 1009 instead of being echoed.
    """

    async def connect(self):
        self.max_bytes = settings.WS_ECHO_MAX_MESSAGE_BYTES
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is not None:
            # A str of n characters is at most 4n UTF-8 bytes: encode only when that could matter.
            if len(text_data) * 4 > self.max_bytes and len(text_data.encode()) > self.max_bytes:
                await self.close(code=CLOSE_MESSAGE_TOO_BIG)
                return
            await self.send(text_data=text_data)
        elif bytes_data is not None:
            if len(bytes_data) > self.max_bytes:
                await self.close(code=CLOSE_MESSAGE_TOO_BIG)
                return
            await self.send(bytes_data=bytes_data)


def daphne_closes_over_size_messages() -> None:
    """Make daphne answer an over-size message with a 1009 close frame.

    daphne refuses messages over its own `--websocket_max_message_size`
    (1 MiB by default, the same as WS_ECHO_MAX_MESSAGE_BYTES) before they
    reach the consumer, but autobahn's default `failByDrop` then drops the
    TCP connection without a close frame, and clients see an abnormal
    closure (1006). With `failByDrop=False` autobahn sends 1009 "message
    too big" first (RFC 6455 §7.1.7 allows either). daphne imports the
    application before it builds its WebSocket factory, so patching here,
    on import of the routes, is early enough. Other ASGI servers are
    untouched: the consumer's own check answers 1009 there.
    """
    try:
        from daphne.ws_protocol import WebSocketFactory
    except ImportError:  # pragma: no cover - daphne is pinned in requirements.txt
        return
    original = WebSocketFactory.setProtocolOptions
    if getattr(original, "pan_close_not_drop", False):
        return

    def set_protocol_options(self, *args, **kwargs):
        kwargs.setdefault("failByDrop", False)
        return original(self, *args, **kwargs)

    set_protocol_options.pan_close_not_drop = True
    WebSocketFactory.setProtocolOptions = set_protocol_options
