"""Single sign-on and the second factor together (issue 25, docs/second-factor.md):
under MFA_REQUIRED_FOR_ADMINS a session signed in through the OpenID provider (a real
one: node's oidc-provider) is not held, a local sign-in of the same account is, and the
security page of an account without a password says its factors are the provider's."""

import pyotp
import pytest
from django.test import Client

from accounts import factors
from accounts.models import User
from conftest import PASSWORD

from . import test_sso
from .test_sso import EN, sso_sign_in

# test_sso.py's fixtures: its provider (one per module), its settings, the browser's side.
provider, sso, browser = test_sso.provider, test_sso.sso, test_sso.browser

pytestmark = pytest.mark.django_db


@pytest.fixture
def required(sso):
    sso.MFA_REQUIRED_FOR_ADMINS = True
    return sso


def local_login(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def test_an_sso_admin_reaches_the_admin_without_a_local_factor(client, required, browser, alice):
    response = sso_sign_in(client, browser, "erin", next_url="/admin/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    erin = User.objects.get(username="erin")
    assert erin.is_staff and not factors.user_has_factor(user=erin)
    assert factors.session_by_sso(client.session)
    for path in ("/admin/", "/welcome/", "/admin/accounts/user/"):
        assert client.get(path).status_code == 200, path
    assert client.get("/api/me").status_code == 200  # the session API too
    # A local admin with the same setting is still sent to set one up.
    local = local_login("alice")
    response = local.get("/admin/")
    assert response.status_code == 302 and response["Location"] == "/account/security/"
    assert local.get("/api/me").json()["error"]["code"] == "mfa_setup_required"


def test_a_local_break_glass_sign_in_of_the_sso_admin_is_held(client, required, browser, api):
    sso_sign_in(client, browser, "erin")
    erin = User.objects.get(username="erin")
    erin.set_password(PASSWORD)  # a break-glass password an operator gave the account
    erin.save()  # (which ends the sessions signed in before: Django's session hash)
    assert client.get("/admin/").status_code == 302
    sso_sign_in(client, browser, "erin")
    local = local_login("erin")
    assert not factors.session_by_sso(local.session)
    response = local.get("/admin/")
    assert response.status_code == 302 and response["Location"] == "/account/security/"
    assert local.get("/api/me").status_code == 403
    # A JWT comes only from a local sign-in: held too.
    tokens = api.post("/api/login", {"username": "erin", "password": PASSWORD}, format="json").json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    answer = api.get("/api/me")
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "mfa_setup_required"
    # The SSO session of the same account is not.
    assert client.get("/admin/").status_code == 200
    # Once erin sets up a factor (with the password), the local sign-in is let through too.
    page = local.get("/account/security/", **EN).content.decode()
    assert 'id="must-set-up"' in page
    secret = local.session["pan_mfa_totp_secret"]
    local.post("/account/security/", {"action": "totp_add", "code": pyotp.TOTP(secret).now(), "password": PASSWORD})
    assert factors.user_has_factor(user=erin)
    assert local.get("/admin/").status_code == 200


def test_the_security_page_of_an_sso_only_account_says_the_factors_are_the_providers(
    client,
    required,
    browser,
):
    sso_sign_in(client, browser, "erin")
    page = client.get("/account/security/", **EN)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="factors-elsewhere"' in html and "A second factor for your sign-in is set up at Example ID" in html
    assert 'id="totp-add-form"' not in html and 'id="passkey-add-form"' not in html and 'id="must-set-up"' not in html
    assert "pan_mfa_totp_secret" not in client.session  # no set-up started
    # Posting a set-up anyway changes nothing.
    client.post("/account/security/", {"action": "totp_add", "code": "123456", "password": ""})
    assert not factors.user_has_factor(user=User.objects.get(username="erin"))
    zh = client.get("/account/security/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "登录所用的第二因素在 Example ID 设置" in zh


def test_the_security_page_of_an_sso_session_with_a_password_says_what_its_factors_protect(
    client,
    sso,
    browser,
):
    sso_sign_in(client, browser, "frank")
    frank = User.objects.get(username="frank")
    frank.set_password(PASSWORD)
    frank.save()
    client.force_login(frank, backend=factors.SSO_BACKEND)  # the same session kind after a password change
    html = client.get("/account/security/", **EN).content.decode()
    assert 'id="sso-session"' in html and 'id="totp-add-form"' in html
    assert 'id="sso-session"' not in local_login("frank").get("/account/security/", **EN).content.decode()


def test_the_sso_backend_name_is_the_one_signing_sessions_in(settings):
    assert factors.SSO_BACKEND in settings.AUTHENTICATION_BACKENDS
