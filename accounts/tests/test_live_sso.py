"""Single sign-on through a real Pan server process and a real OpenID provider (node's
oidc-provider), a real HTTP client following the redirects as a browser does: the
account is created with roles from the claim, signing out ends Pan's session and the
provider's (RP-initiated logout), a second sign-in with changed groups changes the roles."""

import json
import re
from urllib.parse import urljoin

import httpx
import pytest

from project.testing import LiveServer

from .oidc_support import CLIENT_ID, CLIENT_SECRET, OpenIdProvider, sign_in_at_provider

pytestmark = pytest.mark.live

USERS = {
    "erin": {
        "preferred_username": "erin",
        "email": "erin@example.org",
        "email_verified": True,
        "groups": ["pan-admins"],
    }
}


def _audit(server: LiveServer) -> list:
    script = (
        "import json; from audit.models import AuditEvent; "
        "print(json.dumps([[e.action, e.detail] for e in AuditEvent.objects.order_by('id')]))"
    )
    return json.loads(server.manage("shell", "-v", "0", "-c", script).stdout)


def _sign_in(http: httpx.Client, server: LiveServer) -> httpx.Response:
    start = http.get(f"{server.url}/oidc/login/?next=/welcome/")
    assert start.status_code == 302, start.text[:300]
    callback = sign_in_at_provider(http, start.headers["location"], "erin", f"{server.url}/oidc/callback/")
    return http.get(callback)


def _log_out(http: httpx.Client, server: LiveServer) -> httpx.Response:
    page = http.get(f"{server.url}/welcome/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return http.post(f"{server.url}/logout/", data={"csrfmiddlewaretoken": token}, headers={"Referer": server.url})


def test_sign_in_roles_and_logout_through_a_real_server_and_provider():
    with OpenIdProvider(USERS) as provider:
        env = {
            "OIDC_ISSUER": provider.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_NAME": "Example ID",
            "OIDC_ROLES_CLAIM": "groups",
            "OIDC_ROLES_MAP": "pan-admins=admin,pan-uploaders=uploaders",
        }
        with LiveServer(extra_env=env) as server, httpx.Client(timeout=20) as http:
            provider.set_uris([f"{server.url}/oidc/callback/"], [f"{server.url}/"])
            assert "Sign in with Example ID" in http.get(f"{server.url}/login/").text

            response = _sign_in(http, server)
            assert response.status_code == 302 and response.headers["location"] == "/welcome/", response.text[:300]
            me = http.get(f"{server.url}/api/me").json()
            assert (me["username"], me["roles"], me["is_staff"]) == ("erin", ["admin"], True)
            assert http.get(f"{server.url}/admin/").status_code == 200

            # Signing out: Pan's session ends, then the provider's logout with the hint.
            response = _log_out(http, server)
            assert response.status_code == 302
            end_session = response.headers["location"]
            assert end_session.startswith(f"{provider.issuer}/session/end?")
            assert http.get(f"{server.url}/api/me").status_code in (401, 403)
            confirm = http.get(end_session)
            assert confirm.status_code == 200, confirm.text[:300]
            action = re.search(r'action="([^"]+)"', confirm.text).group(1)
            xsrf = re.search(r'name="xsrf" value="([^"]+)"', confirm.text).group(1)
            done = http.post(urljoin(end_session, action), data={"xsrf": xsrf, "logout": "yes"})
            assert done.status_code in (302, 303) and done.headers["location"].startswith(f"{server.url}/")

            # The provider moved erin to the uploaders: the next sign-in says so.
            provider.set_users({"erin": {**USERS["erin"], "groups": ["pan-uploaders"]}})
            response = _sign_in(http, server)
            assert response.status_code == 302
            me = http.get(f"{server.url}/api/me").json()
            assert (me["username"], me["roles"], me["is_staff"]) == ("erin", ["uploaders"], False)

            rows = _audit(server)
            sso_logins = [detail for action, detail in rows if action == "login" and detail.get("method") == "sso"]
            assert [d["account"] for d in sso_logins] == ["created", "linked"]
            roles = [(action, detail["role"]) for action, detail in rows if action in ("role_grant", "role_revoke")]
            assert roles == [("role_grant", "admin"), ("role_revoke", "admin"), ("role_grant", "uploaders")]


def test_the_admin_requirement_spares_sso_sessions_but_not_local_ones_through_a_real_server():
    """MFA_REQUIRED_FOR_ADMINS under ASGI (the middleware's async path): erin's SSO session
    reaches the admin and the session API; her break-glass password sign-in is sent to set up."""
    with OpenIdProvider(USERS) as provider:
        env = {
            "OIDC_ISSUER": provider.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_ROLES_CLAIM": "groups",
            "OIDC_ROLES_MAP": "pan-admins=admin",
            "MFA_REQUIRED_FOR_ADMINS": "true",
        }
        with LiveServer(extra_env=env) as server, httpx.Client(timeout=20) as http:
            provider.set_uris([f"{server.url}/oidc/callback/"], [f"{server.url}/"])
            assert _sign_in(http, server).status_code == 302
            assert http.get(f"{server.url}/admin/").status_code == 200
            assert http.get(f"{server.url}/welcome/").status_code == 200
            assert http.get(f"{server.url}/api/me").json()["username"] == "erin"

            password = "Correct-Horse-42"
            server.manage(
                "shell", "-v", "0", "-c",
                "from accounts.models import User; u = User.objects.get(username='erin'); "
                f"u.set_password({password!r}); u.save()",
            )  # fmt: skip
            with httpx.Client(timeout=20) as local:
                page = local.get(f"{server.url}/login/")
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
                response = local.post(
                    f"{server.url}/login/",
                    data={"csrfmiddlewaretoken": token, "username": "erin", "password": password},
                    headers={"Referer": f"{server.url}/login/"},
                )
                assert response.status_code == 302, response.text[:300]
                held = local.get(f"{server.url}/admin/")
                assert held.status_code == 302 and held.headers["location"] == "/account/security/"
                assert local.get(f"{server.url}/api/me").json()["error"]["code"] == "mfa_setup_required"
