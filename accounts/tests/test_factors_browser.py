"""The second factor in Chromium against a live daphne: TOTP, passkeys, the admin requirement.

Served as http://localhost (a secure context for WebAuthn), so the passkeys'
RP ID is "localhost". Passkeys are made and used by Chromium's virtual
authenticator (DevTools protocol, WebAuthn domain).
"""

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import httpx
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


def virtual_authenticator(context, page):
    """A virtual authenticator (CTAP2, platform, user verified) for `page`:
    its DevTools session and id."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
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
    return cdp, added["authenticatorId"]


def passkey_registered(context, page, url, name):
    """Sign `name` in with the password, give `page` a virtual authenticator
    and register a passkey ("Test phone") on the security page. Returns the
    authenticator's DevTools session and id."""
    authenticator = virtual_authenticator(context, page)
    sign_in_password(page, url, name)
    page.wait_for_url("**/welcome/")
    page.goto(f"{url}/account/security/")
    page.fill("#passkey-name", "Test phone")
    page.fill("#passkey-password", PASSWORD)
    page.click("#passkey-add-form button[type=submit]")
    page.wait_for_selector("#recovery-codes")
    return authenticator


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
        url = base(mfa_server)
        passkey_registered(context, page, url, "passkey-user")
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


def _factor_refusals(server, username: str) -> list[str]:
    """The reasons of the `factor_failed` audit rows about `username`, oldest first."""
    script = (
        "import json; from audit.models import Action, AuditEvent; "
        "from django.contrib.auth import get_user_model; "
        f"user = get_user_model().objects.get(username={username!r}); "
        "rows = AuditEvent.objects.filter(action=Action.FACTOR_FAILED, object_id=str(user.pk)).order_by('id'); "
        "print(json.dumps([row.detail.get('reason') for row in rows]))"
    )
    return json.loads(server.manage("shell", "-v", "0", "-c", script).stdout)


def _assertion_held(page) -> dict[str, str]:
    """Click "Use a passkey": the virtual authenticator signs, and the form's
    POST is stopped in the browser. Returns the fields it would have sent."""
    sent: list[str] = []

    def hold(route):
        if route.request.method == "POST":
            sent.append(route.request.post_data or "")
            route.abort()
        else:
            route.continue_()

    page.route("**/login/verify/", hold)
    try:
        with page.expect_event("requestfailed", lambda request: request.method == "POST"):
            page.click("#use-passkey")
    finally:
        page.unroute("**/login/verify/")
    assert len(sent) == 1
    return {name: values[0] for name, values in parse_qs(sent[0]).items()}


def _verify_post(server, *, host: str, fields: dict[str, str], cookies: dict[str, str]) -> httpx.Response:
    """POST the second step to the server, addressed with `Host: host` (the
    server derives the origin it expects from it) and the browser's cookies."""
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return httpx.post(
        f"{server.url}/login/verify/",
        data=fields,
        headers={"Host": host, "Cookie": cookie},
        follow_redirects=False,
        timeout=30,
    )


def _signed_in(server, host: str, session: str) -> str | None:
    """The text of /welcome/ for this session cookie, or None when it sends to
    the sign-in page (no signed-in session)."""
    page = httpx.get(
        f"{server.url}/welcome/", headers={"Host": host, "Cookie": f"sessionid={session}"}, follow_redirects=False
    )
    if page.status_code == 302 and "/login/" in page.headers["location"]:
        return None
    assert page.status_code == 200, page.status_code
    return page.text


def test_a_passkey_assertion_for_another_origin_or_replayed_is_refused(mfa_server, chromium):
    """Issue 25: a REAL assertion (Chromium's virtual authenticator, made on
    http://localhost:<port>) sent to the same server for the same challenge,
    but addressed so that the server expects another origin (same RP ID
    "localhost", another port): refused with `mfa_passkey_invalid`, audited,
    no session. The very same assertion is then accepted on its own origin,
    so the origin alone made the difference. Replayed for a fresh sign-in
    challenge afterwards, it is refused again, and the passkey still works."""
    from project.testing import guarded_context

    name = "origin-user"
    mfa_server.register(name, PASSWORD)
    context = guarded_context(chromium, viewport=DESKTOP)
    try:
        page = context.new_page()
        url = base(mfa_server)
        right_host = urlsplit(url).netloc  # localhost:<port>
        port = urlsplit(url).port
        passkey_registered(context, page, url, name)
        page.click("text=Log out")
        sign_in_password(page, url, name)
        page.wait_for_url("**/login/verify/")

        fields = _assertion_held(page)
        signed = json.loads(fields["passkey"])["response"]["clientDataJSON"]
        client_data = json.loads(base64.urlsafe_b64decode(signed + "=="))
        assert client_data["type"] == "webauthn.get"
        assert client_data["origin"] == f"http://{right_host}"
        cookies = {cookie["name"]: cookie["value"] for cookie in context.cookies(url)}
        assert _factor_refusals(mfa_server, name) == []

        # The server is asked as another origin on the same RP ID: without a
        # port (http://localhost) and on another port.
        for wrong_host in ("localhost", f"localhost:{port + 1}"):
            refused = _verify_post(mfa_server, host=wrong_host, fields=fields, cookies=cookies)
            assert refused.status_code == 401, (wrong_host, refused.status_code, refused.text[:300])
            assert "The passkey could not be verified." in refused.text
            assert 'id="verify-error"' in refused.text
            assert not _signed_in(mfa_server, right_host, refused.cookies.get("sessionid", cookies["sessionid"]))
        assert _factor_refusals(mfa_server, name) == ["mfa_passkey_invalid", "mfa_passkey_invalid"]
        # The same assertion, for the same challenge, on its own origin: accepted.
        accepted = _verify_post(mfa_server, host=right_host, fields=fields, cookies=cookies)
        assert accepted.status_code == 302, accepted.text[:300]
        assert accepted.headers["location"] == "/welcome/"
        assert name in (_signed_in(mfa_server, right_host, accepted.cookies["sessionid"]) or "")

        # Replayed for a fresh sign-in challenge (the browser's session was
        # rotated away by that sign-in): the challenge it signed is not this one.
        sign_in_password(page, url, name)
        page.wait_for_url("**/login/verify/")
        fresh = {
            "csrfmiddlewaretoken": page.input_value("#verify-passkey-form input[name=csrfmiddlewaretoken]"),
            "passkey": fields["passkey"],
        }
        cookies = {cookie["name"]: cookie["value"] for cookie in context.cookies(url)}
        replayed = _verify_post(mfa_server, host=right_host, fields=fresh, cookies=cookies)
        assert replayed.status_code == 401, replayed.text[:300]
        assert "The passkey could not be verified." in replayed.text
        assert not _signed_in(mfa_server, right_host, replayed.cookies.get("sessionid", cookies["sessionid"]))
        assert _factor_refusals(mfa_server, name) == ["mfa_passkey_invalid"] * 3

        # The passkey itself still works: a new assertion signs in.
        page.goto(f"{url}/login/verify/")
        page.click("#use-passkey")
        page.wait_for_url("**/welcome/")
        assert name in page.text_content("h1")
    finally:
        context.close()


def test_a_cloned_passkey_whose_counter_went_back_is_refused(mfa_server, chromium):
    """The signature counter must move forward: the same credential (its
    private key) copied into a second authenticator whose counter starts
    again at 0 signs a right assertion (origin, RP ID, challenge) with a count
    the server has seen already: refused, audited, no session."""
    from project.testing import guarded_context

    name = "clone-user"
    mfa_server.register(name, PASSWORD)
    url = base(mfa_server)
    first = guarded_context(chromium, viewport=DESKTOP)
    try:
        page = first.new_page()
        cdp, authenticator_id = passkey_registered(first, page, url, name)
        page.click("text=Log out")
        sign_in_password(page, url, name)
        page.wait_for_url("**/login/verify/")
        page.click("#use-passkey")
        page.wait_for_url("**/welcome/")
        (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
        assert credential["signCount"] >= 1
    finally:
        first.close()

    second = guarded_context(chromium, viewport=DESKTOP)
    try:
        page = second.new_page()
        cdp, clone_id = virtual_authenticator(second, page)
        cdp.send("WebAuthn.addCredential", {"authenticatorId": clone_id, "credential": {**credential, "signCount": 0}})
        sign_in_password(page, url, name)
        page.wait_for_url("**/login/verify/")
        page.click("#use-passkey")
        page.wait_for_selector("#verify-error")
        assert "The passkey could not be verified." in page.text_content("#verify-error")
        assert _factor_refusals(mfa_server, name) == ["mfa_passkey_invalid"]
        page.goto(f"{url}/welcome/")
        page.wait_for_url("**/login/**")  # no session
    finally:
        second.close()
