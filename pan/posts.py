"""Posts and videos: cached post fragments, video metadata, invalidation.

A post page is the site layout (per user: the nav shows who is logged in)
around the post's own fragment (title, body, video link). Only the fragment
is cached — per post and language — so nothing of one user's page reaches
another's. Any change to a post or its video clears that post's entries.
"""

import mimetypes

from django.conf import settings
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils.translation import get_language

from project.lib.optional_cache import optional_cache

from .models import Post, Video


def _fragment_key(post_id: int, language: str) -> str:
    return f"post-fragment:{post_id}:{language}"


def post_fragment(*, post_id: int) -> dict | None:
    """The rendered fragment of a published post, or None (unknown or unpublished).

    Served from the cache (django-redis when configured); built and stored
    on a miss. Misses are not cached, so a post published later shows at once.
    With the cache unreachable every read is a miss (built from the database).
    """
    key = _fragment_key(post_id, get_language())
    fragment = optional_cache.get(key)
    if fragment is not None:
        return fragment
    post = Post.objects.select_related("video").filter(pk=post_id, published=True).first()
    if post is None:
        return None
    fragment = {"title": post.title, "html": render_to_string("pan/_post_fragment.html", {"post": post})}
    optional_cache.set(key, fragment, settings.POST_CACHE_SECONDS)
    return fragment


def post_cache_clear(*, post_ids) -> None:
    """Drop the cached fragments of these posts, in every language."""
    keys = [_fragment_key(pk, code) for pk in post_ids for code, _name in settings.LANGUAGES]
    if keys:
        optional_cache.delete_many(keys)


def video_describe(*, video: Video) -> None:
    """Fill a video's size and content type from its stored file (before save)."""
    if not video.file:
        return
    video.size = video.file.size
    uploaded_type = getattr(getattr(video.file, "file", None), "content_type", "") or ""
    guessed, _encoding = mimetypes.guess_type(getattr(video.file.file, "name", "") or "")
    video.content_type = video.content_type or uploaded_type or guessed or "application/octet-stream"


# Admin edits are plain model saves: the signals keep the cache honest for
# every way a post or video changes.


@receiver(post_save, sender=Post)
@receiver(post_delete, sender=Post)
def _post_changed(sender, instance, **kwargs):
    post_cache_clear(post_ids=[instance.pk])


@receiver(post_save, sender=Video)
def _video_changed(sender, instance, **kwargs):
    post_cache_clear(post_ids=list(instance.posts.values_list("pk", flat=True)))


@receiver(pre_delete, sender=Video)
def _video_deleting(sender, instance, **kwargs):
    # SET_NULL updates the posts without signals: clear them while we can find them.
    post_cache_clear(post_ids=list(instance.posts.values_list("pk", flat=True)))


@receiver(post_delete, sender=Video)
def _video_deleted(sender, instance, **kwargs):
    if instance.file:
        instance.file.delete(save=False)
