"""The default rules cover the page forms as well as their API twins."""

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path,body", [("/register/", {"username": "x"}), ("/short/", {"url": "javascript:1"})])
def test_page_forms_are_limited_like_their_api(path, body):
    limit, _window = settings.RATE_LIMITS[path]
    client = Client()
    statuses = [client.post(path, body).status_code for _ in range(limit + 1)]
    assert statuses[:limit] == [400] * limit
    assert statuses[-1] == 429


def test_short_link_redirects_stay_exempt():
    response = Client().get("/short/NoSuchKy")
    assert response.status_code == 404
    assert "RateLimit-Limit" not in response
