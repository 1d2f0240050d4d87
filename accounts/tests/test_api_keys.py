"""API keys (SPEC §3, docs/api-keys.md): made, listed and revoked by their
owner; `Authorization: Bearer pan_…` anywhere a JWT is, within the key's
scopes and its owner's permissions; the last use recorded without a write
per request; audited; never in logs."""

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiKey
from audit.models import Action, AuditEvent
from project.testing import released_at_once

pytestmark = pytest.mark.django_db

ALL_SCOPES = ["links:read", "links:write", "requests:write", "shares:read", "shares:write"]


def key_for(user, scopes=("shares:read",), **kwargs) -> str:
    _key, raw = services.api_key_create(owner=user, name=kwargs.pop("name", "test"), scopes=list(scopes), **kwargs)
    return raw


def with_key(raw: str, **extra) -> APIClient:
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def text_share(client):
    return client.post("/api/shares", {"text": "hello"}, format="json")


# --- making, listing, revoking ----------------------------------------------------


def test_a_key_is_made_shown_once_and_listed_without_it(api_as, bob):
    made = api_as(bob).post("/api/keys", {"name": "backup", "scopes": ["shares:read"]}, format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    raw = body["key"]
    assert raw.startswith("pan_") and len(raw) >= 36
    assert raw.startswith(body["prefix"]) and len(body["prefix"]) < len(raw) - 20
    assert body["scopes"] == ["shares:read"] and body["name"] == "backup" and body["expires"] is None
    stored = ApiKey.objects.get(pk=body["id"])
    assert raw not in (stored.digest, stored.prefix) and len(stored.digest) == 64
    listed = api_as(bob).get("/api/keys").json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert "key" not in listed[0] and raw not in str(listed)
    assert {"name", "prefix", "scopes", "created", "expires", "last_used", "last_client"} <= set(listed[0])
    # Each key is random: a second one differs in prefix and digest.
    other = api_as(bob).post("/api/keys", {"name": "two", "scopes": ["links:read"]}, format="json").json()
    assert other["key"] != raw and other["prefix"] != body["prefix"]


def test_the_list_holds_only_the_callers_keys(api_as, alice, bob):
    key_for(alice, name="alice's")
    key_for(bob, name="bob's")
    # Even an admin sees only their own here (everyone's are in Django admin).
    assert [row["name"] for row in api_as(alice).get("/api/keys").json()["results"]] == ["alice's"]
    assert [row["name"] for row in api_as(bob).get("/api/keys").json()["results"]] == ["bob's"]


def test_an_expiry_is_kept(api_as, dana):
    body = (
        api_as(dana)
        .post("/api/keys", {"name": "ci", "scopes": ["shares:write"], "expires_in": 3600}, format="json")
        .json()
    )
    expires = ApiKey.objects.get(pk=body["id"]).expires
    assert timedelta(minutes=59) < expires - timezone.now() <= timedelta(hours=1)


BAD_INPUT = {
    "unknown-scope": {"name": "x", "scopes": ["shares:admin"]},
    "one-unknown-scope": {"name": "x", "scopes": ["shares:read", "everything"]},
    "no-scopes": {"name": "x", "scopes": []},
    "scopes-not-a-list": {"name": "x", "scopes": "shares:read"},
    "empty-name": {"name": "", "scopes": ["shares:read"]},
    "blank-name": {"name": "   ", "scopes": ["shares:read"]},
    "no-name": {"scopes": ["shares:read"]},
    "long-name": {"name": "n" * 101, "scopes": ["shares:read"]},
    "nul-name": {"name": "a\x00b", "scopes": ["shares:read"]},
    "expiry-zero": {"name": "x", "scopes": ["shares:read"], "expires_in": 0},
    "expiry-past": {"name": "x", "scopes": ["shares:read"], "expires_in": -60},
    "expiry-absurd": {"name": "x", "scopes": ["shares:read"], "expires_in": 10**12},
    "expiry-text": {"name": "x", "scopes": ["shares:read"], "expires_in": "soon"},
    "expiry-bool": {"name": "x", "scopes": ["shares:read"], "expires_in": True},
    "name-a-number": {"name": 0, "scopes": ["shares:read"]},
    "expiry-a-string": {"name": "x", "scopes": ["shares:read"], "expires_in": "60"},
    "expiry-a-float": {"name": "x", "scopes": ["shares:read"], "expires_in": 60.5},
    "body-a-list": ["shares:read"],
}


@pytest.mark.parametrize("body", BAD_INPUT.values(), ids=list(BAD_INPUT))
def test_bad_input_is_a_400_and_keeps_nothing(api_as, bob, body):
    answer = api_as(bob).post("/api/keys", body, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"] == "invalid"
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.API_KEY_CREATE).exists()


def test_the_service_refuses_the_same_bad_input(bob):
    from project.lib.errors import ValidationFailed

    for body in BAD_INPUT.values():
        # The service takes a form's text ("60") too; the API alone insists on JSON's types.
        if isinstance(body, dict) and body.get("expires_in") not in (True, "60") and body.get("name") != 0:
            with pytest.raises(ValidationFailed):
                services.api_key_create(owner=bob, **{"name": None, "scopes": None, **body})
    assert not ApiKey.objects.exists()


def test_an_account_holds_at_most_the_configured_number_of_keys(api_as, bob, alice, settings):
    settings.API_KEYS_PER_USER = 2
    for number in range(2):
        assert (
            api_as(bob).post("/api/keys", {"name": f"k{number}", "scopes": ["shares:read"]}, format="json").status_code
            == 201
        )
    refused = api_as(bob).post("/api/keys", {"name": "k3", "scopes": ["shares:read"]}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "api_key_limit"
    assert ApiKey.objects.filter(owner=bob).count() == 2
    # Per account: alice still may.
    assert api_as(alice).post("/api/keys", {"name": "a", "scopes": ["shares:read"]}, format="json").status_code == 201


def test_anonymous_callers_cannot_see_or_make_keys(api, bob):
    key = ApiKey.objects.get(prefix=key_for(bob)[:12])
    assert api.get("/api/keys").status_code == 401
    assert api.post("/api/keys", {"name": "x", "scopes": ["shares:read"]}, format="json").status_code == 401
    assert api.delete(f"/api/keys/{key.pk}").status_code == 401
    assert ApiKey.objects.count() == 1


@pytest.mark.parametrize("persona", ["alice", "bob", "charlie", "dana"])
def test_only_the_owner_revokes_a_key_through_the_api(request, api_as, persona, make_user):
    owner = make_user("owner-erin", roles=["uploaders"])
    key = ApiKey.objects.get(prefix=key_for(owner)[:12])
    other = request.getfixturevalue(persona)
    # Not theirs: a 404, whoever asks (an admin revokes in Django admin).
    assert api_as(other).delete(f"/api/keys/{key.pk}").status_code == 404
    assert ApiKey.objects.filter(pk=key.pk).exists()
    assert api_as(owner).delete(f"/api/keys/{key.pk}").status_code == 204
    assert not ApiKey.objects.filter(pk=key.pk).exists()
    assert api_as(owner).delete(f"/api/keys/{key.pk}").status_code == 404


def test_a_revoked_key_answers_401_from_then_on_and_the_revocation_is_audited(api_as, dana):
    raw = key_for(dana, scopes=["shares:read"])
    key = ApiKey.objects.get(prefix=raw[:12])
    assert with_key(raw).get("/api/shares").status_code == 200
    assert api_as(dana).delete(f"/api/keys/{key.pk}").status_code == 204
    refused = with_key(raw).get("/api/shares")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "api_key_not_valid"
    assert refused["WWW-Authenticate"] == 'Bearer realm="api"'
    row = AuditEvent.objects.get(action=Action.API_KEY_REVOKE)
    assert row.actor == dana and row.detail["prefix"] == key.prefix and raw not in str(row.detail)


# --- who a key is, and what it may reach ---------------------------------------------


def test_a_key_signs_in_as_its_owner(bob):
    me = with_key(key_for(bob, scopes=["links:read"])).get("/api/me")
    assert me.status_code == 200 and me.json()["username"] == "bob"


def test_a_read_key_lists_shares_but_cannot_create_one(dana):
    client = with_key(key_for(dana, scopes=["shares:read"]))
    assert client.get("/api/shares").status_code == 200
    refused = text_share(client)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "api_key_scope"
    assert "shares:write" in refused.json()["error"]["message"]


def test_outside_its_scopes_the_answer_is_in_the_callers_language(dana):
    client = with_key(key_for(dana, scopes=["shares:read"]), HTTP_ACCEPT_LANGUAGE="zh-Hans")
    refused = text_share(client)
    assert refused.status_code == 403
    message = refused.json()["error"]["message"]
    assert any("\u4e00" <= char <= "\u9fff" for char in message), message


# Each endpoint, the scope it needs (docs/api-keys.md), and a request to it.
ENDPOINTS = {
    "shares-list": ("shares:read", "get", "/api/shares", None),
    "shares-create": ("shares:write", "post", "/api/shares", {"text": "hi"}),
    "files-list": ("shares:read", "get", "/api/files", None),
    "requests-list": ("requests:write", "get", "/api/requests", None),
    "requests-create": ("requests:write", "post", "/api/requests", {"title": "t"}),
    "links-list": ("links:read", "get", "/api/short", None),
    "links-create": ("links:write", "post", "/api/short", {"url": "https://example.com/a"}),
}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_every_scope_opens_its_endpoints_and_no_other_scope_does(alice, endpoint):
    needed, method, path, body = ENDPOINTS[endpoint]
    for scope in ALL_SCOPES:
        client = with_key(key_for(alice, scopes=[scope], name=scope))
        answer = getattr(client, method)(path, body, format="json")
        if scope == needed:
            assert answer.status_code in (200, 201), (scope, answer.content)
        else:
            assert answer.status_code == 403, (scope, answer.content)
            assert answer.json()["error"]["code"] == "api_key_scope"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/keys"),
        ("post", "/api/keys"),
        ("patch", "/api/me"),
        ("post", "/api/logout"),
        ("post", "/api/token/refresh"),
        ("post", "/api/login"),
    ],
    ids=["keys-list", "keys-create", "me-change", "logout", "refresh", "login"],
)
def test_what_only_the_person_may_do_refuses_a_key(alice, method, path):
    client = with_key(key_for(alice, scopes=ALL_SCOPES))
    answer = getattr(client, method)(path, {"name": "x", "scopes": ["shares:read"], "refresh": "x"}, format="json")
    assert answer.status_code == 403, answer.content
    assert answer.json()["error"]["code"] == "api_key_refused"
    assert ApiKey.objects.count() == 1


def test_a_key_cannot_revoke_keys(alice):
    raw = key_for(alice, scopes=ALL_SCOPES)
    key = ApiKey.objects.get(prefix=raw[:12])
    assert with_key(raw).delete(f"/api/keys/{key.pk}").status_code == 403
    assert ApiKey.objects.filter(pk=key.pk).exists()


def test_an_endpoint_that_declares_no_scope_refuses_keys(alice):
    """A future endpoint is closed to keys until it says otherwise."""
    from rest_framework.views import APIView

    from accounts.authentication import api_key_refusal, api_key_scope_required

    class Undeclared(APIView):
        pass

    key = ApiKey.objects.get(prefix=key_for(alice, scopes=ALL_SCOPES)[:12])
    assert api_key_scope_required(Undeclared, "GET") is None
    assert api_key_refusal(key, Undeclared, "GET").get_codes() == "api_key_refused"
    assert api_key_refusal(key, None, "POST").get_codes() == "api_key_refused"


@pytest.mark.parametrize("persona", ["alice", "bob", "charlie", "dana"])
def test_a_key_never_gives_more_than_its_owners_permissions(request, persona):
    """A write key of each persona creating a share: only holders of `upload` may."""
    user = request.getfixturevalue(persona)
    answer = text_share(with_key(key_for(user, scopes=["shares:write"])))
    may_upload = persona in ("alice", "dana")
    assert answer.status_code == (201 if may_upload else 403), answer.content


def test_anonymous_and_a_key_of_a_users_only_owner(api, bob):
    assert text_share(api).status_code == 401
    # bob (users role) may read the shared list with his key, not upload.
    client = with_key(key_for(bob, scopes=["shares:read", "shares:write"]))
    assert client.get("/api/shares").status_code == 200
    assert text_share(client).status_code == 403


def test_another_owners_share_stays_out_of_reach(dana, make_user):
    owner = make_user("frank", roles=["uploaders"])
    share = text_share(with_key(key_for(owner, scopes=["shares:write"]))).json()
    client = with_key(key_for(dana, scopes=["shares:read", "shares:write"]))
    assert client.delete(f"/api/shares/{share['id']}").status_code == 404
    assert share["id"] not in str(client.get("/api/shares").json())


def test_an_inactive_owners_key_answers_401(bob):
    raw = key_for(bob)
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    assert with_key(raw).get("/api/shares").status_code == 401


def test_an_expired_key_answers_401(bob):
    raw = key_for(bob, expires_in=60)
    ApiKey.objects.filter(prefix=raw[:12]).update(expires=timezone.now() - timedelta(seconds=1))
    answer = with_key(raw).get("/api/shares")
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "api_key_not_valid"


def test_a_jwt_is_never_taken_for_a_key(api_as, bob):
    assert api_as(bob).get("/api/shares").status_code == 200
    assert api_as(bob).get("/api/keys").status_code == 200


def test_a_key_from_another_secret_is_refused(bob, settings):
    raw = key_for(bob)
    settings.SECRET_KEY = "another-secret-" + "x" * 40
    assert with_key(raw).get("/api/shares").status_code == 401


def test_a_rotated_secret_kept_as_a_fallback_still_opens_keys(bob, settings):
    raw = key_for(bob)
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "another-secret-" + "y" * 40, [old]
    assert with_key(raw).get("/api/shares").status_code == 200


def _malformed(raw: str) -> dict:
    return {
        "lower-case-bearer": f"bearer {raw}",
        "upper-case-bearer": f"BEARER {raw}",
        "mark-alone": "Bearer pan_",
        "no-scheme": raw,
        "extra-word": f"Bearer {raw} more",
        "ten-kib": "Bearer pan_" + "a" * 10240,
        "one-char-short": f"Bearer {raw[:-1]}x",
        "one-char-less": f"Bearer {raw[:-1]}",
        # UTF-8 of a zero-width space and of "ü", as a server decodes header bytes (latin-1).
        "invisible": f"Bearer {raw[:10]}\u200b{raw[10:]}".encode().decode("latin-1"),
        "non-ascii": f"Bearer {raw[:-1]}ü".encode().decode("latin-1"),
        "unknown-key": "Bearer pan_" + "A" * 32,
    }


MALFORMED = list(_malformed("pan_" + "x" * 32))


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_keys_are_a_401_never_a_500(bob, kind):
    header = _malformed(key_for(bob, scopes=ALL_SCOPES))[kind]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    for answer in (
        client.get("/api/shares"),
        client.get("/api/me"),
        # Where anonymous callers are welcome, a broken key is still refused (not ignored).
        client.post("/api/pickup", {"code": "ABCD-EFGH"}, format="json"),
    ):
        assert answer.status_code == 401, (kind, answer.content)
        assert answer.json()["error"]["code"] == "api_key_not_valid"


# --- the last use ---------------------------------------------------------------------


def _key_updates(queries) -> list[str]:
    return [
        q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("UPDATE") and "apikey" in q["sql"].lower()
    ]


def test_many_requests_within_a_minute_write_the_last_use_once(bob):
    raw = key_for(bob)
    client = with_key(raw, REMOTE_ADDR="203.0.113.7")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(8):
            assert client.get("/api/shares").status_code == 200
    assert len(_key_updates(queries)) == 1
    key = ApiKey.objects.get(prefix=raw[:12])
    assert key.last_client == "203.0.113.7" and timezone.now() - key.last_used < timedelta(minutes=1)
    assert AuditEvent.objects.filter(action=Action.API_KEY_NEW_CLIENT).count() == 1


def test_a_minute_later_the_same_client_writes_again_without_an_audit_row(bob):
    raw = key_for(bob)
    client = with_key(raw, REMOTE_ADDR="203.0.113.7")
    client.get("/api/shares")
    ApiKey.objects.filter(prefix=raw[:12]).update(last_used=timezone.now() - timedelta(seconds=61))
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/shares")
    assert len(_key_updates(queries)) == 1
    assert AuditEvent.objects.filter(action=Action.API_KEY_NEW_CLIENT).count() == 1


def test_a_new_client_is_recorded_at_once_and_audited_once(bob):
    raw = key_for(bob)
    with_key(raw, REMOTE_ADDR="203.0.113.7").get("/api/shares")
    other = with_key(raw, REMOTE_ADDR="198.51.100.9")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            other.get("/api/shares")
    assert len(_key_updates(queries)) == 1
    key = ApiKey.objects.get(prefix=raw[:12])
    assert key.last_client == "198.51.100.9"
    rows = AuditEvent.objects.filter(action=Action.API_KEY_NEW_CLIENT).order_by("id")
    assert [row.client for row in rows] == ["203.0.113.7", "198.51.100.9"]
    assert all(row.actor == bob and row.detail["prefix"] == key.prefix for row in rows)


def test_requests_that_loaded_the_key_together_write_and_audit_once(bob):
    """The conditional UPDATE decides: of N requests that read the row before
    any wrote it, one writes, and one audit row says so."""
    raw = key_for(bob)
    loaded = [services.api_key_check(raw=raw) for _ in range(5)]
    written = [services.api_key_touch(key=key, client="192.0.2.1") for key in loaded]
    assert written.count(True) == 1
    assert AuditEvent.objects.filter(action=Action.API_KEY_NEW_CLIENT).count() == 1


# --- audit and logs ----------------------------------------------------------------


def test_creation_is_audited_with_the_prefix_only(api_as, bob):
    body = api_as(bob).post("/api/keys", {"name": "audited", "scopes": ["links:read"]}, format="json").json()
    row = AuditEvent.objects.get(action=Action.API_KEY_CREATE)
    assert row.actor == bob and row.object_id == str(body["id"])
    assert row.detail == {"prefix": body["prefix"], "name": "audited", "scopes": ["links:read"]}


def test_keys_never_reach_the_logs_or_the_audit_rows(bob, caplog, settings):
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    raw = key_for(bob, scopes=["shares:read"])
    with caplog.at_level(logging.DEBUG):
        with_key(raw).get("/api/shares")
        text_share(with_key(raw))  # 403
        with_key(raw[:-1] + "Q").get("/api/shares")  # 401
        ApiKey.objects.filter(prefix=raw[:12]).delete()
        with_key(raw).get("/api/shares")  # 401
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert raw not in logged and raw[12:] not in logged
    for row in AuditEvent.objects.all():
        assert raw[12:] not in f"{row.detail} {row.object_id} {row.client}"


# --- before the view: body allowances and the rate limiter's key ---------------------------


def test_the_upload_allowance_takes_a_write_key_of_an_uploader_only(dana, bob):
    from pan.allowances import bearer_uploader
    from pan.api import ShareListApi

    def allowed(raw):
        return bearer_uploader(f"Bearer {raw}".encode(), view=ShareListApi)

    assert allowed(key_for(dana, scopes=["shares:write"]))
    assert not allowed(key_for(dana, scopes=["shares:read"], name="read"))
    assert not allowed(key_for(bob, scopes=["shares:write"]))  # bob may not upload
    assert not allowed("pan_" + "A" * 32)
    assert not bearer_uploader(
        b"bearer " + key_for(dana, scopes=["shares:write"], name="lc").encode(), view=ShareListApi
    )


def test_the_rate_limiter_counts_a_key_as_its_owner(dana):
    from django.test import RequestFactory

    from project.middleware import RateLimitMiddleware

    raw = key_for(dana)
    factory = RequestFactory()
    assert RateLimitMiddleware._bearer_user_id(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {raw}")) == str(dana.pk)
    for header in (f"bearer {raw}", "Bearer pan_" + "A" * 32, "Bearer pan_"):
        assert RateLimitMiddleware._bearer_user_id(factory.get("/", HTTP_AUTHORIZATION=header)) is None


@pytest.mark.django_db(transaction=True)
def test_twelve_creations_at_once_stay_within_the_keys_per_user(dana, token_for, settings):
    settings.API_KEYS_PER_USER = 3
    token = token_for(dana)

    def create(index: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client.post("/api/keys", {"name": f"k{index}", "scopes": ["shares:read"]}, format="json").status_code

    statuses = released_at_once(create, 12)
    assert sorted(statuses) == [201] * 3 + [409] * 9
    assert ApiKey.objects.filter(owner=dana).count() == 3
