"""The audit log (SPEC §4.7): each audited action writes exactly one row,
with who, what and from where, and no row holds a password, code or token.

Actions are done the way users do them: through the API, the pages, Django
admin and management commands. Downloads, guessing locks and short links
are in their own modules' tests of the audit (see docs/audit.md).
"""

import io
import json
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.services import role_grant
from audit.models import Action, AuditEvent, Via
from audit.services import audit_addresses_hash, client_hash
from conftest import PASSWORD
from pan.tests.conftest import body_of, post_share

pytestmark = pytest.mark.django_db

SHARE_PASSWORD = "Owl-Lantern-93"


def mark() -> int:
    """The id of the newest row so far: rows written by a test's set-up (its users' roles) come before it."""
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def rows(action: Action, after: int = 0) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, id__gt=after))


def only_row(action: Action, after: int = 0) -> AuditEvent:
    found = rows(action, after)
    assert len(found) == 1, [str(event) for event in found]
    return found[0]


def assert_no_secret_anywhere(*secrets: str) -> None:
    dumped = json.dumps([list(AuditEvent.objects.values())], default=str)
    for secret in secrets:
        assert secret not in dumped


# --- Sign-in ------------------------------------------------------------------


def test_a_sign_in_writes_one_row_with_the_user_and_the_client(bob):
    response = Client(REMOTE_ADDR="203.0.113.7").post("/api/login", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 200
    event = only_row(Action.LOGIN)
    assert (event.actor, event.actor_name, event.object_id) == (bob, "bob", str(bob.pk))
    assert (event.client, event.via) == ("203.0.113.7", Via.WEB)
    assert_no_secret_anywhere(PASSWORD, response.json()["access"], response.json()["refresh"])


def test_a_failed_sign_in_writes_one_row_and_keeps_nothing_typed(bob):
    client = Client(REMOTE_ADDR="203.0.113.8")
    assert client.post("/login/", {"username": "bob", "password": "Wrong-Horse-42"}).status_code == 401
    assert client.post("/login/", {"username": "Wrong-Horse-42", "password": "x"}).status_code == 401
    known, unknown = sorted(rows(Action.LOGIN_FAILED), key=lambda event: event.object_id, reverse=True)
    assert (known.object_id, known.actor, known.client) == (str(bob.pk), None, "203.0.113.8")
    assert (unknown.object_id, unknown.detail) == ("", {"unknown_user": True})
    assert rows(Action.LOGIN) == []
    assert_no_secret_anywhere("Wrong-Horse-42")


def test_a_throttled_sign_in_writes_one_row_per_refusal(bob, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    client = Client(REMOTE_ADDR="203.0.113.9")
    answers = [
        client.post("/api/login", {"username": "bob", "password": "Wrong-Horse-42"}).status_code for _ in range(3)
    ]
    assert answers == [401, 401, 429]
    assert len(rows(Action.LOGIN_FAILED)) == 2
    assert only_row(Action.LOGIN_THROTTLED).object_id == str(bob.pk)


# --- Shares -------------------------------------------------------------------


@pytest.fixture
def dana_share(api_as, dana):
    """A share dana (uploaders only: an owner who is not a manager) made through the API, with a password."""
    created = post_share(api_as(dana), [("report.pdf", b"%PDF-1.4 report", "application/pdf")], password=SHARE_PASSWORD)
    assert created.status_code == 201, created.content
    return created.json()


def test_creating_a_share_writes_one_row_by_its_owner(dana, dana_share):
    event = only_row(Action.SHARE_CREATE)
    assert (event.actor, event.object_type, event.object_id) == (dana, "share", dana_share["id"])
    assert event.detail == {"items": 1, "size": 15, "password": True, "uploading": False}
    assert event.client == "127.0.0.1"
    assert_no_secret_anywhere(dana_share["code"], SHARE_PASSWORD)


def test_new_code_revoke_restore_and_delete_write_one_row_each(api_as, dana, dana_share):
    client = api_as(dana)
    base = f"/api/shares/{dana_share['id']}"
    renewed = client.post(f"{base}/code")
    assert renewed.status_code == 200
    assert client.post(f"{base}/revoke").status_code == 200
    assert client.post(f"{base}/revoke").status_code == 200  # already revoked: nothing happens, nothing written
    assert client.post(f"{base}/restore").status_code == 200
    assert client.delete(base).status_code == 204
    for action in (Action.SHARE_CODE, Action.SHARE_REVOKE, Action.SHARE_RESTORE, Action.SHARE_DELETE):
        event = only_row(action)
        assert (event.actor, event.object_id) == (dana, dana_share["id"]), action
    assert only_row(Action.SHARE_DELETE).detail == {"title": "", "owner": "dana"}
    assert_no_secret_anywhere(dana_share["code"], renewed.json()["code"], SHARE_PASSWORD)


def test_an_admin_acting_on_someone_elses_share_is_the_actor(api_as, alice, dana_share):
    assert api_as(alice).post(f"/api/shares/{dana_share['id']}/revoke").status_code == 200
    assert only_row(Action.SHARE_REVOKE).actor == alice


def test_a_refused_action_writes_nothing(api_as, bob, charlie, dana_share):
    # Not theirs: a member and a stranger get 404 and leave no trace as if they had acted.
    for user in (bob, charlie):
        assert api_as(user).post(f"/api/shares/{dana_share['id']}/revoke").status_code == 404
    assert rows(Action.SHARE_REVOKE) == []


# --- Roles --------------------------------------------------------------------


def test_roles_given_and_taken_by_command_are_recorded_as_commands(bob):
    before = mark()
    call_command("grant_role", "bob", "uploaders", stdout=io.StringIO())
    call_command("revoke_role", "bob", "uploaders", stdout=io.StringIO())
    grant, revoke = only_row(Action.ROLE_GRANT, before), only_row(Action.ROLE_REVOKE, before)
    for event in (grant, revoke):
        assert (event.actor, event.via, event.client) == (None, Via.COMMAND, "")
        assert (event.object_id, event.detail) == (str(bob.pk), {"role": "uploaders", "user": "bob"})


def test_roles_changed_in_django_admin_name_the_admin(alice, bob):
    before = mark()
    client = Client()
    client.force_login(alice)
    page = client.get(f"/admin/accounts/user/{bob.pk}/change/")
    assert page.status_code == 200
    form = {
        "username": "bob",
        "groups": [Group.objects.get(name="uploaders").pk],  # "users" taken, "uploaders" given
        "is_active": "on",
        "date_joined_0": bob.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": bob.date_joined.strftime("%H:%M:%S"),
        "initial-date_joined_0": bob.date_joined.strftime("%Y-%m-%d"),
        "initial-date_joined_1": bob.date_joined.strftime("%H:%M:%S"),
    }
    saved = client.post(f"/admin/accounts/user/{bob.pk}/change/", form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    grant, revoke = only_row(Action.ROLE_GRANT, before), only_row(Action.ROLE_REVOKE, before)
    assert (grant.actor, grant.detail["role"], grant.via) == (alice, "uploaders", Via.WEB)
    assert (revoke.actor, revoke.detail["role"]) == (alice, "users")


def test_a_group_edited_from_its_side_is_recorded_too(bob):
    before = mark()
    Group.objects.get(name="admin").user_set.add(bob)
    assert only_row(Action.ROLE_GRANT, before).detail == {"role": "admin", "user": "bob"}
    Group.objects.get(name="admin").user_set.clear()
    assert only_row(Action.ROLE_REVOKE, before).detail == {"role": "admin", "user": "bob"}


# --- Append-only, admin, export, retention -------------------------------------


def test_rows_cannot_be_changed_or_deleted(bob):
    before = mark()
    role_grant(username="bob", role="uploaders")
    event = only_row(Action.ROLE_GRANT, before)
    event.client = "198.51.100.1"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).client == ""


def test_deleting_a_user_keeps_their_rows_and_name(bob):
    Client().post("/api/login", {"username": "bob", "password": PASSWORD})
    User.objects.filter(pk=bob.pk).delete()
    event = only_row(Action.LOGIN)
    assert (event.actor, event.actor_name) == (None, "bob")


def test_admins_read_and_filter_the_log_and_no_one_edits_it(alice, bob, dana, dana_share):
    client = Client()
    client.force_login(alice)
    listing = client.get("/admin/audit/auditevent/", {"action": "share_create"})
    assert listing.status_code == 200
    assert dana_share["id"] in listing.content.decode()
    by_actor = client.get("/admin/audit/auditevent/", {"actor__id__exact": dana.pk})
    assert by_actor.status_code == 200 and dana_share["id"] in by_actor.content.decode()
    by_other = client.get("/admin/audit/auditevent/", {"actor__id__exact": bob.pk, "action": "share_create"})
    assert dana_share["id"] not in by_other.content.decode()
    searched = client.get("/admin/audit/auditevent/", {"q": "nobody-such"})
    assert dana_share["id"] not in searched.content.decode()
    event = only_row(Action.SHARE_CREATE)
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"client": "198.51.100.1"})
    assert AuditEvent.objects.get(pk=event.pk).client == "127.0.0.1"
    # A member is not let in.
    member = Client()
    member.force_login(bob)
    assert member.get("/admin/audit/auditevent/").status_code == 403  # Pan's "administrators only" page


def test_export_writes_csv_from_a_date_and_keeps_formulas_inert(bob):
    with time_machine.travel(timezone.now() - timedelta(days=10)):
        Client().post("/api/login", {"username": "bob", "password": PASSWORD})
    Client(REMOTE_ADDR="203.0.113.5").post("/api/login", {"username": "bob", "password": PASSWORD})
    AuditEvent.objects.create(action=Action.LOGIN_FAILED, client='=HYPERLINK("http://x")', detail={})
    out = io.StringIO()
    since = (timezone.localdate() - timedelta(days=2)).isoformat()
    call_command("audit_export", "--since", since, stdout=out, stderr=io.StringIO())
    lines = out.getvalue().splitlines()
    assert lines[0] == "at,actor,action,object_type,object_id,client,via,detail"
    logins = [line for line in lines if ",login," in line]
    assert len(logins) == 1  # the login ten days ago is before --since
    assert ",bob,login,user," in logins[0] and "203.0.113.5" in logins[0]
    assert "'=HYPERLINK" in lines[-1]  # oldest first: the row written last comes last


def test_export_refuses_a_date_it_cannot_read():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="not a date"):
        call_command("audit_export", "--since", "last tuesday", stdout=io.StringIO())


def test_old_addresses_are_replaced_by_a_keyed_hash(bob, settings):
    settings.AUDIT_ADDRESS_RETENTION = 30
    with time_machine.travel(timezone.now() - timedelta(days=31)):
        Client(REMOTE_ADDR="203.0.113.20").post("/api/login", {"username": "bob", "password": PASSWORD})
        Client(REMOTE_ADDR="203.0.113.20").post("/api/login", {"username": "bob", "password": "Wrong-Horse-42"})
    Client(REMOTE_ADDR="203.0.113.21").post("/api/login", {"username": "bob", "password": PASSWORD})
    call_command("purge_expired", stdout=io.StringIO())
    old_success = AuditEvent.objects.filter(action=Action.LOGIN).order_by("at").first()
    old_failure = only_row(Action.LOGIN_FAILED)
    assert old_success.client == old_failure.client == client_hash("203.0.113.20")
    assert "203.0.113.20" not in old_success.client
    assert AuditEvent.objects.filter(action=Action.LOGIN).order_by("at").last().client == "203.0.113.21"
    assert audit_addresses_hash() == 0  # hashed once, never again


def test_a_completed_download_writes_one_row_and_a_free_refetch_none(dana):
    from io import BytesIO

    from pan.services import IncomingFile, share_create

    share = share_create(owner=dana, files=[IncomingFile(BytesIO(b"abc"), "a.txt")], max_downloads=2)
    item = share.items.get()
    client = Client(REMOTE_ADDR="203.0.113.60", HTTP_USER_AGENT="curl/8.5.0")
    url = f"/api/shares/{share.unique_name}/items/{item.pk}/content"
    for _ in range(2):  # the second is the same tool's resume of what it has: free
        response = client.get(url, HTTP_X_SHARE_CODE=share.code, HTTP_RANGE="bytes=1-" if _ else "bytes=0-")
        body_of(response)
    event = only_row(Action.DOWNLOAD)
    assert (event.object_id, event.client, event.actor, event.via) == (share.unique_name, "203.0.113.60", None, Via.WEB)
    assert event.detail == {"what": f"item:{item.pk}", "browser": "curl"}
    assert_no_secret_anywhere(share.code)


def test_a_guessing_lock_writes_one_row_however_many_attempts_it_refuses(dana, settings):
    from io import BytesIO

    from pan.services import IncomingFile, share_create

    settings.PAN_CODE_SHARE_LIMIT = 3
    share = share_create(owner=dana, files=[IncomingFile(BytesIO(b"abc"), "a.txt")])
    answers = []
    for number in range(8):  # each from another network, so only the share's own layer fills
        client = Client(REMOTE_ADDR=f"10.{number}.0.1")
        answers.append(client.post(f"/f/{share.unique_name}/", {"code": "ZZZZ2222"}).status_code)
    assert answers.count(429) == 5
    event = only_row(Action.GUESSING_LOCK)
    assert (event.object_id, event.actor) == (share.unique_name, None)
    assert event.detail["retry_after"] > 0
    assert_no_secret_anywhere(share.code, "ZZZZ2222")


def test_creating_and_deleting_a_short_link_write_one_row_each(api_as, dana):
    client = api_as(dana)
    made = client.post("/api/short", {"url": "https://example.com/audit"}, format="json")
    assert made.status_code == 201
    again = client.post("/api/short", {"url": "https://example.com/audit"}, format="json")
    assert again.json()["key"] == made.json()["key"]  # the same link back: nothing created, nothing written
    key = made.json()["key"]
    from shortener.models import ShortLink
    from shortener.services import short_link_delete

    short_link_delete(link=ShortLink.objects.get(key=key))
    created, deleted = only_row(Action.LINK_CREATE), only_row(Action.LINK_DELETE)
    assert (created.actor, created.object_id, deleted.object_id) == (dana, key, key)
