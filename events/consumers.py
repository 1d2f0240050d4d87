"""`/ws/events/`: a signed-in page's live events (SPEC §4.7).

The browser session identifies the page (Channels' AuthMiddlewareStack reads
it). A signed-in user's connection joins their user's group: their
downloads, drops and uploads. Any page may also follow shares by sending
`{"follow": "<share id>"}`: allowed for the share's owner and managers, and
for a session that has passed the share's code (a recipient, who needs no
account, on the page of a share still being filled). Anything else sent is
ignored; a follow that is not allowed is ignored too, so the answer tells
nothing about which shares exist.
"""

import contextlib
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from redis.exceptions import RedisError

from .services import layer_unreachable, share_group, user_group

MAX_FOLLOWED = 20
# RFC 6455 §7.4.1 (IANA registry): "Try Again Later".
CLOSE_TRY_AGAIN_LATER = 1013


class EventsConsumer(AsyncWebsocketConsumer):
    async def __call__(self, scope, receive, send):
        # With Redis unreachable, joining a group or waiting on the channel
        # fails: the page gets a closed socket (events.js retries later) and
        # the log one warning, never a traceback (SPEC §8).
        try:
            await super().__call__(scope, receive, send)
        except (OSError, RedisError) as exc:
            layer_unreachable(exc)
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})

    async def connect(self):
        user = self.scope.get("user")
        self.followed: set[str] = set()
        self.group = user_group(user.pk) if user is not None and user.is_authenticated else None
        if self.group is not None:
            await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if getattr(self, "group", None) is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        for unique_name in getattr(self, "followed", ()):
            await self.channel_layer.group_discard(share_group(unique_name), self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        unique_name = message.get("follow") if isinstance(message, dict) else None
        if not isinstance(unique_name, str) or len(self.followed) >= MAX_FOLLOWED:
            return
        if await self._may_follow(unique_name[:32]):
            self.followed.add(unique_name)
            await self.channel_layer.group_add(share_group(unique_name), self.channel_name)
            await self.send(text_data=json.dumps({"type": "following", "share": unique_name}))

    @database_sync_to_async
    def _may_follow(self, unique_name: str) -> bool:
        from pan.access import share_managed_by
        from pan.models import Share
        from pan.unlocks import session_code_passed

        share = Share.objects.filter(unique_name=unique_name).first()
        if share is None:
            return False
        session = self.scope.get("session")
        return share_managed_by(user=self.scope["user"], share=share) or (
            session is not None and session_code_passed(session, share)
        )

    async def pan_event(self, message):
        await self.send(text_data=json.dumps(message["event"]))
