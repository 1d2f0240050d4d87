"""Issue 27's done-when for device cookies, against a real server: 100 wrong
passwords for one username from other clients do not keep its owner out of a
browser or client that signed in before; an unknown device waits as before."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

pytestmark = pytest.mark.live

PASSWORD = "Quiet-Harbour-58"
OWNER = "device-owner"
ATTACK = 100


def client_from(server, address: str) -> httpx.Client:
    """A client whose requests come from `address` (127.x.y.z: a client of its own to the limits)."""
    return httpx.Client(base_url=server.url, timeout=30, transport=httpx.HTTPTransport(local_address=address))


def page_sign_in(browser: httpx.Client, password: str = PASSWORD) -> httpx.Response:
    browser.get("/login/")
    data = {"username": OWNER, "password": password, "csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    return browser.post("/login/", data=data)


def api_sign_in(client: httpx.Client, **extra) -> httpx.Response:
    return client.post("/api/login", json={"username": OWNER, "password": PASSWORD, **extra})


def wrong_password_from(server, number: int) -> int:
    with client_from(server, f"127.0.2.{number + 1}") as attacker:
        return attacker.post("/api/login", json={"username": OWNER, "password": f"guess-{number}"}).status_code


def test_an_owner_who_signed_in_before_signs_in_at_once_while_others_guess_her_password(daphne_server):
    daphne_server.register(OWNER, PASSWORD)
    with (
        client_from(daphne_server, "127.0.3.1") as browser,
        client_from(daphne_server, "127.0.3.2") as script,
        client_from(daphne_server, "127.0.3.3") as stranger,
    ):
        assert page_sign_in(browser).status_code == 302
        assert browser.post("/logout/", data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]}).status_code == 302
        device = api_sign_in(script).json()["device"]
        script.cookies.clear()  # the script sends its token in the body

        with ThreadPoolExecutor(10) as pool:
            answers = Counter(pool.map(lambda number: wrong_password_from(daphne_server, number), range(ATTACK)))
        assert answers == {401: 5, 429: ATTACK - 5}  # LOGIN_FAILURE_LIMIT

        signed_in = page_sign_in(browser)
        assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/welcome/"
        assert OWNER in browser.get("/welcome/").text
        by_token = api_sign_in(script, device=device)
        assert by_token.status_code == 200
        me = script.get("/api/me", headers={"Authorization": f"Bearer {by_token.json()['access']}"})
        assert me.json()["username"] == OWNER

        unknown = page_sign_in(stranger)
        assert unknown.status_code == 429
        assert int(unknown.headers["Retry-After"]) > 0
        assert api_sign_in(stranger).status_code == 429
