import pytest
import time_machine
from django.test import Client, override_settings

from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(api, username, password=PASSWORD, **extra):
    return api.post("/api/login", {"username": username, "password": password}, format="json", **extra)


def test_right_password_returns_tokens_that_open_the_api(api, bob):
    response = login(api, "bob")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    me = api.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.status_code == 200
    assert me.json()["username"] == "bob"


def test_wrong_password_and_unknown_user_get_identical_answers(api, bob):
    wrong = login(api, "bob", "not-the-password")
    unknown = login(api, "nobody-here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


def test_repeated_failures_lock_the_username_until_the_window_ends(api, bob, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_WINDOW = 600
    with time_machine.travel("2026-01-01 12:00:00+00:00", tick=False) as clock:
        for _ in range(3):
            assert login(api, "bob", "wrong").status_code == 401
        locked = login(api, "bob")  # even the right password waits
        assert locked.status_code == 429
        assert int(locked["Retry-After"]) == 600
        assert locked.json()["error"]["code"] == "too_many_requests"

        clock.shift(300)
        assert int(login(api, "bob")["Retry-After"]) == 300

        clock.shift(301)
        assert login(api, "bob").status_code == 200


def test_a_locked_username_does_not_lock_other_users(api, bob, make_user, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    make_user("dave")
    for _ in range(2):
        login(api, "bob", "wrong")
    assert login(api, "bob").status_code == 429
    assert login(api, "dave").status_code == 200


def test_one_client_failing_across_many_usernames_is_slowed_down(api, bob, settings):
    settings.LOGIN_FAILURE_LIMIT = 100
    settings.LOGIN_CLIENT_FAILURE_LIMIT = 4
    for n in range(4):
        assert login(api, f"guess{n}", "wrong").status_code == 401
    assert login(api, "bob").status_code == 429
    other_client = login(api, "bob", REMOTE_ADDR="10.9.8.7")
    assert other_client.status_code == 200


@override_settings(LOGIN_FAILURE_LIMIT=2)
def test_page_login_lockout_answers_429_with_retry_after(bob):
    client = Client()
    for _ in range(2):
        client.post("/login/", {"username": "bob", "password": "wrong"})
    response = client.post("/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
