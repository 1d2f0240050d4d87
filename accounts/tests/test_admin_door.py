"""Who gets through `/admin/` and what the others see (issue 19, item 4):
staff enter; a signed-in member gets Pan's 403 page in the site layout;
an anonymous visitor is sent to Pan's own login with ?next=."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_admins_still_enter_the_admin(alice):
    client = signed_in(alice)
    for path in ("/admin/", "/admin/accounts/user/", "/admin/dashboard/"):
        assert client.get(path).status_code == 200, path
    assert client.get("/admin/login/")["Location"] == "/admin/"


@pytest.mark.parametrize(("headers", "said"), [(EN, "for administrators"), (ZH, "仅供管理员使用")])
@pytest.mark.parametrize("path", ["/admin/", "/admin/accounts/user/", "/admin/dashboard/", "/admin/login/"])
def test_a_member_gets_the_sites_403_page(bob, dana, path, headers, said):
    for member in (bob, dana):  # a plain user, and an uploader without `manage`
        response = signed_in(member).get(path, **headers)
        assert response.status_code == 403
        html = response.content.decode()
        assert said in html
        assert 'class="site-header"' in html and 'data-reason="admin_only"' in html
        assert 'name="username"' not in html  # no admin login form asking for another account


@pytest.mark.parametrize("path", ["/admin/", "/admin/accounts/user/"])
def test_an_anonymous_visitor_goes_to_the_sites_login(path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_the_admin_login_address_leads_to_the_sites_login():
    assert Client().get("/admin/login/?next=/admin/auth/group/")["Location"] == "/login/?next=/admin/auth/group/"
    assert Client().get("/admin/login/")["Location"] == "/login/?next=/admin/"
