"""Share passwords (SPEC §4.2): apart from the code, hashed, checked on
every way bytes leave the server, counted like wrong codes, never in a URL,
a page or a log."""

import logging

import pytest
from django.test import Client, override_settings

from pan.models import Share

from .conftest import body_of

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
PASSWORD = "correct horse 电池"
FILES = [("a.png", b"\x89PNG fake image bytes", "image/png"), ("b.txt", b"bee")]


@pytest.fixture
def locked(share_as, dana):
    return share_as(dana, FILES, password=PASSWORD, max_downloads="5")


def api_paths(info):
    first = info["items"][0]["id"]
    return [
        f"/api/shares/{info['id']}/items/{first}/content",
        f"/api/shares/{info['id']}/zip",
        f"/api/files/{info['id']}/content",
    ]


def test_the_password_is_stored_hashed_and_never_shown(locked, api_as, dana):
    share = Share.objects.get()
    assert share.password and PASSWORD not in share.password and share.password.count("$") >= 2
    shown = api_as(dana).get(f"/api/shares/{locked['id']}").json()
    assert shown["has_password"] is True
    assert PASSWORD not in str(shown) and share.password not in str(shown)


def test_every_api_path_needs_the_password_besides_the_code(locked, api):
    for path in api_paths(locked):
        missing = api.get(path, HTTP_X_SHARE_CODE=locked["code"], **EN)
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "password_required", path
        wrong = api.get(path, HTTP_X_SHARE_CODE=locked["code"], HTTP_X_SHARE_PASSWORD="nope", **ZH)
        assert wrong.status_code == 403 and wrong.json()["error"]["message"] == "密码不正确。", path
        # The password alone is not enough either.
        assert api.get(path, HTTP_X_SHARE_PASSWORD=PASSWORD).status_code == 403, path
        right = api.get(path, HTTP_X_SHARE_CODE=locked["code"], HTTP_X_SHARE_PASSWORD=PASSWORD)
        assert right.status_code == 200, path
        body_of(right)
    # Never from the query string.
    query = f"{api_paths(locked)[0]}?code={locked['code']}&password={PASSWORD}"
    assert api.get(query).status_code == 401


def as_a_server_hands_it_over(raw: bytes) -> str:
    """A header value as daphne/uvicorn (ASGI) and WSGI servers give it to Django: its bytes read as ISO-8859-1."""
    return raw.decode("latin-1")


def test_a_password_in_the_header_is_read_as_utf8(share_as, dana, api):
    """`X-Share-Password` carries bytes: a Chinese password sent as UTF-8 (curl, httpx, the `pan` client)
    opens the share on every API path; Latin-1 bytes that are not UTF-8 still read as Latin-1."""
    chinese = share_as(dana, FILES, password="密码-Lantern-71")
    for path in api_paths(chinese):
        sent = as_a_server_hands_it_over("密码-Lantern-71".encode())
        right = api.get(path, HTTP_X_SHARE_CODE=chinese["code"], HTTP_X_SHARE_PASSWORD=sent)
        assert right.status_code == 200, path
        body_of(right)
        other = as_a_server_hands_it_over("密码-Lantern-72".encode())
        wrong = api.get(path, HTTP_X_SHARE_CODE=chinese["code"], HTTP_X_SHARE_PASSWORD=other)
        assert wrong.status_code == 403, path
    opened = api.post(
        "/api/pickup",
        {"code": chinese["code"]},
        format="json",
        HTTP_X_SHARE_PASSWORD=as_a_server_hands_it_over("密码-Lantern-71".encode()),
    ).json()
    assert opened.get("locked") is not True and len(opened["items"]) == 2
    french = share_as(dana, FILES, password="café crème")
    latin = as_a_server_hands_it_over("café crème".encode("latin-1"))
    opened = api.get(api_paths(french)[0], HTTP_X_SHARE_CODE=french["code"], HTTP_X_SHARE_PASSWORD=latin)
    assert opened.status_code == 200
    body_of(opened)


def test_the_owner_and_managers_need_neither(locked, api_as, dana, alice):
    for client in (api_as(dana), api_as(alice)):
        for path in api_paths(locked):
            response = client.get(path)
            assert response.status_code == 200, path
            body_of(response)


def test_every_page_path_needs_the_password_step(locked):
    browser = Client()
    item = locked["items"][0]["id"]
    page_paths = [
        f"/f/{locked['id']}/items/{item}/download",
        f"/f/{locked['id']}/items/{item}/preview",
        f"/f/{locked['id']}/zip",
    ]
    # The code alone: the page asks for the password; nothing downloads yet.
    first = browser.post(f"/f/{locked['id']}/", {"code": locked["code"]}, **EN)
    assert first.status_code == 401
    assert 'name="password"' in first.content.decode()
    for path in page_paths:
        assert browser.get(path).status_code == 403, path
    assert browser.post(f"/f/{locked['id']}/download", {"code": locked["code"]}).status_code == 401
    # A wrong password: refused, still asked.
    wrong = browser.post(f"/f/{locked['id']}/", {"password": "nope"}, **EN)
    assert wrong.status_code == 403 and "The password is not correct." in wrong.content.decode()
    # The right one unlocks every path.
    assert browser.post(f"/f/{locked['id']}/", {"password": PASSWORD}).status_code == 302
    for path in page_paths:
        response = browser.get(path)
        assert response.status_code == 200, path
        body_of(response)
    page = browser.get(f"/f/{locked['id']}/").content.decode()
    assert locked["code"] not in page and PASSWORD not in page
    # Opening the link with the code again: the unlocked page carries it nowhere (not even the language form).
    again = browser.get(f"/f/{locked['id']}/?code={locked['code']}").content.decode()
    assert locked["code"] not in again and locked["code"].lower() not in again


def test_a_new_password_locks_unlocked_browsers_out_and_clearing_it_opens_the_share(locked, api_as, dana, api):
    browser = Client()
    browser.post(f"/f/{locked['id']}/", {"code": locked["code"], "password": PASSWORD})
    zip_url = f"/f/{locked['id']}/zip"
    assert browser.get(zip_url).status_code == 200
    owner = api_as(dana)
    assert owner.patch(f"/api/shares/{locked['id']}", {"password": "another one"}, format="json").status_code == 200
    assert browser.get(zip_url).status_code == 403
    cleared = owner.patch(f"/api/shares/{locked['id']}", {"password": ""}, format="json").json()
    assert cleared["has_password"] is False
    assert api.get(api_paths(locked)[0], HTTP_X_SHARE_CODE=locked["code"]).status_code == 200


@pytest.mark.parametrize("bad", [123, ["x"], "x" * 300, "a\x00b"])
def test_bad_passwords_are_400_and_change_nothing(locked, api_as, dana, bad):
    response = api_as(dana).patch(f"/api/shares/{locked['id']}", {"password": bad}, format="json")
    assert response.status_code == 400
    assert Share.objects.get().password.count("$") >= 2


@override_settings(PAN_CODE_SHARE_LIMIT=20)
def test_twenty_wrong_passwords_from_twenty_addresses_lock_the_share_like_codes(locked, api):
    path = api_paths(locked)[1]
    for number in range(20):
        response = api.get(
            path, HTTP_X_SHARE_CODE=locked["code"], HTTP_X_SHARE_PASSWORD="guess", REMOTE_ADDR=f"203.0.{number}.7"
        )
        assert response.status_code == 403
    right = api.get(path, HTTP_X_SHARE_CODE=locked["code"], HTTP_X_SHARE_PASSWORD=PASSWORD, REMOTE_ADDR="192.0.2.1")
    assert right.status_code == 429 and right.json()["error"]["code"] == "file_locked"


def test_neither_code_nor_password_reaches_the_access_log(locked, api, caplog):
    caplog.set_level(logging.INFO, logger="pan.access")
    url = f"{api_paths(locked)[0]}?code={locked['code']}"
    body_of(api.get(url, HTTP_X_SHARE_PASSWORD=PASSWORD))
    Client().post(f"/f/{locked['id']}/", {"code": locked["code"], "password": PASSWORD})
    Client().get(f"/f/{locked['id']}/?code={locked['code']}")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"/api/shares/{locked['id']}" in logged  # the log did record the requests
    assert locked["code"] not in logged and PASSWORD not in logged
