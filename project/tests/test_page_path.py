"""A page's way through the ASGI app: one thread hand-off, and that is its view.

Django runs each hook of a `MiddlewareMixin` middleware in a thread under
ASGI; project/lib/native.py keeps the standard middleware in the event
loop. Counted here by wrapping asgiref's `SyncToAsync.__call__` while the
real application (project.asgi) answers one request.
"""

import contextlib
import re

import httpx
import pytest
from asgiref import sync
from asgiref.sync import async_to_sync
from django.test import override_settings

from pan.tests.conftest import post_upload
from project.asgi import application
from project.lib.optional_cache import cache_is_local as default_cache_is_local
from project.ratelimit import cache_is_local

# The static file below is served from STATIC_ROOT, collected by the fixture.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("collected_static")]

# Django's ASGI handler takes two of its own around every request, whatever
# the middleware: the sync receivers of `request_started` (`sync_send`) and
# the response's `close` (which sends `request_finished`, returning the
# database connection). They are not counted.
HANDLER_HAND_OFFS = {"sync_send", "close"}


@contextlib.contextmanager
def hand_offs():
    """The names of the functions sent to a thread while the block runs."""
    names: list[str] = []
    original = sync.SyncToAsync.__call__

    def counting(self, *args, **kwargs):
        names.append(getattr(self.func, "__name__", repr(self.func)))
        return original(self, *args, **kwargs)

    sync.SyncToAsync.__call__ = counting
    try:
        yield names
    finally:
        sync.SyncToAsync.__call__ = original


def asgi(method, path, cookies=None, **kwargs):
    if cookies:
        kwargs["headers"] = {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}

    async def fetch():
        transport = httpx.ASGITransport(app=application, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.request(method, path, **kwargs)

    return async_to_sync(fetch)()


def page_hand_offs(path) -> tuple[httpx.Response, list[str]]:
    """The hand-offs of one GET, besides the handler's own and, with Redis,
    the rate limiter's round trip to it (network I/O leaves the event loop;
    on the embedded default the counter is a dict, counted in the loop; an
    async Redis client would take that hand-off away: not done)."""
    asgi("GET", path)  # first use: lazy imports and caches
    with hand_offs() as names:
        response = asgi("GET", path)
    # One round trip at most, where a rule applies (none does to static files).
    assert names.count("rate_limit_hit") <= (0 if cache_is_local() else 1), names
    return response, [name for name in names if name not in HANDLER_HAND_OFFS and name != "rate_limit_hit"]


@pytest.fixture
def uploader(api_as, django_user_model):
    # A superuser: a transactional test's flush also removes the seeded roles.
    return api_as(django_user_model.objects.create_superuser("page-owner", password="Page-Owner-Password-1"))


@pytest.fixture
def share_page(uploader):
    response = post_upload(uploader, filename="notes.txt", data=b"hello")
    assert response.status_code == 201, response.content
    created = response.json()
    return f"/f/{created['unique_name']}/"


def test_the_share_page_takes_one_thread_hand_off_its_view(share_page):
    with override_settings(SHARE_PAGE_FAST_PATH=False):  # Django answers, from the cache
        response, names = page_hand_offs(share_page)
    assert response.status_code == 200
    assert 'name="code"' in response.text  # the page itself: locked, it asks for the code
    assert names == ["file_page"], names


def test_a_kept_share_page_takes_none_on_the_embedded_default(share_page):
    """Answered in front of Django (project/fast_path.py): a dict read in the
    event loop; with Redis, one hand-off for both of its reads."""
    response, names = page_hand_offs(share_page)
    assert response.status_code == 200
    assert 'name="code"' in response.text
    assert names == ([] if default_cache_is_local() else ["kept_parts"]), names


def test_the_home_page_and_a_static_file_take_one_each():
    response, names = page_hand_offs("/")
    assert response.status_code == 200
    assert len(names) == 1, names
    response, names = page_hand_offs("/static/css/site.css")
    assert response.status_code == 200
    assert names == ["serve_whole"], names
    assert response.headers["content-type"].startswith("text/css")
    assert ":root" in response.text  # the stylesheet itself (httpx undoes WhiteNoise's compression)
    assert int(response.headers["content-length"]) > 0


STANDARD = [
    "project.middleware.TimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


def test_django_s_own_middleware_would_take_many(share_page, settings):
    """What the count above guards against: the same stack from Django's own classes."""
    with override_settings(MIDDLEWARE=STANDARD):
        from django.core.asgi import get_asgi_application

        standard = get_asgi_application()

        async def fetch():
            transport = httpx.ASGITransport(app=standard, client=("203.0.113.9", 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                return await client.get(share_page)

        async_to_sync(fetch)()
        with hand_offs() as names:
            response = async_to_sync(fetch)()
    assert response.status_code == 200
    assert len([name for name in names if name not in HANDLER_HAND_OFFS]) >= 10


@pytest.fixture
def coded_share(uploader):
    created = post_upload(uploader, filename="notes.txt", data=b"hello").json()
    return f"/f/{created['unique_name']}/", created["share_code"]


def test_a_code_posted_unlocks_the_session_the_view_changed(coded_share):
    """The CSRF check of a POST runs (in a thread) and passes with the page's
    token; the session the view changed is saved (in a thread), so the next
    page of that session is unlocked."""
    path, code = coded_share
    page = asgi("GET", path)
    assert "data-unlocked" not in page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    cookies = {"csrftoken": page.cookies["csrftoken"]}
    with hand_offs() as names:
        posted = asgi("POST", path, data={"code": code, "csrfmiddlewaretoken": token}, cookies=cookies)
    assert posted.status_code == 302, posted.text
    assert {"process_view", "file_page", "process_response"} <= set(names), names
    session = posted.cookies["sessionid"]
    unlocked = asgi("GET", path, cookies={"sessionid": session})
    assert "data-unlocked" in unlocked.text


def test_a_post_without_its_csrf_token_is_refused(coded_share):
    path, code = coded_share
    response = asgi("POST", path, data={"code": code})
    assert response.status_code == 403
    assert "sessionid" not in response.cookies
