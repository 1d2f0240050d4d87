from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_seeded_roles_carry_their_permissions():
    admin = Group.objects.get(name="admin")
    users = Group.objects.get(name="users")
    assert set(admin.permissions.values_list("codename", flat=True)) == {"upload", "manage"}
    assert set(users.permissions.values_list("codename", flat=True)) == {"visit", "download"}


@pytest.mark.urls("accounts.tests.urls")
@pytest.mark.parametrize(
    "who,permission,status",
    [
        ("alice", "upload", 200),
        ("alice", "manage", 200),
        ("alice", "visit", 200),
        ("bob", "visit", 200),
        ("bob", "download", 200),
        ("bob", "upload", 403),
        ("bob", "manage", 403),
        ("charlie", "visit", 403),
        ("charlie", "download", 403),
        ("anonymous", "visit", 401),
    ],
)
def test_permission_class_allows_and_refuses_by_role(request, api, api_as, who, permission, status):
    client = api if who == "anonymous" else api_as(request.getfixturevalue(who))
    assert client.get(f"/guarded/{permission}").status_code == status


def test_unknown_permission_names_are_a_programming_error():
    from accounts.permissions import HasPanPermission

    with pytest.raises(ValueError):
        HasPanPermission("fly")


def test_grant_and_revoke_role_commands(bob):
    out = StringIO()
    call_command("grant_role", "bob", "admin", stdout=out)
    assert "admin" in out.getvalue()
    bob.refresh_from_db()
    assert bob.is_staff and bob.is_superuser
    assert User.objects.get(pk=bob.pk).has_perm("accounts.upload")

    call_command("revoke_role", "bob", "admin", stdout=StringIO())
    bob = User.objects.get(pk=bob.pk)
    assert not bob.is_staff and not bob.is_superuser
    assert not bob.has_perm("accounts.upload")
    assert bob.has_perm("accounts.visit")


@pytest.mark.parametrize("args,message", [(["nobody", "admin"], "No such user"), (["bob", "wizards"], "No such role")])
def test_role_commands_refuse_unknown_users_and_roles(bob, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("grant_role", *args, stdout=StringIO())
    assert list(User.objects.get(pk=bob.pk).groups.values_list("name", flat=True)) == ["users"]


def test_staff_flags_follow_admin_group_edits_from_either_side(alice, bob):
    admin = Group.objects.get(name="admin")
    admin.user_set.add(bob)
    assert User.objects.get(pk=bob.pk).is_staff
    admin.user_set.clear()
    assert not User.objects.get(pk=alice.pk).is_staff
    assert not User.objects.get(pk=bob.pk).is_staff


def test_a_user_may_hold_several_roles(make_user):
    Group.objects.create(name="auditors")
    user = make_user("multi", roles=["users", "auditors"])
    assert user.role_names() == ["auditors", "users"]
