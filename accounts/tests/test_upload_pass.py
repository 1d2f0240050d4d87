"""The upload pass (accounts/upload_pass.py): issued to signed-in sessions,
never to anonymous ones, gone with the session.

project/tests/test_live_bodies.py shows what it is for on real servers: a
made-up session gets no upload allowance, a signed-in one does.
"""

import pytest
from django.conf import settings
from django.test import Client

from accounts.upload_pass import COOKIE_NAME, upload_pass_matches
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(client: Client, username: str):
    return client.post("/login/", {"username": username, "password": PASSWORD})


def test_signing_in_issues_a_pass_for_the_new_session(bob):
    client = Client()
    response = signed_in(client, "bob")
    assert response.status_code == 302
    cookie = response.cookies[COOKIE_NAME]
    session_key = response.cookies[settings.SESSION_COOKIE_NAME].value
    assert upload_pass_matches(cookie.value, session_key)
    assert cookie["httponly"]
    assert cookie["samesite"] == settings.SESSION_COOKIE_SAMESITE


def test_anonymous_sessions_get_no_pass(bob):
    client = Client()
    refused = client.post("/login/", {"username": "bob", "password": "wrong-password-1"})
    assert refused.status_code == 401
    assert COOKIE_NAME not in refused.cookies
    assert COOKIE_NAME not in client.get("/").cookies


def test_a_session_signed_in_before_the_pass_existed_gets_one_on_its_next_page(bob):
    client = Client()
    client.force_login(bob)  # a session with no pass, as after an upgrade
    assert COOKIE_NAME not in client.cookies
    response = client.get("/files/")
    assert upload_pass_matches(response.cookies[COOKIE_NAME].value, client.session.session_key)
    # Once it holds a valid one, it is not sent again.
    assert COOKIE_NAME not in client.get("/files/").cookies


def test_signing_out_removes_the_pass(bob):
    client = Client()
    signed_in(client, "bob")
    response = client.post("/logout/")
    assert response.cookies[COOKIE_NAME].value == ""
    assert response.cookies[COOKIE_NAME]["max-age"] == 0
