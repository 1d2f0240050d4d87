"""The second factor through the API: POST /api/login, then POST /api/login/mfa (SPEC §3)."""

from datetime import datetime

import pyotp
import pytest
import time_machine
from rest_framework.test import APIClient

import accounts.factors
import accounts.services
from accounts import factors
from accounts.models import LoginChallenge, TotpDevice
from audit.models import Action, AuditEvent
from conftest import PASSWORD
from project.testing import released_at_once

pytestmark = pytest.mark.django_db

SECRET = pyotp.random_base32(32)
NOW = "2026-03-01 12:00:10+00:00"


def totp_on(user, secret=SECRET) -> list[str]:
    """Turn on TOTP for `user` through the service, as the page does; the recovery codes."""
    return factors.totp_add(user=user, password=PASSWORD, secret=secret, code=pyotp.TOTP(secret).now(), client="x")


def login(api, username="bob", password=PASSWORD, **extra):
    return api.post("/api/login", {"username": username, "password": password}, format="json", **extra)


def second(api, challenge, code, **extra):
    return api.post("/api/login/mfa", {"challenge": challenge, "code": code}, format="json", **extra)


@pytest.fixture
def only_the_login_limits(settings):
    settings.RATE_LIMIT_ENABLED = False


def test_a_user_with_totp_gets_a_challenge_then_tokens_for_a_code(api, bob):
    with time_machine.travel(NOW, tick=False):
        totp_on(bob)
    with time_machine.travel("2026-03-01 12:01:10+00:00", tick=False):
        first = login(api)
        assert first.status_code == 200
        body = first.json()
        assert body["mfa_required"] is True
        assert "access" not in body and "refresh" not in body
        assert body["methods"] == ["totp", "recovery_code"]
        assert body["expires_in"] == 300
        done = second(api, body["challenge"], pyotp.TOTP(SECRET).now())
        assert done.status_code == 200, done.content
        me = APIClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {done.json()['access']}")
        assert me.json()["username"] == "bob"
    assert AuditEvent.objects.filter(action=Action.LOGIN, detail__second_factor="totp").count() == 1


def test_a_user_without_a_factor_still_gets_tokens_at_once(api, charlie):
    assert "access" in login(api, "charlie").json()


def test_a_challenge_is_single_use(api, bob):
    with time_machine.travel(NOW, tick=False):
        codes = totp_on(bob)
        challenge = login(api).json()["challenge"]
        assert second(api, challenge, codes[0]).status_code == 200
        again = second(api, challenge, codes[1])
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "mfa_challenge_invalid"
    assert AuditEvent.objects.filter(action=Action.FACTOR_FAILED, detail__reason="challenge_used").exists()


def test_a_challenge_expires(api, bob, settings):
    settings.MFA_CHALLENGE_SECONDS = 60
    with time_machine.travel(NOW, tick=False) as clock:
        totp_on(bob)
        challenge = login(api).json()["challenge"]
        clock.shift(61)
        late = second(api, challenge, pyotp.TOTP(SECRET).now())
    assert late.status_code == 401
    assert late.json()["error"]["code"] == "mfa_challenge_invalid"
    assert AuditEvent.objects.filter(action=Action.FACTOR_FAILED, detail__reason="challenge_expired").exists()


def test_a_challenge_is_bound_to_its_user(api, bob, make_user):
    make_user("dave")
    with time_machine.travel(NOW, tick=False):
        bob_codes = totp_on(bob)
        challenge = login(api, "dave").json().get("challenge")
        assert challenge is None  # Dave has no factor: tokens at once
        challenge = login(api).json()["challenge"]
        done = second(api, challenge, bob_codes[0])
        assert done.status_code == 200
        # The tokens are Bob's, whoever asked.
        me = APIClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {done.json()['access']}")
        assert me.json()["username"] == "bob"
    assert LoginChallenge.objects.get().user_id == bob.pk


def test_a_totp_code_is_refused_a_second_time(api, bob):
    with time_machine.travel(NOW, tick=False):
        totp_on(bob)
        # The set-up used this step's code already: the first sign-in needs the next one.
        code = pyotp.TOTP(SECRET).now()
        replay = second(api, login(api).json()["challenge"], code)
        assert replay.status_code == 401
        assert replay.json()["error"]["code"] == "mfa_code_used"
    with time_machine.travel("2026-03-01 12:00:40+00:00", tick=False):
        code = pyotp.TOTP(SECRET).now()
        assert second(api, login(api).json()["challenge"], code).status_code == 200
        reused = second(api, login(api).json()["challenge"], code)
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "mfa_code_used"
    assert AuditEvent.objects.filter(action=Action.FACTOR_FAILED, detail__reason="mfa_code_used").count() == 2
    # An older code than the last accepted one is refused too.
    with time_machine.travel("2026-03-01 12:01:05+00:00", tick=False):
        # The code accepted at 12:00:40 is still inside the drift allowed at 12:01:05: refused as used.
        older = pyotp.TOTP(SECRET).at(datetime.fromisoformat("2026-03-01 12:00:40+00:00"))
        assert second(api, login(api).json()["challenge"], older).json()["error"]["code"] == "mfa_code_used"


def test_recovery_codes_work_once_each(api, bob):
    with time_machine.travel(NOW, tick=False):
        codes = totp_on(bob)
    assert len(codes) == 10 and len(set(codes)) == 10
    first = second(api, login(api).json()["challenge"], codes[3].lower().replace("-", " "))
    assert first.status_code == 200
    twice = second(api, login(api).json()["challenge"], codes[3])
    assert twice.status_code == 401
    assert twice.json()["error"]["code"] == "mfa_code_used"
    assert factors.recovery_codes_left(user=bob) == 9


def test_wrong_codes_count_in_the_login_limits_and_the_password_buys_no_more(api, bob, settings):
    settings.LOGIN_FAILURE_LIMIT = 4
    settings.LOGIN_FAILURE_WINDOW = 600
    with time_machine.travel(NOW, tick=False) as clock:
        totp_on(bob)
        clock.shift(30)
        challenge = login(api).json()["challenge"]  # 1 counted
        for _ in range(2):
            assert second(api, challenge, "000000").json()["error"]["code"] == "mfa_code_invalid"  # 2, 3
        # Signing in again does not reset the count: 4.
        challenge = login(api).json()["challenge"]
        limited = second(api, challenge, pyotp.TOTP(SECRET).now())  # 5: over, even with the right code
        assert limited.status_code == 429
        # The window opened at the set-up's password re-entry, 30 s before.
        assert int(limited["Retry-After"]) == 570
        assert login(api).status_code == 429
        clock.shift(601)
        challenge = login(api).json()["challenge"]
        assert second(api, challenge, pyotp.TOTP(SECRET).now()).status_code == 200
        # A completed sign-in clears the window.
        assert "challenge" in login(api).json()


def test_garbage_is_a_clear_4xx(api, bob):
    assert api.post("/api/login/mfa", {"challenge": "x"}, format="json").status_code == 400
    assert second(api, "nope", "123456").json()["error"]["code"] == "mfa_challenge_invalid"
    assert api.post("/api/login/mfa", {"challenge": ["a"], "code": {"b": 1}}, format="json").status_code == 400
    with time_machine.travel(NOW, tick=False):
        totp_on(bob)
        challenge = login(api).json()["challenge"]
        for code in ("", "1234567", "ÅÅÅÅÅ-ÅÅÅÅÅ", "١٢٣٤٥٦"):
            answer = api.post("/api/login/mfa", {"challenge": challenge, "code": code}, format="json")
            assert answer.status_code in (400, 401), code


def test_another_users_passkey_cannot_complete_a_sign_in(bob, make_user):
    from accounts.models import Passkey

    dave = make_user("dave")
    Passkey.objects.create(user=dave, name="Dave's key", credential_id="ZGF2ZQ", public_key=b"k")
    with time_machine.travel(NOW, tick=False):
        totp_on(bob)
        needed = accounts.services.user_login(username="bob", password=PASSWORD, client="192.0.2.1")
        forged = {"id": "ZGF2ZQ", "rawId": "ZGF2ZQ", "type": "public-key", "response": {}}
        where = factors.WebOrigin(rp_id="localhost", origin="http://localhost:8000")
        with pytest.raises(factors.PasskeyRejected):
            factors.login_second_step(challenge=needed.challenge, client="192.0.2.1", passkey=forged, where=where)
    assert AuditEvent.objects.filter(action=Action.FACTOR_FAILED, detail__reason="mfa_passkey_invalid").exists()


@pytest.mark.django_db(transaction=True)
def test_simultaneous_wrong_codes_get_at_most_the_limit_of_checks(bob, settings, monkeypatch, only_the_login_limits):
    settings.LOGIN_FAILURE_LIMIT = 5
    attempts = 30
    totp_on(bob, SECRET)
    TotpDevice.objects.filter(user=bob).update(last_step=0)
    checks = []
    real = accounts.factors._totp_accept
    monkeypatch.setattr(accounts.factors, "_totp_accept", lambda *a: checks.append(1) or real(*a))
    # The password step counts once (1 of 5): four codes may be checked.
    challenge = login(APIClient(REMOTE_ADDR="192.0.2.200")).json()["challenge"]

    def attempt(index: int) -> int:
        return second(APIClient(REMOTE_ADDR=f"198.51.100.{index}"), challenge, "000000").status_code

    statuses = released_at_once(attempt, attempts)  # raises if a thread did not finish
    assert len(checks) == 4
    assert sorted(statuses) == [401] * 4 + [429] * (attempts - 4)


@pytest.mark.django_db(transaction=True)
def test_simultaneous_completions_of_one_challenge_give_one_sign_in(bob, only_the_login_limits, settings):
    settings.LOGIN_FAILURE_LIMIT = 20  # room for every attempt: the challenge alone decides
    codes = totp_on(bob, SECRET)
    challenge = login(APIClient()).json()["challenge"]
    attempts = 8

    def attempt(index: int) -> int:
        return second(APIClient(REMOTE_ADDR=f"198.51.100.{index}"), challenge, codes[index]).status_code

    statuses = released_at_once(attempt, attempts)
    assert sorted(statuses) == [200] + [401] * (attempts - 1), statuses
    # The losers' recovery codes were rolled back with their attempt.
    assert factors.recovery_codes_left(user=bob) == 9
    assert LoginChallenge.objects.filter(used_at__isnull=False).count() == 1
