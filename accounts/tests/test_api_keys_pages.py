"""The account's pages (`/account/`, `/account/keys/`) and the admin's list of keys."""

import re

import pytest
from django.test import Client

from accounts import services
from accounts.models import ApiKey
from audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db

KEY_IN_PAGE = re.compile(r'value="(pan_[A-Za-z0-9_-]{32})"')


def signed_in(user, **extra) -> Client:
    client = Client(**extra)
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for path in ("/account/", "/account/keys/"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer["Location"].startswith("/login/?next=")
    assert (
        client.post("/account/keys/", {"action": "create", "name": "x", "scopes": ["shares:read"]}).status_code == 302
    )
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("persona", ["alice", "bob", "charlie", "dana"])
def test_every_account_has_the_hub_linked_from_the_navigation(request, persona):
    client = signed_in(request.getfixturevalue(persona))
    home = client.get("/").content.decode()
    assert 'href="/account/"' in home
    hub = client.get("/account/")
    assert hub.status_code == 200 and 'href="/account/keys/"' in hub.content.decode()


def test_a_key_made_on_the_page_is_shown_once(bob):
    client = signed_in(bob)
    made = client.post(
        "/account/keys/", {"action": "create", "name": "laptop", "scopes": ["shares:read", "links:read"]}
    )
    assert made.status_code == 200
    assert made["Cache-Control"] == "no-store"
    raw = KEY_IN_PAGE.search(made.content.decode()).group(1)
    key = ApiKey.objects.get(owner=bob)
    assert raw.startswith(key.prefix) and key.scopes == ["links:read", "shares:read"] and key.expires is None
    assert 'data-copy="#new-key"' in made.content.decode()
    again = client.get("/account/keys/").content.decode()
    assert raw not in again and key.prefix in again and "laptop" in again


def test_the_page_refuses_bad_input_and_keeps_nothing(bob):
    client = signed_in(bob, HTTP_ACCEPT_LANGUAGE="zh-Hans")
    for form in (
        {"action": "create", "name": "", "scopes": ["shares:read"]},
        {"action": "create", "name": "x", "scopes": ["shares:everything"]},
        {"action": "create", "name": "x"},
        {"action": "create", "name": "x", "scopes": ["shares:read"], "expires_in": "-5"},
    ):
        answer = client.post("/account/keys/", form)
        assert answer.status_code == 400, form
        assert 'role="alert"' in answer.content.decode()
    assert not ApiKey.objects.exists()
    assert (
        "请"
        in client.post("/account/keys/", {"action": "create", "name": "", "scopes": ["shares:read"]}).content.decode()
    )


def test_a_refused_form_keeps_what_was_chosen(bob):
    answer = signed_in(bob).post(
        "/account/keys/", {"action": "create", "name": "", "scopes": ["links:read"], "expires_in": str(90 * 86400)}
    )
    assert answer.status_code == 400
    page = answer.content.decode()
    assert re.search(r'value="links:read" checked', page) and not re.search(r'value="shares:read" checked', page)
    assert f'<option value="{90 * 86400}" selected>' in page and page.count(" selected>") == 2  # and the language
    assert not ApiKey.objects.exists()


def test_an_expiry_chosen_on_the_page_is_kept(dana):
    signed_in(dana).post(
        "/account/keys/", {"action": "create", "name": "ci", "scopes": ["shares:write"], "expires_in": str(30 * 86400)}
    )
    assert ApiKey.objects.get(owner=dana).expires is not None


@pytest.mark.parametrize("persona", ["alice", "bob", "charlie", "dana"])
def test_only_the_owner_revokes_on_the_page(request, persona, make_user):
    owner = make_user("owner-erin", roles=["uploaders"])
    key, _raw = services.api_key_create(owner=owner, name="erin's", scopes=["shares:read"])
    answer = signed_in(request.getfixturevalue(persona)).post("/account/keys/", {"action": "revoke", "id": str(key.pk)})
    assert answer.status_code == 404
    assert ApiKey.objects.filter(pk=key.pk).exists()
    assert signed_in(owner).post("/account/keys/", {"action": "revoke", "id": str(key.pk)}).status_code == 302
    assert not ApiKey.objects.filter(pk=key.pk).exists()
    assert AuditEvent.objects.filter(action=Action.API_KEY_REVOKE, actor=owner).count() == 1


@pytest.mark.parametrize(
    "given", ["", "abc", "9" * 5000, "-1", "١"], ids=["empty", "text", "huge", "negative", "arabic"]
)
def test_a_revocation_of_no_key_is_a_404(bob, given):
    assert signed_in(bob).post("/account/keys/", {"action": "revoke", "id": given}).status_code == 404


def test_the_page_needs_the_csrf_token(bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    assert (
        client.post("/account/keys/", {"action": "create", "name": "x", "scopes": ["shares:read"]}).status_code == 403
    )
    assert not ApiKey.objects.exists()


def test_the_pages_speak_chinese(bob):
    client = signed_in(bob, HTTP_ACCEPT_LANGUAGE="zh-Hans")
    assert "API 密钥" in client.get("/account/").content.decode()
    assert "新建密钥" in client.get("/account/keys/").content.decode()


# --- Django admin ------------------------------------------------------------------


def test_the_admin_lists_everyones_keys_without_their_digests(alice, bob, dana):
    bob_key, _ = services.api_key_create(owner=bob, name="bob's", scopes=["shares:read"])
    dana_key, _ = services.api_key_create(owner=dana, name="dana's", scopes=["shares:write"])
    admin = signed_in(alice)
    listing = admin.get("/admin/accounts/apikey/").content.decode()
    assert "bob&#x27;s" in listing and "dana&#x27;s" in listing
    detail = admin.get(f"/admin/accounts/apikey/{bob_key.pk}/change/").content.decode()
    assert bob_key.prefix in detail
    assert bob_key.digest not in listing and bob_key.digest not in detail and dana_key.digest not in listing
    assert admin.get("/admin/accounts/apikey/add/").status_code == 403


def test_the_admin_revokes_through_the_service(alice, bob):
    key, raw = services.api_key_create(owner=bob, name="bob's", scopes=["shares:read"])
    answer = signed_in(alice).post(
        "/admin/accounts/apikey/", {"action": "revoke", "_selected_action": [str(key.pk)], "index": "0"}
    )
    assert answer.status_code == 302
    assert not ApiKey.objects.exists()
    row = AuditEvent.objects.get(action=Action.API_KEY_REVOKE)
    assert row.actor == alice and row.detail["owner"] == "bob" and row.detail["prefix"] == key.prefix


@pytest.mark.parametrize("persona", ["bob", "charlie", "dana"])
def test_people_who_are_not_staff_see_no_keys_in_the_admin(request, persona):
    services.api_key_create(owner=request.getfixturevalue("alice"), name="alice's", scopes=["shares:read"])
    answer = signed_in(request.getfixturevalue(persona)).get("/admin/accounts/apikey/")
    assert answer.status_code == 403  # the admin's door for signed-in people who are not staff
    assert "alice&#x27;s" not in answer.content.decode()
