"""The share page from the cache (issue 26, SPEC §9).

Most visits of a share page come from people who have not opened it yet:
no session, so the page is the locked one (SPEC §4.3: the share exists,
its public title, the code form). That page is the same for every such
visitor of a share in a language, so it is rendered once and kept in
Django's cache; a cached visit runs no query and no template.

What is kept, and for whom:

- Only the page a visitor **without a session** sees (no session cookie,
  no messages cookie): such a visitor is anonymous and has unlocked
  nothing, so the page can hold nothing but what the locked page shows.
  Anyone with a session (signed in, or who unlocked a share, or who was
  sent a message) gets the page rendered for them, as before.
- Only a `GET`/`HEAD` without `?code=` (the code echoed into the form is
  the visitor's own), and only while the share is active or still
  uploading: a gone share's page (404/410) is never kept.
- Per share **version**, language, path and login setting. The version is
  a random token under its own key; every service that changes what the
  kept page shows or whether it may be shown (`share_page_changed`:
  completion of an upload, an edit, revoke, delete, the download that
  uses a share up) deletes it once its transaction commits, so the next
  visit renders afresh. Expiry needs no call: an entry carries the
  share's expiry and is not used once it has passed, and it is kept no
  longer than until then.

The CSRF token is the one per-visitor part: the page is kept rendered
with a random marker where its forms' tokens go, and each visit puts in
its own (`get_token`, which also sets the cookie as the tag would).

Most kept visits never reach Django at all: the fast path in front of it
(project/fast_path.py) reads the same entry (`kept_parts`) and answers
with the headers and CSRF cookie Django would send; it leaves to Django
what this module would not serve either.

With the embedded default the cache is local memory, one per process:
a change made by another process (a management command, a task worker)
reaches a page kept by the server only when the entry lapses
(`PAN_SHARE_PAGE_CACHE_SECONDS`, 5 minutes by default). That page still
shows only a title and a form: unlocking and every download ask the
database. With Redis every process sees the same versions.
"""

import secrets
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone, translation

from project.lib.optional_cache import optional_cache

_VERSION = "pan:share-page:version:{unique_name}"
_PAGE = "pan:share-page:{version}:{language}:{login}:{path}"
# A share's version outlives its pages; a lost version only means a fresh render.
_VERSION_SECONDS = 24 * 3600


def _version_key(unique_name: str) -> str:
    return _VERSION.format(unique_name=unique_name)


def share_page_changed(*, unique_name: str) -> None:
    """A share's kept page no longer stands: the next visit renders it
    again. After the transaction commits, so that no visit can keep the
    page as it was between this call and the commit."""
    transaction.on_commit(lambda: optional_cache.delete(_version_key(unique_name)))


def keepable(request) -> bool:
    """Is this the visit of someone without a session, for the page as everyone sees it?"""
    if settings.PAN_SHARE_PAGE_CACHE_SECONDS <= 0 or request.method not in ("GET", "HEAD"):
        return False
    if "code" in request.GET:
        return False
    cookies = request.COOKIES
    return settings.SESSION_COOKIE_NAME not in cookies and "messages" not in cookies


def _version(unique_name: str) -> str:
    key = _version_key(unique_name)
    version = optional_cache.get(key)
    if version is None:
        version = secrets.token_hex(8)
        if optional_cache.add(key, version, _VERSION_SECONDS) is False:
            version = optional_cache.get(key) or version
    return version


def _page_key(*, version: str, language: str, path: str) -> str:
    return _PAGE.format(version=version, language=language, login=int(settings.PAN_DOWNLOAD_REQUIRES_LOGIN), path=path)


def page_key(request, *, unique_name: str) -> str:
    """Where this visit's page is kept. Read before the share is: a change
    committed after this read finds the page under a version no visit
    asks for again, never under the new one."""
    return _page_key(version=_version(unique_name), language=translation.get_language(), path=request.path)


def _live_parts(entry) -> list[str] | None:
    if not isinstance(entry, dict):
        return None
    expires_at = entry.get("expires_at")
    if expires_at is not None and expires_at <= timezone.now():
        return None  # the share has expired since: its page is a 410 now
    return entry["parts"]


def kept_parts(*, unique_name: str, language: str, path: str) -> list[str] | None:
    """The kept page of a share for a visitor without a session, split where
    the CSRF tokens go; None when nothing is kept (Django renders it then).
    Without Django's request: the fast path in front of it (project/fast_path.py)
    asks this. It never makes a version: only a render keeps a page."""
    version = optional_cache.get(_version_key(unique_name))
    if version is None:
        return None
    return _live_parts(optional_cache.get(_page_key(version=version, language=language, path=path)))


def _serve(request, parts: list[str]) -> HttpResponse:
    return HttpResponse(get_token(request).join(parts), content_type="text/html; charset=utf-8")


def cached_page(request, key: str) -> HttpResponse | None:
    """The kept page for this visit, or None (render it, then `keep_page`)."""
    parts = _live_parts(optional_cache.get(key))
    return None if parts is None else _serve(request, parts)


def csrf_marker() -> str:
    """Where the forms' CSRF tokens go in a page about to be kept (random, so no title can hold it)."""
    return f"csrf-{secrets.token_hex(16)}"


def keep_page(request, key: str, *, html: str, marker: str, expires_at: datetime | None) -> HttpResponse:
    """Keep a page rendered with `marker` for its CSRF tokens; answer this visit with it."""
    parts = html.split(marker)
    seconds = settings.PAN_SHARE_PAGE_CACHE_SECONDS
    if expires_at is not None:
        seconds = min(seconds, (expires_at - timezone.now()).total_seconds())
    if seconds >= 1:
        optional_cache.set(key, {"parts": parts, "expires_at": expires_at}, int(seconds))
    return _serve(request, parts)
