import pytest
from rest_framework.test import APIClient

EN = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}


def shorten(client: APIClient, url, **extra):
    """POST /api/short; `extra` goes into the JSON body."""
    return client.post("/api/short", {"url": url, **extra}, format="json", **EN)


@pytest.fixture
def link_of(api_as):
    """link_of(user, url, **options) -> the created link's JSON body (asserts success)."""

    def make(user, url="https://example.com/landing", **options):
        client = api_as(user) if user is not None else APIClient()
        response = shorten(client, url, **options)
        assert response.status_code in (200, 201), response.content
        return response.json()

    return make
