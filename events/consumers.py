"""`/ws/events/`: a signed-in page's live events (SPEC §4.7).

The browser session identifies the page (Channels' AuthMiddlewareStack reads
it). A signed-in user's connection joins their user's group: their
downloads, drops and uploads. Any page may also follow shares by sending
`{"follow": "<share id>"}`: allowed for whoever may see the share's details
(its owner and managers, a session that unlocked it with its code and
password, a signed-in account on a listed share). That rule is `pan`'s
(`pan.access.share_follow_group`, registered into `FOLLOW_CHECKS` from
pan/apps.py): this app knows no share. Followers receive the share's progress only (items, size,
complete), never its downloads, and leave when the code or password
changes or the share is revoked (`pan.unfollow`). Anything else sent is
ignored; a follow that is not allowed is ignored too, so the answer tells
nothing about which shares exist.
"""

import contextlib
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from redis.exceptions import RedisError

from .services import FOLLOW_CHECKS, layer_unreachable, user_group

MAX_FOLLOWED = 20
# RFC 6455 §7.4.1 (IANA registry): "Try Again Later".
CLOSE_TRY_AGAIN_LATER = 1013


class EventsConsumer(AsyncWebsocketConsumer):
    # An API key in the handshake's `Authorization` (docs/api-keys.md).
    api_key_scopes = {"GET": "shares:read"}

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
        self.followed: dict[str, str] = {}  # share id -> its followers' group
        self.group = user_group(user.pk) if user is not None and user.is_authenticated else None
        if self.group is not None:
            await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if getattr(self, "group", None) is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        for group in getattr(self, "followed", {}).values():
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        unique_name = message.get("follow") if isinstance(message, dict) else None
        if not isinstance(unique_name, str) or len(self.followed) >= MAX_FOLLOWED:
            return
        group = await self._group_to_follow(unique_name[:32])
        if group is not None:
            self.followed[unique_name] = group
            await self.channel_layer.group_add(group, self.channel_name)
            await self.send(text_data=json.dumps({"type": "following", "share": unique_name}))

    @database_sync_to_async
    def _group_to_follow(self, unique_name: str) -> str | None:
        """The followers' group of what `unique_name` names, if this connection may follow it; else None."""
        user, session = self.scope.get("user"), self.scope.get("session")
        for check in FOLLOW_CHECKS:
            group = check(unique_name=unique_name, user=user, session=session)
            if group is not None:
                return group
        return None

    async def pan_unfollow(self, message):
        """The share's code or password changed, or it was revoked: stop following it."""
        group = message.get("group")
        for unique_name, followed in list(self.followed.items()):
            if followed == group:
                del self.followed[unique_name]
                await self.channel_layer.group_discard(group, self.channel_name)

    async def pan_event(self, message):
        await self.send(text_data=json.dumps(message["event"]))
