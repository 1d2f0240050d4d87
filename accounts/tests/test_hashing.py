import pytest
from django.contrib.auth.hashers import make_password
from django.test import override_settings

from accounts.models import User

pytestmark = pytest.mark.django_db

REAL_HASHERS = [
    "accounts.hashers.PanArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


@override_settings(PASSWORD_HASHERS=REAL_HASHERS)
def test_passwords_are_stored_as_argon2id_with_the_documented_parameters(api):
    assert (
        api.post("/api/register", {"username": "hana", "password": "Lantern-Field-71"}, format="json").status_code
        == 201
    )
    stored = User.objects.get(username="hana").password
    assert stored.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


@override_settings(PASSWORD_HASHERS=REAL_HASHERS)
def test_an_older_hash_is_upgraded_on_login(api):
    User.objects.create(username="ivan", password=make_password("Lantern-Field-71", hasher="pbkdf2_sha256"))
    assert User.objects.get(username="ivan").password.startswith("pbkdf2_sha256$")
    response = api.post("/api/login", {"username": "ivan", "password": "Lantern-Field-71"}, format="json")
    assert response.status_code == 200
    assert User.objects.get(username="ivan").password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
