import pytest
from django.test import Client

from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def logged_in(username):
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_an_admin_can_open_the_user_and_role_lists(alice, bob):
    client = logged_in("alice")
    users = client.get("/admin/accounts/user/")
    assert users.status_code == 200
    assert b"bob" in users.content and b"alice" in users.content
    roles = client.get("/admin/auth/group/")
    assert roles.status_code == 200
    assert b"admin" in roles.content and b"users" in roles.content


def test_an_admin_can_take_the_admin_role_away_in_django_admin(alice, bob, make_user):
    from django.contrib.auth.models import Group

    from accounts.models import User

    make_user("erin", roles=["admin", "users"])
    client = logged_in("alice")
    page = client.get(f"/admin/auth/group/{Group.objects.get(name='admin').pk}/change/")
    assert page.status_code == 200
    erin = User.objects.get(username="erin")
    erin.groups.remove(Group.objects.get(name="admin"))
    assert not User.objects.get(pk=erin.pk).is_staff


def test_members_without_the_admin_role_cannot_enter_admin(bob):
    response = logged_in("bob").get("/admin/accounts/user/")
    assert response.status_code == 403  # Pan's page, not Django's admin login (test_admin_door.py)
