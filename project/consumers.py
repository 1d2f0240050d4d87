"""WebSocket consumers (Channels). Routes: project/routing.py."""

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
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

    async def __call__(self, scope, receive, send):
        """Channels' consumer with its message loop written out for one source.

        With no channel layer Channels still waits on a set of tasks per
        message (`await_many_dispatch`), and its `dispatch` sends every
        message through a thread hand-off to close stale database
        connections; the echo has one source and no database. Handlers,
        `accept`, `close` and `StopConsumer` work as in any consumer.
        """
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

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
