import pytest
from django.test import Client

from accounts.models import User
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def csrf_client(path):
    client = Client(enforce_csrf_checks=True)
    page = client.get(path)
    assert page.status_code == 200
    return client, client.cookies["csrftoken"].value


def test_login_through_the_page_sets_an_httponly_session(bob):
    client, token = csrf_client("/login/")
    response = client.post("/login/", {"username": "bob", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == "/welcome/"
    assert response.cookies["sessionid"]["httponly"]
    welcome = client.get("/welcome/")
    assert welcome.status_code == 200
    assert b"bob" in welcome.content
    assert b'data-role="users"' in welcome.content


def test_login_page_follows_a_safe_next_but_not_an_outside_one(bob):
    client, token = csrf_client("/login/")
    form = {"username": "bob", "password": PASSWORD, "csrfmiddlewaretoken": token}
    assert client.post("/login/?next=/files/", form)["Location"] == "/files/"
    client, token = csrf_client("/login/")
    form["csrfmiddlewaretoken"] = token
    assert client.post("/login/?next=https://evil.example/", form)["Location"] == "/welcome/"


def test_login_without_the_csrf_token_is_refused(bob):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_wrong_password_on_the_page_shows_the_servers_message(bob):
    client, token = csrf_client("/login/")
    response = client.post("/login/", {"username": "bob", "password": "nope", "csrfmiddlewaretoken": token})
    assert response.status_code == 401
    assert "The username or password is not correct." in response.content.decode()


def test_welcome_redirects_an_anonymous_visitor_to_login():
    response = Client().get("/welcome/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/welcome/"


def test_register_page_creates_the_account_and_signs_in():
    client, token = csrf_client("/register/")
    response = client.post(
        "/register/",
        {
            "username": "李小雷",
            "password": "Lantern-Field-71",
            "password2": "Lantern-Field-71",
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302
    assert User.objects.filter(username="李小雷").exists()
    assert "李小雷" in client.get("/welcome/").content.decode()


def test_register_page_shows_server_side_errors():
    client, token = csrf_client("/register/")
    response = client.post(
        "/register/",
        {"username": "ok_name", "password": "12345678901", "password2": "12345678901", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 400
    assert "This password is entirely numeric." in response.content.decode()
    assert not User.objects.exists()


def test_register_page_refuses_mismatched_passwords():
    client, token = csrf_client("/register/")
    response = client.post(
        "/register/",
        {
            "username": "ok_name",
            "password": "Lantern-Field-71",
            "password2": "Other-Field-71",
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 400
    assert "The two passwords differ." in response.content.decode()
    assert not User.objects.exists()


def test_pages_mirror_server_rules_in_the_browser():
    html = Client().get("/register/").content.decode()
    assert 'minlength="2"' in html and 'maxlength="150"' in html
    assert 'pattern="[\\p{L}\\p{N}_.\\-]{2,150}"' in html
    assert 'minlength="8"' in html


def test_logout_page_ends_the_session(bob):
    client = Client()
    client.login(username="bob", password=PASSWORD)
    assert client.post("/logout/").status_code == 302
    assert client.get("/welcome/").status_code == 302


def test_home_page_links_login_and_register():
    html = Client().get("/").content.decode()
    assert 'href="/login/"' in html and 'href="/register/"' in html
