"""The admin speaks the page's language and carries the site's name (SPEC §6)."""

import pytest
from django.test import Client

from conftest import PASSWORD

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def admin_index(headers) -> str:
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    response = client.get("/admin/", **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_the_admin_header_is_branded_and_translated(alice, settings):
    english, chinese = admin_index(EN), admin_index(ZH)
    assert f"{settings.SITE_NAME} administration" in english and "Django administration" not in english
    assert f"{settings.SITE_NAME} 管理" in chinese and "Django" not in chinese.split("<body")[1].split("</header>")[0]
    assert "令牌黑名单" in chinese and "已签发的令牌" in chinese and "Token Blacklist" not in chinese


def test_role_column_is_translated(alice):
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    page = client.get("/admin/accounts/user/", **ZH).content.decode()
    assert ">角色<" in page or "角色</a>" in page
