"""Roles in the pages (SPEC §3, §6): the nav and the pages offer only what
an account may do; an account without `upload` is told what it can do and
whom to ask. Personas: alice (admin), bob (users), charlie (no roles),
dana (uploaders only)."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}


def page(user, path: str, **headers) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(path, **(headers or EN))
    assert response.status_code == 200
    return response.content.decode()


def nav(html: str) -> str:
    return re.search(r'<nav class="site-nav">(.*?)</nav>', html, re.S).group(1)


def test_the_nav_offers_upload_and_my_files_only_to_uploaders(alice, bob, charlie, dana):
    for user in (alice, dana):
        links = nav(page(user, "/"))
        assert 'data-nav="upload"' in links and 'href="/files/"' in links, user.username
    for user in (bob, charlie):
        links = nav(page(user, "/"))
        assert 'data-nav="upload"' not in links and 'href="/files/"' not in links, user.username
        assert 'href="/welcome/"' in links  # still their own page
    assert 'href="/share/"' in nav(page(bob, "/")) and 'href="/share/"' not in nav(page(charlie, "/"))
    assert 'href="/share/"' not in nav(page(dana, "/"))  # uploaders alone may not visit the list


def test_the_home_page_offers_upload_only_to_uploaders(bob, dana):
    assert 'href="/welcome/">Upload a file' in page(dana, "/")
    html = page(bob, "/")
    assert "Upload a file" not in html and 'class="button" href="/share/"' in html


def test_an_account_without_upload_is_told_what_it_can_do_and_whom_to_ask(alice, bob, charlie, dana):
    html = page(bob, "/welcome/")
    assert 'id="upload-form"' not in html
    card = re.search(r'<section class="card can-do no-upload".*?</section>', html, re.S).group(0)
    assert "What you can do" in card and 'href="/share/"' in card and 'href="/short/"' in card
    assert "<strong>alice</strong>" in card  # whom to ask, by name
    assert 'href="/share/"' not in page(charlie, "/welcome/").split('class="card can-do')[1]
    chinese = page(bob, "/welcome/", **ZH)
    assert "你可以做的事" in chinese and "上传者角色" in chinese
    assert 'class="card can-do' not in page(dana, "/welcome/")  # uploaders get the form instead


def test_role_names_are_shown_translated(alice, bob):
    assert re.search(r'data-role="admin">administrator<', page(alice, "/welcome/"))
    assert re.search(r'data-role="users">用户<', page(bob, "/welcome/", **ZH))


def test_the_upload_form_shows_the_limits(dana, settings):
    settings.PAN_MAX_UPLOAD_SIZE = 3 * 1024**2
    settings.PAN_MAX_SHARE_SIZE = 5 * 1024**3
    html = page(dana, "/welcome/")
    assert f'data-max-file="{3 * 1024**2}"' in html
    assert "Up to 3.0\xa0MB per file and 5.0\xa0GB per share." in html
