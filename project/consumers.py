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

    # No channel layer: the echo talks only to its own client. With the
    # default alias every connection would open a channel on Redis and wait
    # on it, and with Redis down the echo would close with 1011 (SPEC §7, §8).
    channel_layer_alias = None

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
