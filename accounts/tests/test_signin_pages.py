"""What the sign-in pages say around the form (issue 19, item 4): how long a
locked login lasts, that you are signed out, why a page sent you here."""

import pytest
from django.test import Client, override_settings

from conftest import PASSWORD

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@override_settings(LOGIN_FAILURE_LIMIT=2, LOGIN_FAILURE_WINDOW=600)
@pytest.mark.parametrize(
    ("headers", "wait"), [(EN, "You can try again in about 10 minutes."), (ZH, "大约 10 分钟后可以再试。")]
)
def test_a_locked_login_page_says_how_long_to_wait(bob, headers, wait):
    client = Client()
    for _ in range(2):
        client.post("/login/", {"username": "bob", "password": "wrong"}, **headers)
    response = client.post("/login/", {"username": "bob", "password": PASSWORD}, **headers)
    assert response.status_code == 429
    html = response.content.decode()
    assert f'data-retry-after="{response["Retry-After"]}"' in html
    assert wait in html


@pytest.mark.parametrize(("headers", "said"), [(EN, "You are signed out."), (ZH, "你已退出登录。")])
def test_logging_out_says_so_on_the_next_page(bob, headers, said):
    client = Client()
    client.force_login(bob)
    response = client.post("/logout/", follow=True, **headers)
    assert response.redirect_chain == [("/", 302)]
    assert said in response.content.decode()
    assert said not in client.get("/", **headers).content.decode()  # once


@pytest.mark.parametrize(("headers", "said"), [(EN, "Sign in to see that page."), (ZH, "请登录后查看该页面。")])
def test_a_page_that_sends_you_to_log_in_says_why(headers, said):
    response = Client().get("/welcome/", follow=True, **headers)
    assert response.redirect_chain == [("/login/?next=/welcome/", 302)]
    assert said in response.content.decode()
    assert said not in Client().get("/login/", **headers).content.decode()
