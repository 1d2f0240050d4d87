"""Loose ends of the second factor (issue 25): old challenges purged by a periodic
task, an admin's reset for a user who lost their device and recovery codes (one
service, used by the Django admin's action and `manage.py reset_factors`), and
`OIDC_ONLY` holding at the second step too."""

import io
import socket
from datetime import timedelta

import pyotp
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from accounts import factors
from accounts.models import LoginChallenge, Passkey, RecoveryCode, TotpDevice
from audit.models import Action, AuditEvent, Via
from conftest import PASSWORD
from project.lib.errors import PermissionDenied

pytestmark = pytest.mark.django_db

PERSONAS = ["alice", "bob", "charlie", "dana"]


def totp_on(user) -> tuple[str, list[str]]:
    secret = pyotp.random_base32(32)
    codes = factors.totp_add(user=user, password=PASSWORD, secret=secret, code=pyotp.TOTP(secret).now(), client="x")
    # The step of the code just used is spent; later sign-ins in this test use the current one.
    TotpDevice.objects.filter(user=user).update(last_step=0)
    return secret, codes


def passkey_on(user) -> None:
    Passkey.objects.create(user=user, name="phone", credential_id=f"cred-{user.pk}", public_key=b"k", sign_count=0)


def api_login(api, username):
    return api.post("/api/login", {"username": username, "password": PASSWORD}, format="json")


def api_second(api, challenge, code):
    return api.post("/api/login/mfa", {"challenge": challenge, "code": code}, format="json")


# --- Old challenges are purged by a periodic task ----------------------------------


def test_the_challenge_purge_is_a_registered_periodic_job_on_the_purge_interval():
    from jobs.services import PERIODIC

    job = PERIODIC["login_challenges_purge"]
    assert job.task_path == "accounts.tasks.login_challenges_purge"
    assert job.interval_setting == "PAN_PURGE_INTERVAL"


def test_the_periodic_run_is_enqueued_and_deletes_only_long_expired_challenges(
    bob, settings, django_capture_on_commit_callbacks
):
    from accounts.tasks import login_challenges_purge
    from jobs.services import periodic_enqueue_due

    now = timezone.now()
    rows = {
        name: LoginChallenge.objects.create(digest=name * 64, user=bob, layer="l", expires_at=now + delta)
        for name, delta in [("a", timedelta(days=-2)), ("b", timedelta(hours=-2)), ("c", timedelta(minutes=5))]
    }
    settings.PAN_PURGE_INTERVAL = 300
    # The scheduler enqueues it (the tests' task backend runs what is enqueued at once).
    with django_capture_on_commit_callbacks(execute=True):
        assert "login_challenges_purge" in periodic_enqueue_due(now=now)
        assert "login_challenges_purge" not in periodic_enqueue_due(now=now)  # once per period
    assert set(LoginChallenge.objects.values_list("pk", flat=True)) == {rows["b"].pk, rows["c"].pk}
    assert login_challenges_purge.call() == 0  # a second run finds nothing
    LoginChallenge.objects.filter(pk=rows["b"].pk).update(expires_at=now - timedelta(days=1, seconds=1))
    assert login_challenges_purge.call() == 1


# --- An admin resets a user's factors ---------------------------------------------------


def test_the_service_takes_every_factor_away_and_is_audited(alice, bob):
    _secret, codes = totp_on(bob)
    passkey_on(bob)
    challenge = api_login(Client(), "bob")  # a pending second step goes too
    assert challenge.json()["mfa_required"] is True
    removed = factors.user_factors_reset(user=bob, by=alice)
    assert removed == {"totp": 1, "passkeys": 1, "recovery_codes": len(codes), "challenges": 1}
    assert not factors.user_has_factor(user=bob) and not RecoveryCode.objects.filter(user=bob).exists()
    row = AuditEvent.objects.filter(action=Action.FACTOR_REMOVE, object_id=str(bob.pk)).get()
    assert row.actor == alice and row.detail["reset"] is True and row.detail["user"] == "bob"
    # The password alone signs bob in again.
    assert "access" in api_login(Client(), "bob").json()


@pytest.mark.parametrize("persona", ["bob", "charlie", "dana"])
def test_the_service_refuses_anyone_but_an_admin(persona, request, alice):
    actor = request.getfixturevalue(persona)
    totp_on(alice)
    with pytest.raises(PermissionDenied):
        factors.user_factors_reset(user=alice, by=actor)
    assert factors.user_has_factor(user=alice)
    assert not AuditEvent.objects.filter(action=Action.FACTOR_REMOVE).exists()


def _admin_reset(client, user):
    return client.post("/admin/accounts/user/", {"action": "reset_factors", "_selected_action": [user.pk]})


def test_the_admin_action_resets_through_the_service(alice, dana):
    totp_on(dana)
    admin = Client()
    admin.force_login(alice)
    response = _admin_reset(admin, dana)
    assert response.status_code == 302
    assert not factors.user_has_factor(user=dana)
    row = AuditEvent.objects.get(action=Action.FACTOR_REMOVE, object_id=str(dana.pk))
    assert row.actor == alice and row.via == Via.WEB and row.detail["totp"] == 1
    assert "Second factors reset for 1 users" in admin.get(response["Location"]).content.decode()


@pytest.mark.parametrize("persona", ["bob", "charlie", "dana", "anonymous"])
def test_only_admins_reach_the_admin_action(persona, request, alice):
    client = Client()
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    totp_on(alice)
    response = _admin_reset(client, alice)
    if persona == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith(("/admin/login/", "/login/"))
    else:
        assert response.status_code == 403  # the admin's door: signed in, not staff
    assert factors.user_has_factor(user=alice)
    assert not AuditEvent.objects.filter(action=Action.FACTOR_REMOVE).exists()


def test_the_command_resets_through_the_service(bob):
    totp_on(bob)
    out = io.StringIO()
    call_command("reset_factors", "bob", stdout=out)
    assert "bob: removed 1 authenticator app(s), 0 passkey(s), 10 recovery code(s)" in out.getvalue()
    assert not factors.user_has_factor(user=bob)
    row = AuditEvent.objects.get(action=Action.FACTOR_REMOVE, object_id=str(bob.pk))
    assert row.actor is None and row.via == Via.COMMAND
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("reset_factors", "nobody")


def test_an_admin_reset_under_the_requirement_sends_the_admin_to_set_up_again(alice, settings):
    settings.MFA_REQUIRED_FOR_ADMINS = True
    totp_on(alice)
    client = Client()
    client.force_login(alice)
    assert client.get("/welcome/").status_code == 200
    call_command("reset_factors", "alice", stdout=io.StringIO())
    response = client.get("/welcome/")
    assert response.status_code == 302 and response["Location"] == "/account/security/"


# --- OIDC_ONLY at the second step ----------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def oidc_only(settings):
    """OIDC_ONLY with single sign-on set up (a provider that is never asked: the password
    steps do not reach it), alice the break-glass account."""

    def turn_on():
        settings.OIDC_ISSUER, settings.OIDC_CLIENT_ID = f"http://127.0.0.1:{closed_port()}", "pan"
        settings.OIDC_ONLY, settings.OIDC_BREAK_GLASS_USERS = True, ["alice"]

    return turn_on


def test_a_challenge_from_before_oidc_only_cannot_be_completed_through_the_api(api, bob, oidc_only):
    secret, _codes = totp_on(bob)
    challenge = api_login(api, "bob").json()["challenge"]
    oidc_only()
    response = api_second(api, challenge, pyotp.TOTP(secret).now())
    assert response.status_code == 403 and response.json()["error"]["code"] == "local_passwords_off"
    assert "access" not in response.json()
    assert TotpDevice.objects.get(user=bob).last_step == 0  # the code was not even checked
    failed = AuditEvent.objects.filter(action=Action.FACTOR_FAILED).order_by("-id").first()
    assert failed.detail == {"reason": "local_passwords_off"} and failed.object_id == str(bob.pk)
    # And no new challenge: the password step is refused outright.
    assert api_login(api, "bob").status_code == 403


def test_leaving_the_break_glass_list_ends_a_pending_second_step(api, alice, oidc_only, settings):
    oidc_only()
    secret, _codes = totp_on(alice)
    challenge = api_login(api, "alice").json()["challenge"]
    settings.OIDC_BREAK_GLASS_USERS = []
    response = api_second(api, challenge, pyotp.TOTP(secret).now())
    assert response.status_code == 403 and response.json()["error"]["code"] == "local_passwords_off"


def test_the_pages_second_step_cannot_get_around_oidc_only(dana, oidc_only):
    secret, _codes = totp_on(dana)
    client = Client()
    assert client.post("/login/", {"username": "dana", "password": PASSWORD})["Location"] == "/login/verify/"
    oidc_only()
    response = client.post("/login/verify/", {"code": pyotp.TOTP(secret).now()}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert "passwords of this site are turned off" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/login/verify/")["Location"] == "/login/"  # the pending sign-in is gone


def test_a_break_glass_admin_still_uses_their_factor_under_oidc_only(api, alice, oidc_only):
    oidc_only()
    secret, codes = totp_on(alice)
    # The API: the password asks for the factor, which completes the sign-in.
    answer = api_login(api, "alice").json()
    assert answer["mfa_required"] is True and "access" not in answer
    wrong = api_second(api, answer["challenge"], "000000")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "mfa_code_invalid"
    done = api_second(api, answer["challenge"], codes[0])
    assert done.status_code == 200 and "access" in done.json()
    # The pages: password, then the code, then the admin.
    client = Client()
    assert client.post("/login/", {"username": "alice", "password": PASSWORD, "next": "/admin/"}).status_code == 302
    assert client.get("/admin/").status_code == 302  # the password alone does not open it
    done = client.post("/login/verify/", {"code": pyotp.TOTP(secret).now()})
    assert done["Location"] == "/admin/" and client.get("/admin/").status_code == 200
