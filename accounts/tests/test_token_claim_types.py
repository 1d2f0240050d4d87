"""Correctly signed tokens whose `user_id` has the wrong type are a 401, never a 500 (SPEC §8)."""

import jwt
import pytest
from django.conf import settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from conftest import PASSWORD

pytestmark = pytest.mark.django_db

WRONG_USER_IDS = [
    pytest.param(["1"], id="list"),
    pytest.param({"id": 1}, id="object"),
    pytest.param("abc", id="letters"),
    pytest.param(" 1", id="digits-with-space"),
    pytest.param("01", id="leading-zero"),
    pytest.param("\u0661", id="arabic-indic-digit"),
    pytest.param("9" * 19, id="text-past-bigint"),
    pytest.param(2**70, id="huge-int"),
    pytest.param(2**63, id="just-over-bigint"),
    pytest.param(-1, id="negative"),
    pytest.param(0, id="zero"),
    pytest.param(1.5, id="float"),
    pytest.param(True, id="bool"),
    pytest.param(None, id="null"),
]


@pytest.fixture
def pair(api, bob):
    response = api.post("/api/login", {"username": "bob", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()


def resign(token: str, **changes) -> str:
    """The token's claims with `changes`, signed with the real key."""
    payload = jwt.decode(token, options={"verify_signature": False})
    payload.update(changes)
    return jwt.encode(payload, settings.JWT_SIGNING_KEY, algorithm="HS256")


@pytest.mark.parametrize("user_id", WRONG_USER_IDS)
def test_an_access_token_with_a_wrong_typed_user_id_is_a_401(api, pair, user_id):
    token = resign(pair["access"], user_id=user_id)
    for path in ("/api/me", "/api/shares", "/api/short"):
        response = api.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 401, (path, response.content)
        assert response.json()["error"]["code"] == "token_not_valid"


@pytest.mark.parametrize("user_id", WRONG_USER_IDS)
def test_a_refresh_token_with_a_wrong_typed_user_id_is_a_401_and_revokes_nothing(api, pair, user_id):
    # Blacklisted first, so the reuse detection reads the forged claim too.
    assert api.post("/api/logout", {"refresh": pair["refresh"]}, format="json").status_code in (200, 204)
    forged = resign(pair["refresh"], user_id=user_id)
    outstanding = OutstandingToken.objects.count()
    blacklisted = BlacklistedToken.objects.count()
    for path in ("/api/token/refresh", "/api/logout"):
        response = api.post(path, {"refresh": forged}, format="json")
        assert response.status_code == 401, (path, response.content)
    assert OutstandingToken.objects.count() == outstanding
    assert BlacklistedToken.objects.count() == blacklisted


@pytest.mark.parametrize("form", [str, int], ids=["as-text", "as-int"])
def test_the_right_user_id_still_signs_in(api, pair, bob, form):
    token = resign(pair["access"], user_id=form(bob.pk))
    assert api.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
