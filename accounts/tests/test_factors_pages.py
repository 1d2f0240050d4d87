"""The second factor on the pages: /account/security/ and the sign-in's second step."""

import pyotp
import pytest
from django.test import Client

from accounts import factors
from accounts.models import Passkey, TotpDevice
from audit.models import Action, AuditEvent
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def secret_on_page(client) -> str:
    page = client.get("/account/security/")
    assert page.status_code == 200
    return client.session["pan_mfa_totp_secret"]


def turn_on_totp(client, password=PASSWORD):
    secret = secret_on_page(client)
    return secret, client.post(
        "/account/security/", {"action": "totp_add", "code": pyotp.TOTP(secret).now(), "password": password}
    )


@pytest.mark.parametrize("persona", ["alice", "bob", "charlie", "dana"])
def test_every_account_sets_up_totp_with_its_password(persona, request):
    user = request.getfixturevalue(persona)
    client = signed_in(user)
    page = client.get("/account/security/")
    secret = client.session["pan_mfa_totp_secret"]
    # The key is shown as text beside the QR code.
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in page.content.decode()
    assert b"<svg" in page.content
    _secret, answer = turn_on_totp(client)
    assert answer.status_code == 200
    assert answer.content.decode().count("<li><code>") == 10  # recovery codes, shown once
    assert TotpDevice.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action=Action.FACTOR_ADD, actor=user).count() == 1


def test_set_up_needs_the_right_password(bob):
    client = signed_in(bob)
    _secret, answer = turn_on_totp(client, password="not-it")
    assert answer.status_code == 400
    assert "The password is not correct." in answer.content.decode()
    assert not TotpDevice.objects.filter(user=bob).exists()


def test_removal_needs_the_password_and_is_audited(bob):
    client = signed_in(bob)
    turn_on_totp(client)
    assert client.post("/account/security/", {"action": "totp_remove", "password": "nope"}).status_code == 400
    assert TotpDevice.objects.filter(user=bob).exists()
    assert client.post("/account/security/", {"action": "totp_remove", "password": PASSWORD}).status_code == 302
    assert not TotpDevice.objects.filter(user=bob).exists()
    assert not bob.recovery_codes.exists()  # no factor left: the codes go too
    assert AuditEvent.objects.filter(action=Action.FACTOR_REMOVE, actor=bob).count() == 1


@pytest.mark.parametrize("persona", ["alice", "bob", "charlie", "dana"])
def test_nobody_removes_another_users_passkey(persona, request, make_user):
    owner = make_user("owner-of-key")
    key = Passkey.objects.create(user=owner, name="Owner's key", credential_id="b3duZXI", public_key=b"k")
    client = signed_in(request.getfixturevalue(persona))
    answer = client.post("/account/security/", {"action": "passkey_remove", "passkey": key.pk, "password": PASSWORD})
    assert answer.status_code == 404
    assert Passkey.objects.filter(pk=key.pk).exists()


def test_the_owner_removes_their_passkey(dana):
    key = Passkey.objects.create(user=dana, name="Dana's key", credential_id="ZGFuYQ", public_key=b"k")
    client = signed_in(dana)
    assert (
        client.post("/account/security/", {"action": "passkey_remove", "passkey": key.pk, "password": "x"}).status_code
        == 400
    )
    assert (
        client.post(
            "/account/security/", {"action": "passkey_remove", "passkey": key.pk, "password": PASSWORD}
        ).status_code
        == 302
    )
    assert not Passkey.objects.filter(pk=key.pk).exists()


def test_the_security_page_needs_an_account():
    answer = Client().get("/account/security/")
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_page_sign_in_asks_for_the_second_step_before_any_session(bob):
    secret, _ = turn_on_totp(signed_in(bob))
    TotpDevice.objects.filter(user=bob).update(last_step=0)
    client = Client()
    answer = client.post("/login/", {"username": "bob", "password": PASSWORD, "next": "/share/"})
    assert answer.status_code == 302 and answer["Location"] == "/login/verify/"
    assert "_auth_user_id" not in client.session
    assert client.get("/welcome/").status_code == 302  # still signed out
    assert client.get("/login/verify/").status_code == 200
    wrong = client.post("/login/verify/", {"code": "000000"})
    assert wrong.status_code == 401 and "The code is not correct." in wrong.content.decode()
    done = client.post("/login/verify/", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302 and done["Location"] == "/share/"
    assert client.session["_auth_user_id"] == str(bob.pk)
    assert "pan_device" in done.cookies


def test_the_admin_door_leads_through_the_second_step(alice):
    secret, _ = turn_on_totp(signed_in(alice))
    TotpDevice.objects.filter(user=alice).update(last_step=0)
    client = Client()
    door = client.get("/admin/login/")
    assert door.status_code == 302 and door["Location"].startswith("/login/")
    client.post("/login/", {"username": "alice", "password": PASSWORD, "next": "/admin/"})
    assert client.get("/admin/").status_code == 302  # the password alone does not open it
    done = client.post("/login/verify/", {"code": pyotp.TOTP(secret).now()})
    assert done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_admins_without_a_factor_are_sent_to_set_one_up(alice, bob, settings, api_as):
    settings.MFA_REQUIRED_FOR_ADMINS = True
    admin = signed_in(alice)
    for path in ("/welcome/", "/admin/", "/share/"):
        answer = admin.get(path)
        assert answer.status_code == 302 and answer["Location"] == "/account/security/", path
    assert admin.get("/account/security/").status_code == 200
    api = admin.get("/api/me")
    assert api.status_code == 403 and api.json()["error"]["code"] == "mfa_setup_required"
    jwt = api_as(alice).get("/api/me")
    assert jwt.status_code == 403 and jwt.json()["error"]["code"] == "mfa_setup_required"
    # Members are not held; nor is the admin once a factor is on.
    assert signed_in(bob).get("/welcome/").status_code == 200
    assert api_as(bob).get("/api/me").status_code == 200
    turn_on_totp(admin)
    assert admin.get("/welcome/").status_code == 200
    assert api_as(alice).get("/api/me").status_code == 200


def test_the_requirement_is_off_by_default(alice):
    assert signed_in(alice).get("/welcome/").status_code == 200
    assert factors.user_must_set_up_factor(user=alice) is False


def test_the_security_page_speaks_chinese(bob):
    client = signed_in(bob)
    page = client.get("/account/security/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "身份验证器" in page.content.decode()
