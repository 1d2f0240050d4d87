"""Single sign-on with OpenID Connect (issue 25, docs/sign-in.md), Pan in this process
against a real provider (node's oidc-provider, its own process) and the attacker's
provider (a real HTTP server in a thread): accounts, roles, the attacks, a provider
that is down, OIDC_ONLY with its break-glass account, the admin's door."""

import socket
import time

import httpx
import pytest
from django.test import Client

from accounts.models import ExternalIdentity, User
from accounts.services import sso_username_pick
from audit.models import Action, AuditEvent

from .oidc_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    HostileProvider,
    OpenIdProvider,
    callback_path,
    sign_in_at_provider,
    unsigned_token,
)

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/oidc/callback/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
PASSWORD = "Correct-Horse-42"  # conftest.py's personas
USERS = {
    "erin": {
        "preferred_username": "erin",
        "email": "erin@example.org",
        "email_verified": True,
        "groups": ["pan-admins"],
    },
    "frank": {
        "preferred_username": "frank",
        "email": "frank@example.org",
        "email_verified": True,
        "groups": ["pan-uploaders"],
    },
    "hank": {"preferred_username": "hank", "email": "hank@example.org", "email_verified": False, "groups": []},
}


@pytest.fixture(scope="module")
def provider():
    with OpenIdProvider(USERS, [CALLBACK], ["http://testserver/"]) as running:
        yield running


@pytest.fixture
def sso(settings, provider):
    provider.set_users(USERS)
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_NAME = "Example ID"
    settings.OIDC_ROLES_CLAIM = "groups"
    settings.OIDC_ROLES_MAP = {"pan-admins": "admin", "pan-uploaders": "uploaders"}
    return settings


@pytest.fixture
def browser():
    """The browser's side at the provider (its cookies); Pan's side is a Django test client."""
    with httpx.Client(timeout=10) as http:
        yield http


def provider_callback(client, browser, login, next_url=""):
    """Start at Pan, sign in at the provider; the callback address, not yet followed."""
    response = client.get("/oidc/login/" + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302, response.content[:300]
    return sign_in_at_provider(browser, response["Location"], login, CALLBACK)


def sso_sign_in(client, browser, login, next_url=""):
    return client.get(callback_path(provider_callback(client, browser, login, next_url)))


def signed_in_as(client):
    me = client.get("/api/me")
    return me.json() if me.status_code == 200 else None


def last_failure():
    return AuditEvent.objects.filter(action=Action.LOGIN_FAILED).order_by("-id").first()


# --- The login page ----------------------------------------------------------


def test_nothing_configured_no_button_and_no_flow(client):
    html = client.get("/login/", **EN).content.decode()
    assert 'id="sso-login"' not in html and 'name="username"' in html
    assert client.get("/oidc/login/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404


@pytest.mark.parametrize(
    ("headers", "said"), [(EN, "Sign in with Example ID"), (ZH, "使用 Example ID 登录")], ids=["en", "zh"]
)
def test_the_button_names_the_provider_in_both_languages(client, sso, headers, said):
    html = client.get("/login/?next=/files/", **headers).content.decode()
    assert said in html
    assert 'href="/oidc/login/?next=/files/"' in html
    assert 'name="username"' in html  # local sign-in stays


def test_the_request_carries_state_nonce_and_an_s256_challenge(client, sso):
    location = client.get("/oidc/login/")["Location"]
    query = httpx.URL(location).params
    assert location.startswith(f"{sso.OIDC_ISSUER}/auth?")
    assert query["response_type"] == "code" and query["redirect_uri"] == CALLBACK
    assert query["scope"] == "openid profile email" and query["client_id"] == CLIENT_ID
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43


# --- Accounts and roles ----------------------------------------------------------


def test_sign_in_creates_the_account_with_roles_from_the_claim(client, sso, browser):
    response = sso_sign_in(client, browser, "erin", next_url="/files/")
    assert response.status_code == 302 and response["Location"] == "/files/"
    me = signed_in_as(client)
    assert me["username"] == "erin" and me["roles"] == ["admin"] and me["is_staff"] is True
    user = User.objects.get(username="erin")
    assert not user.has_usable_password() and user.email == "erin@example.org"
    assert ExternalIdentity.objects.get(user=user).issuer == sso.OIDC_ISSUER
    login = AuditEvent.objects.get(action=Action.LOGIN, object_id=str(user.pk))
    assert login.detail == {"method": "sso", "issuer": sso.OIDC_ISSUER, "account": "created"}
    assert AuditEvent.objects.filter(action=Action.ROLE_GRANT, object_id=str(user.pk)).count() == 1
    # The admin is reached through the same sign-in, and /admin/login/ leads there.
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/login/")["Location"] == "/admin/"


def test_a_second_sign_in_with_other_groups_changes_the_roles(client, sso, provider, browser):
    sso_sign_in(client, browser, "frank")
    assert signed_in_as(client)["roles"] == ["uploaders"]
    user = User.objects.get(username="frank")
    provider.set_users({**USERS, "frank": {**USERS["frank"], "groups": ["pan-admins", "unmapped"]}})
    client.post("/logout/")
    second = Client()
    sso_sign_in(second, browser, "frank")
    me = signed_in_as(second)
    assert me["username"] == "frank" and me["roles"] == ["admin"] and me["is_staff"] is True
    assert User.objects.count() == 1  # the same account, linked by issuer and subject
    changes = AuditEvent.objects.filter(object_id=str(user.pk), action__in=[Action.ROLE_GRANT, Action.ROLE_REVOKE])
    assert sorted((e.action, e.detail["role"]) for e in changes) == [
        ("role_grant", "admin"),
        ("role_grant", "uploaders"),
        ("role_revoke", "uploaders"),
    ]
    # Groups taken away at the provider: no role left, no staff.
    provider.set_users({**USERS, "frank": {**USERS["frank"], "groups": []}})
    third = Client()
    sso_sign_in(third, browser, "frank")
    assert signed_in_as(third)["roles"] == [] and signed_in_as(third)["is_staff"] is False


def test_without_a_roles_claim_new_accounts_get_the_default_roles_and_keep_theirs(client, sso, browser):
    sso.OIDC_ROLES_CLAIM = ""
    sso_sign_in(client, browser, "erin")
    assert signed_in_as(client)["roles"] == ["users"]  # not admin: the claim is not read


def test_a_taken_username_gives_the_new_account_another(client, sso, browser, make_user):
    make_user("erin")
    sso_sign_in(client, browser, "erin")
    assert signed_in_as(client)["username"] == "erin-2"


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"preferred_username": "b0b"}, "b0b-2"),  # looks like bob (SPEC §3): another
        ({"preferred_username": "BOB"}, "BOB-2"),
        ({"preferred_username": "小明"}, "小明"),
        ({"preferred_username": "ｍａｒｙ ａｎｎ!"}, "mary-ann"),  # NFKC, a space and ! made -
        ({"preferred_username": "x", "email": "kim.lee@example.org"}, "kim.lee"),
        ({"email": "@example.org"}, "user"),
        ({}, "user"),
    ],
    ids=["look-alike", "case", "cjk", "nfkc", "email", "empty-email", "nothing"],
)
def test_usernames_from_claims_pass_the_username_rules(make_user, claims, expected):
    make_user("bob")
    assert sso_username_pick(claims=claims) == expected


def test_link_by_verified_email_only_when_set(client, sso, browser, make_user):
    local = make_user("frank-local")
    local.email = "Frank@example.org"
    local.save()
    sso_sign_in(client, browser, "frank")
    assert signed_in_as(client)["username"] == "frank"  # off by default: a new account
    User.objects.filter(username="frank").delete()
    sso.OIDC_LINK_BY_EMAIL = True
    second = Client()
    sso_sign_in(second, browser, "frank")
    assert signed_in_as(second)["username"] == "frank-local"
    assert ExternalIdentity.objects.get(subject="frank").user == local
    assert AuditEvent.objects.filter(action=Action.LOGIN, detail__account="linked_by_email").count() == 1


def test_an_unverified_email_links_nothing(client, sso, browser, make_user):
    sso.OIDC_LINK_BY_EMAIL = True
    local = make_user("hank-local")
    local.email = "hank@example.org"
    local.save()
    sso_sign_in(client, browser, "hank")
    assert signed_in_as(client)["username"] == "hank"
    assert User.objects.get(username="hank").email == ""  # nor is it stored


def test_a_disabled_account_is_refused(client, sso, browser):
    sso_sign_in(client, browser, "erin")
    User.objects.filter(username="erin").update(is_active=False)
    second = Client()
    response = sso_sign_in(second, browser, "erin")
    assert response.status_code == 403 and signed_in_as(second) is None
    assert last_failure().detail["reason"] == "account_inactive"


# --- Attacks through the real provider -------------------------------------------


def test_a_wrong_state_is_refused(client, sso, browser):
    callback = provider_callback(client, browser, "erin")
    forged = callback.replace("state=", "state=x")
    response = client.get(callback_path(forged), **EN)
    assert response.status_code == 400 and 'data-reason="sso_state_invalid"' in response.content.decode()
    assert signed_in_as(client) is None and not User.objects.exists()
    assert last_failure().detail == {"method": "sso", "issuer": sso.OIDC_ISSUER, "reason": "state_unknown"}


def test_a_replayed_callback_is_refused(client, sso, browser):
    callback = provider_callback(client, browser, "erin")
    assert client.get(callback_path(callback)).status_code == 302
    client.post("/logout/")
    for replayer in (client, Client()):  # the same browser again, or another one
        response = replayer.get(callback_path(callback))
        assert response.status_code == 400 and signed_in_as(replayer) is None
        assert last_failure().detail["reason"] == "state_unknown"


def test_a_wrong_nonce_is_refused(client, sso, browser):
    callback = provider_callback(client, browser, "erin")
    session = client.session
    state = httpx.URL(callback).params["state"]
    session["oidc_states"][state]["nonce"] = "another-sign-in"
    session.save()
    response = client.get(callback_path(callback), **ZH)
    assert response.status_code == 403 and "登录被拒绝" in response.content.decode()
    assert signed_in_as(client) is None and not User.objects.exists()
    assert last_failure().detail["reason"] == "nonce_mismatch"


def test_a_code_with_another_pkce_verifier_is_refused(client, sso, browser):
    callback = provider_callback(client, browser, "erin")
    session = client.session
    state = httpx.URL(callback).params["state"]
    session["oidc_states"][state]["code_verifier"] = "x" * 64
    session.save()
    assert client.get(callback_path(callback)).status_code == 403 and signed_in_as(client) is None
    assert last_failure().detail["reason"] == "code_refused"


def test_the_provider_saying_no_is_a_clear_refusal(client, sso):
    location = client.get("/oidc/login/")["Location"]
    state = httpx.URL(location).params["state"]
    response = client.get(f"/oidc/callback/?error=access_denied&state={state}", **EN)
    assert response.status_code == 403 and "The sign-in was refused." in response.content.decode()
    assert last_failure().detail["reason"] == "provider_error:access_denied"
    assert client.get(f"/oidc/callback/?code=x&state={state}").status_code == 400  # the state is gone


# --- Attacks from a hostile provider -------------------------------------------------


@pytest.fixture
def hostile(settings):
    with HostileProvider() as running:
        settings.OIDC_ISSUER = running.issuer
        settings.OIDC_CLIENT_ID = CLIENT_ID
        settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
        settings.OIDC_ROLES_CLAIM = "groups"
        settings.OIDC_ROLES_MAP = {"pan-admins": "admin"}
        yield running


def hostile_sign_in(client, hostile):
    location = client.get("/oidc/login/")["Location"]
    back = httpx.get(location).headers["location"]
    return client.get(callback_path(back))


def test_the_hostile_provider_signs_in_with_an_honest_token(client, hostile):
    # The control: the harness itself works, so each refusal below is the check's.
    response = hostile_sign_in(client, hostile)
    assert response.status_code == 302 and signed_in_as(client)["username"] == "mallory"


FORGERIES = {
    "another_key": (lambda h, c: h.sign(c, key=h.other_key), "id_token_signature"),
    "alg_none": (lambda h, c: unsigned_token(c), "id_token_algorithm"),
    "hs256_with_public_key": (
        lambda h, c: __import__("jwt").encode(c, "k" * 32, algorithm="HS256", headers={"kid": "k1"}),
        "id_token_algorithm",
    ),
    "wrong_audience": (lambda h, c: h.sign({**c, "aud": "another-client"}), "id_token_audience"),
    "several_audiences_no_azp": (lambda h, c: h.sign({**c, "aud": [CLIENT_ID, "another"]}), "id_token_audience"),
    "expired": (
        lambda h, c: h.sign({**c, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}),
        "id_token_expired",
    ),
    "wrong_issuer": (lambda h, c: h.sign({**c, "iss": "http://127.0.0.1:1"}), "id_token_issuer"),
    "wrong_nonce": (lambda h, c: h.sign({**c, "nonce": "from-another-sign-in"}), "nonce_mismatch"),
    "no_expiry": (lambda h, c: h.sign({k: v for k, v in c.items() if k != "exp"}), "id_token_signature"),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_forged_id_tokens_are_refused(client, hostile, forgery):
    forge, reason = FORGERIES[forgery]
    hostile.forge = lambda claims: forge(hostile, claims)
    response = hostile_sign_in(client, hostile)
    assert response.status_code == 403, forgery
    assert 'data-reason="sso_refused"' in response.content.decode()
    assert signed_in_as(client) is None and not User.objects.exists()
    assert last_failure().detail["reason"] == reason


def test_discovery_naming_another_issuer_is_refused(client, settings, hostile):
    settings.OIDC_ISSUER = hostile.issuer + "/"  # the document says it without the slash
    response = client.get("/oidc/login/")
    assert response.status_code == 503 and last_failure().detail["reason"] == "discovery_issuer_mismatch"


# --- A provider that is down; OIDC_ONLY ---------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("headers", "said"),
    [(EN, "Example ID cannot be reached right now"), (ZH, "Example ID 目前无法连接")],
    ids=["en", "zh"],
)
def test_a_provider_that_is_down_is_a_clear_page_and_local_login_works(client, settings, bob, headers, said):
    settings.OIDC_ISSUER = f"http://127.0.0.1:{closed_port()}"
    settings.OIDC_CLIENT_ID, settings.OIDC_NAME = CLIENT_ID, "Example ID"
    response = client.get("/oidc/login/", **headers)
    assert response.status_code == 503 and said in response.content.decode()
    assert last_failure().detail["reason"] == "discovery_failed"
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302 and signed_in_as(client)["username"] == "bob"


def test_oidc_only_refuses_local_passwords_but_for_break_glass(settings, alice, bob, charlie, dana, api):
    settings.OIDC_ISSUER, settings.OIDC_CLIENT_ID = f"http://127.0.0.1:{closed_port()}", CLIENT_ID
    settings.OIDC_ONLY, settings.OIDC_BREAK_GLASS_USERS = True, ["alice"]
    for user in (bob, charlie, dana):
        client = Client()
        response = client.post("/login/", {"username": user.username, "password": PASSWORD}, **EN)
        assert response.status_code == 403 and "passwords of this site are turned off" in response.content.decode()
        assert signed_in_as(client) is None
        assert last_failure().detail == {"reason": "local_passwords_off"} and last_failure().object_id == str(user.pk)
        assert api.post("/api/login", {"username": user.username, "password": PASSWORD}).status_code == 403
    client = Client()
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and signed_in_as(client)["username"] == "alice"
    assert client.get("/admin/").status_code == 200
    anonymous = Client()
    assert anonymous.get("/register/").status_code == 403
    assert 'href="/register/"' not in anonymous.get("/login/").content.decode()
    assert (
        anonymous.post("/register/", {"username": "eve", "password": PASSWORD, "password2": PASSWORD}).status_code
        == 403
    )
    assert api.post("/api/register", {"username": "eve", "password": PASSWORD}).status_code == 403
    assert not User.objects.filter(username="eve").exists()


def test_the_admin_login_leads_to_pans_login_with_next(client, sso):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    html = client.get(response["Location"]).content.decode()
    assert 'id="sso-login"' in html


# --- Logout -----------------------------------------------------------------------


def test_logout_ends_the_session_and_goes_to_the_providers_logout(client, sso, browser):
    sso_sign_in(client, browser, "erin")
    id_token = client.session["pan_oidc_id_token"]
    response = client.post("/logout/")
    assert signed_in_as(client) is None
    target = httpx.URL(response["Location"])
    assert str(target).startswith(f"{sso.OIDC_ISSUER}/session/end?")
    assert target.params["id_token_hint"] == id_token
    assert target.params["post_logout_redirect_uri"] == "http://testserver/"
    # The provider accepts the hint and the address: it asks whether to sign out there too.
    page = browser.get(str(target))
    assert page.status_code == 200 and "logout" in page.text.lower()


def test_a_local_account_logs_out_at_home(client, sso, bob):
    client.post("/login/", {"username": "bob", "password": PASSWORD})
    assert client.post("/logout/")["Location"] == "/"
