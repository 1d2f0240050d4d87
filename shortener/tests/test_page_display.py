"""The /short/ page shows targets as people read them: decoded IRIs, not
percent-encoding or punycode, cut with an ellipsis in the list."""

import pytest
from django.test import Client

from accounts.models import User
from shortener.models import ShortLink

from .conftest import EN

pytestmark = pytest.mark.django_db


def test_targets_are_shown_decoded_and_the_stored_url_stays_encoded(make_user):
    user: User = make_user("reader")
    client = Client()
    client.force_login(user)
    response = client.post("/short/", {"url": "https://例子.example/很长的路径?q=中文"}, **EN)
    assert response.status_code == 200
    link = ShortLink.objects.get()
    assert "%E5%BE%88" in link.target_url and "xn--" in link.target_url  # what the redirect uses
    html = response.content.decode()
    assert 'class="short-target" title="https://例子.example/很长的路径?q=中文"' in html
    assert 'data-label="Goes to"' in html  # the phone layout's card labels
    assert "%E5%BE%88" not in html
