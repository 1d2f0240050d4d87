"""An ASGI site for the fast path's tests: FastPath in front of Django, noting what reached Django.

project/tests/test_fast_path_page.py and test_fast_path_create.py send the
same request with the fast path on and off and compare the answers.
"""

from http.cookies import SimpleCookie

import httpx
from asgiref.sync import async_to_sync
from django.core.asgi import get_asgi_application

from project.fast_path import FastPath

# Values that differ between any two answers by nature (the time each took,
# the clock, how much of the rate limit is left): presence compared, not values.
VALUES_DIFFER = {"x-process-time", "server-timing", "date", "ratelimit-remaining", "ratelimit", "ratelimit-reset"}


def recording(inner, calls: list):
    """The app behind the fast path, noting each request that reached it."""

    async def app(scope, receive, send):
        calls.append(scope["path"])
        return await inner(scope, receive, send)

    return app


class Site:
    """The fast path in front of Django, built under the settings in force, and a note of what reached Django."""

    def __init__(self):
        self.behind: list[str] = []
        self.app = FastPath(recording(get_asgi_application(), self.behind))

    def request(self, method, path, *, headers=None, base_url="http://127.0.0.1", cookies=None, **body):
        """`body`: httpx's `data=`, `json=` or `content=`."""

        async def fetch():
            transport = httpx.ASGITransport(app=self.app, client=("203.0.113.7", 50123))
            async with httpx.AsyncClient(transport=transport, base_url=base_url, cookies=cookies) as client:
                return await client.request(method, path, headers=headers or {}, **body)

        return async_to_sync(fetch)()

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def answered_by_django(self, path, method="GET", **kwargs) -> httpx.Response:
        before = len(self.behind)
        response = self.request(method, path, **kwargs)
        assert self.behind[before:] == [path], "the fast path answered"
        return response

    def answered_fast(self, path, method="GET", **kwargs) -> httpx.Response:
        before = len(self.behind)
        response = self.request(method, path, **kwargs)
        assert self.behind[before:] == [], "the fast path declined"
        return response


def header_map(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in response.headers.multi_items():
        name = name.lower()
        if name in VALUES_DIFFER:
            value = "…"
        elif name == "set-cookie":
            value = cookie_shape(value)
        found.setdefault(name, []).append(value)
    return {name: sorted(values) for name, values in found.items()}


def cookie_shape(header: str) -> str:
    """A Set-Cookie's name and attributes; its value and expiry differ between any two answers."""
    (morsel,) = SimpleCookie(header).values()
    attributes = sorted(f"{key}={value}" for key, value in morsel.items() if value and key != "expires")
    return f"{morsel.key}; {'; '.join(attributes)}; expires={'yes' if morsel['expires'] else 'no'}"
