"""The second factor in Chromium against a live daphne: TOTP, passkeys, the admin requirement.

Served as http://localhost (a secure context for WebAuthn), so the passkeys'
RP ID is "localhost". Passkeys are made and used by Chromium's virtual
authenticator (DevTools protocol, WebAuthn domain).
"""

import time

import pyotp
import pytest

from project.testing_browser import DESKTOP, PASSWORD, PHONE, axe_violations

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def mfa_server():
    """A server requiring a second factor of admins; its first account is the admin."""
    from project.testing import LiveServer

    with LiveServer(extra_env={"MFA_REQUIRED_FOR_ADMINS": "true", "RATE_LIMIT_ENABLED": "false"}) as server:
        server.register("chief", PASSWORD)
        yield server


def base(server) -> str:
    return server.url.replace("127.0.0.1", "localhost")


def sign_in_password(page, url, name):
    page.goto(f"{url}/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")


def test_an_admin_without_a_factor_is_sent_to_set_one_up(mfa_server, chromium):
    from project.testing import guarded_context

    context = guarded_context(chromium, viewport=PHONE)
    try:
        page = context.new_page()
        url = base(mfa_server)
        sign_in_password(page, url, "chief")
        page.wait_for_url("**/account/security/")
        assert page.locator("#must-set-up").is_visible()
        page.goto(f"{url}/admin/")
        page.wait_for_url("**/account/security/")
        # Phone layout: nothing wider than the screen.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        assert axe_violations(page) == []
    finally:
        context.close()


def test_totp_set_up_from_the_page_then_sign_in_with_a_code(mfa_server, chromium):
    from project.testing import guarded_context

    mfa_server.register("totp-user", PASSWORD)
    context = guarded_context(chromium, viewport=DESKTOP)
    try:
        page = context.new_page()
        url = base(mfa_server)
        sign_in_password(page, url, "totp-user")
        page.wait_for_url("**/welcome/")
        page.goto(f"{url}/account/security/")
        assert axe_violations(page) == []
        secret = page.text_content("#totp-secret").replace(" ", "")
        page.fill("#totp-code", pyotp.TOTP(secret).now())
        page.fill("#totp-password", PASSWORD)
        page.click("#totp-add-form button[type=submit]")
        page.wait_for_selector("#recovery-codes")
        assert page.locator("#recovery-codes li").count() == 10
        assert page.locator('#totp .factor-state[data-state="on"]').count() == 1

        page.click("text=Log out")
        sign_in_password(page, url, "totp-user")
        page.wait_for_url("**/login/verify/")
        assert axe_violations(page) == []
        page.goto(f"{url}/welcome/")
        page.wait_for_url("**/login/**")  # no session after the password alone
        page.goto(f"{url}/login/verify/")
        # The set-up used this step's code: the next step's is inside the drift allowed.
        page.fill("#id_code", pyotp.TOTP(secret).at(time.time() + 30))
        page.click("#verify-code-form button[type=submit]")
        page.wait_for_url("**/welcome/")
    finally:
        context.close()


def test_a_passkey_registered_and_used_with_the_virtual_authenticator(mfa_server, chromium):
    from project.testing import guarded_context

    mfa_server.register("passkey-user", PASSWORD)
    context = guarded_context(chromium, viewport=PHONE)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )
        url = base(mfa_server)
        sign_in_password(page, url, "passkey-user")
        page.wait_for_url("**/welcome/")
        page.goto(f"{url}/account/security/")
        page.fill("#passkey-name", "Test phone")
        page.fill("#passkey-password", PASSWORD)
        page.click("#passkey-add-form button[type=submit]")
        page.wait_for_selector("#recovery-codes")
        assert page.locator(".passkey-list li").count() == 1
        assert "Test phone" in page.text_content(".passkey-list")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]

        page.click("text=Log out")
        sign_in_password(page, url, "passkey-user")
        page.wait_for_url("**/login/verify/")
        page.click("#use-passkey")
        page.wait_for_url("**/welcome/")
        assert "passkey-user" in page.text_content("h1")
    finally:
        context.close()
