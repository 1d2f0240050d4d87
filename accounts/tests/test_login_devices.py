"""Device cookies (issue 27, item 1; OWASP "Slow Down Online Guessing Attacks
with Device Cookies"): wrong passwords sent from elsewhere do not lock out an
owner who signs in from a browser or client that signed in before."""

import pytest
import time_machine
from django.core import signing
from django.test import Client
from rest_framework.test import APIClient

from accounts.errors import InvalidCredentials
from accounts.services import user_login
from audit.models import Action, AuditEvent
from conftest import PASSWORD
from project.lib.errors import TooManyRequests

pytestmark = pytest.mark.django_db

HOME = "192.0.2.10"  # the owner's usual client address
ATTACK = 100


def _attacker(number: int) -> str:
    return f"10.{number // 250}.{number % 250}.1"


def guess_from_elsewhere(username: str, attempts: int = ATTACK) -> list[str]:
    """Wrong passwords for `username`, each from another client address."""
    answers = []
    for number in range(attempts):
        try:
            user_login(username=username, password="wrong-guess", client=_attacker(number))
        except InvalidCredentials:
            answers.append("wrong")
        except TooManyRequests:
            answers.append("too many")
    return answers


def sign_in(username="dana", password=PASSWORD, *, client=HOME, device=""):
    """'signed in', 'wrong' or 'too many', and the device token of a success."""
    try:
        signed_in = user_login(username=username, password=password, client=client, device=device)
    except InvalidCredentials:
        return "wrong", ""
    except TooManyRequests:
        return "too many", ""
    assert signed_in.user.username == username
    return "signed in", signed_in.device


def test_guessing_from_elsewhere_does_not_lock_out_the_owners_device(dana, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    outcome, device = sign_in()
    assert outcome == "signed in" and device

    answers = guess_from_elsewhere("dana")

    assert answers == ["wrong"] * 5 + ["too many"] * (ATTACK - 5)
    assert sign_in(device=device)[0] == "signed in"
    assert sign_in(device=device, client="198.51.100.7")[0] == "signed in"  # the laptop travels
    # Without the cookie (an unknown device) she is limited as before, and
    # her signing in on her device gave the guessers nothing back.
    assert sign_in()[0] == "too many"
    assert guess_from_elsewhere("dana", 3) == ["too many"] * 3
    # Recorded as before: the failures and the refusals, then her sign-ins.
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED).count() == 5
    assert AuditEvent.objects.filter(action=Action.LOGIN_THROTTLED).count() == ATTACK - 5 + 1 + 3
    assert AuditEvent.objects.filter(action=Action.LOGIN).count() == 3


def test_another_users_tampered_or_made_up_device_token_does_not_help(dana, bob):
    bobs_device = sign_in("bob")[1]
    danas_device = sign_in()[1]
    guess_from_elsewhere("dana")

    payload = signing.loads(danas_device, salt="accounts.login-device")
    unsigned = signing.dumps(payload, salt="another-purpose")
    tampered = danas_device[:-1] + ("A" if danas_device[-1] != "A" else "B")
    for device in (bobs_device, tampered, unsigned, "x" * 200, "not-a-token"):
        assert sign_in(device=device)[0] == "too many", device
    # The same token as a name in other case is not the name it was issued for.
    assert sign_in("DANA", device=danas_device)[0] == "too many"
    assert sign_in(device=danas_device)[0] == "signed in"


def test_a_password_change_voids_the_device_tokens_issued_before(dana):
    device = sign_in()[1]
    dana.set_password("A-new-password-77")
    dana.save()
    guess_from_elsewhere("dana")

    assert sign_in(password="A-new-password-77", device=device)[0] == "too many"


def test_a_device_token_lasts_login_device_cookie_age(dana, settings):
    settings.LOGIN_DEVICE_COOKIE_AGE = 30 * 86400
    settings.LOGIN_FAILURE_WINDOW = 365 * 86400  # the attack's lock outlasts the cookie
    with time_machine.travel("2026-03-01 08:00:00+00:00", tick=False) as clock:
        device = sign_in()[1]
        guess_from_elsewhere("dana")
        clock.shift(29 * 86400)
        assert sign_in(device=device)[0] == "signed in"
        clock.shift(2 * 86400)
        assert sign_in(device=device)[0] == "too many"


def test_the_device_limit_stops_guessing_through_a_stolen_device_cookie(dana, settings):
    settings.LOGIN_DEVICE_FAILURE_LIMIT = 10
    settings.LOGIN_FAILURE_WINDOW = 900
    with time_machine.travel("2026-03-01 08:00:00+00:00", tick=False) as clock:
        stolen = sign_in()[1]
        phone = sign_in(client="203.0.113.5")[1]
        guess_from_elsewhere("dana")

        thief = [sign_in(password=f"guess-{n}", client=_attacker(500 + n), device=stolen)[0] for n in range(12)]

        assert thief == ["wrong"] * 10 + ["too many"] * 2
        assert sign_in(device=stolen)[0] == "too many"  # even the right password, until the window ends
        assert sign_in(device=phone)[0] == "signed in"  # her other devices are not locked
        clock.shift(901)
        assert sign_in(device=stolen)[0] == "signed in"


def test_a_device_limit_of_0_turns_device_cookies_off(dana, settings):
    settings.LOGIN_DEVICE_FAILURE_LIMIT = 0
    device = sign_in()[1]
    guess_from_elsewhere("dana")

    assert sign_in(device=device)[0] == "too many"


def test_a_locked_device_is_limited_like_an_unknown_one(dana, settings):
    settings.LOGIN_DEVICE_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_LIMIT = 2
    device = sign_in()[1]

    answers = [sign_in(password="wrong", device=device)[0] for _ in range(6)]

    # 3 on the device's own limit, then 2 on the username's, then refused.
    assert answers == ["wrong"] * 5 + ["too many"]
    assert sign_in()[0] == "too many"


# --- Through the page and the API -------------------------------------------------


def flood(username: str, attempts: int = ATTACK) -> list[int]:
    """Wrong passwords through POST /api/login, each from another client address."""
    api = APIClient()
    return [
        api.post(
            "/api/login", {"username": username, "password": "wrong-guess"}, format="json", REMOTE_ADDR=_attacker(n)
        ).status_code
        for n in range(attempts)
    ]


def test_a_browser_that_signed_in_before_signs_in_through_the_page_during_an_attack(dana, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    browser = Client(enforce_csrf_checks=False)
    assert browser.post("/login/", {"username": "dana", "password": PASSWORD}).status_code == 302
    cookie = browser.cookies["pan_device"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    assert cookie["max-age"] == settings.LOGIN_DEVICE_COOKIE_AGE
    browser.post("/logout/")  # the device cookie outlives the session

    assert flood("dana") == [401] * 5 + [429] * (ATTACK - 5)

    again = browser.post("/login/", {"username": "dana", "password": PASSWORD})
    assert again.status_code == 302 and again["Location"] == "/welcome/"
    assert browser.get("/welcome/").status_code == 200
    unknown = Client().post("/login/", {"username": "dana", "password": PASSWORD})
    assert unknown.status_code == 429


def test_the_device_cookie_is_secure_over_https(dana):
    browser = Client()
    assert browser.post("/login/", {"username": "dana", "password": PASSWORD}, secure=True).status_code == 302
    assert browser.cookies["pan_device"]["secure"]


def test_an_api_client_sends_its_device_token_back_in_the_body_or_as_the_cookie(dana, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    first = APIClient().post("/api/login", {"username": "dana", "password": PASSWORD}, format="json")
    assert first.status_code == 200
    device = first.json()["device"]
    assert first.cookies["pan_device"].value == device

    flood("dana")

    body = APIClient().post("/api/login", {"username": "dana", "password": PASSWORD, "device": device}, format="json")
    assert body.status_code == 200
    me = APIClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {body.json()['access']}")
    assert me.json()["username"] == "dana"
    jar = APIClient()
    jar.cookies["pan_device"] = device
    assert jar.post("/api/login", {"username": "dana", "password": PASSWORD}, format="json").status_code == 200
    unknown = APIClient().post("/api/login", {"username": "dana", "password": PASSWORD}, format="json")
    assert unknown.status_code == 429
    assert unknown.json()["error"]["code"] == "too_many_requests"
    other = APIClient().post(
        "/api/login", {"username": "dana", "password": PASSWORD, "device": "forged"}, format="json"
    )
    assert other.status_code == 429
