"""The /short/ page through Django's test client (the browser test drives Chromium)."""

import re

import pytest
from django.test import Client

from conftest import PASSWORD
from shortener.models import ShortLink

from .conftest import EN, ZH

pytestmark = pytest.mark.django_db


def page_client(**headers):
    client = Client(enforce_csrf_checks=True, **headers)
    page = client.get("/short/")
    assert page.status_code == 200
    return client, client.cookies["csrftoken"].value


def test_the_page_shows_the_form_in_both_languages():
    assert "Shorten a link" in Client().get("/short/", **EN).content.decode()
    assert "缩短链接" in Client().get("/short/", **ZH).content.decode()


def test_shortening_on_the_page_shows_the_link_a_copy_button_and_a_qr_code():
    client, token = page_client()
    response = client.post("/short/", {"url": "example.com/from-the-page", "csrfmiddlewaretoken": token}, **EN)
    assert response.status_code == 200
    html = response.content.decode()
    link = ShortLink.objects.get()
    assert link.target_url == "https://example.com/from-the-page" and link.owner is None
    assert re.search(rf'id="short-url" value="http://testserver/s/{link.key}"', html)
    assert 'data-copy="#short-url"' in html
    assert re.search(r'id="short-qr"[^>]*>\s*<svg', html)


def test_surrounding_spaces_of_a_pasted_url_are_trimmed_on_the_page():
    client, token = page_client()
    client.post("/short/", {"url": "  https://example.com/pasted \n", "csrfmiddlewaretoken": token})
    assert ShortLink.objects.get().target_url == "https://example.com/pasted"


def test_page_options_slug_expiry_and_limit():
    client, token = page_client()
    form = {"url": "https://example.com/", "slug": "page-slug", "expires_in": "3600", "max_visits": "3"}
    response = client.post("/short/", {**form, "csrfmiddlewaretoken": token})
    assert response.status_code == 200
    link = ShortLink.objects.get(key="page-slug")
    assert link.max_visits == 3 and link.expires_at is not None


@pytest.mark.parametrize(
    "form,status,message",
    [
        ({"url": "javascript:alert(1)"}, 400, "Only http and https links can be shortened."),
        ({"url": "http://127.0.0.1/"}, 400, "Links to private, loopback or local network addresses are not allowed."),
        ({"url": ""}, 400, "This field is required."),
        ({"url": "https://example.com/", "slug": "admin"}, 400, "This name is reserved. Please choose another one."),
        ({"url": "https://example.com/", "max_visits": "0"}, 400, "Ensure this value is greater than or equal to 1."),
        ({"url": "https://example.com/", "expires_in": "12"}, 400, "Select a valid choice."),
    ],
)
def test_the_servers_messages_are_shown_on_the_page(form, status, message):
    client, token = page_client()
    response = client.post("/short/", {**form, "csrfmiddlewaretoken": token}, **EN)
    assert response.status_code == status
    assert message in response.content.decode()
    assert ShortLink.objects.count() == 0


def test_a_taken_slug_is_409_on_the_page_in_chinese():
    ShortLink.objects.create(key="taken-slug", target_url="https://example.com/")
    client, token = page_client()
    response = client.post(
        "/short/", {"url": "https://example.org/", "slug": "taken-slug", "csrfmiddlewaretoken": token}, **ZH
    )
    assert response.status_code == 409
    assert "这个短链接名称已被占用。" in response.content.decode()


def test_the_page_form_needs_the_csrf_token():
    client, _token = page_client()
    assert client.post("/short/", {"url": "https://example.com/"}).status_code == 403
    assert ShortLink.objects.count() == 0


def test_signed_in_users_own_page_links_and_see_their_list(bob, charlie):
    ShortLink.objects.create(key="charlies", target_url="https://example.org/", owner=charlie)
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    client.post("/short/", {"url": "https://example.com/mine"})
    link = ShortLink.objects.get(owner=bob)
    html = client.get("/short/").content.decode()
    assert f'data-key="{link.key}"' in html
    assert "charlies" not in html
