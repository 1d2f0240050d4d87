import base64
import json
from datetime import timedelta

import jwt
import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(api, bob):
    response = api.post("/api/login", {"username": "bob", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()


def me(api, header):
    return api.get("/api/me", HTTP_AUTHORIZATION=header) if header is not None else api.get("/api/me")


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def sign(payload: dict, key=None, alg="HS256") -> str:
    return jwt.encode(payload, key or settings.JWT_SIGNING_KEY, algorithm=alg)


def test_access_token_carries_the_rfc_8725_claims(pair):
    access = claims(pair["access"])
    assert {"exp", "iat", "jti", "iss", "aud", "token_type"} <= set(access)
    assert access["iss"] == "pan" and access["aud"] == "pan-api"
    assert access["token_type"] == "access"
    assert access["exp"] - access["iat"] == 15 * 60
    refresh = claims(pair["refresh"])
    assert refresh["exp"] - refresh["iat"] == 24 * 3600
    assert jwt.get_unverified_header(pair["access"])["alg"] == "HS256"


def test_valid_access_token_shows_the_profile(api, pair):
    response = me(api, f"Bearer {pair['access']}")
    assert response.status_code == 200
    assert response.json() == {
        "username": "bob",
        "roles": ["users"],
        "permissions": ["download", "visit"],
        "is_staff": False,
        "stored_bytes": 0,
        "quota": None,
        "email": "",
        "receipts_by_email": False,
        "language": "",
    }


def test_expired_access_token_is_refused(api, bob):
    with time_machine.travel(timezone.now() - timedelta(minutes=16), tick=False):
        old = api.post("/api/login", {"username": "bob", "password": PASSWORD}, format="json").json()
    response = me(api, f"Bearer {old['access']}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"


def test_tampered_signature_is_refused(api, pair):
    head, body, signature = pair["access"].split(".")
    forged = json.loads(base64.urlsafe_b64decode(body + "=="))
    forged["user_id"] = "1"
    forged_body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    assert me(api, f"Bearer {head}.{forged_body}.{signature}").status_code == 401
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert me(api, f"Bearer {head}.{body}.{flipped}").status_code == 401


def test_alg_none_token_is_refused(api, pair):
    payload = claims(pair["access"])
    unsigned = jwt.encode(payload, key=None, algorithm="none")
    assert me(api, f"Bearer {unsigned}").status_code == 401


def test_token_signed_with_the_django_secret_key_is_refused(api, pair):
    assert settings.SECRET_KEY != settings.JWT_SIGNING_KEY
    assert me(api, f"Bearer {sign(claims(pair['access']), key=settings.SECRET_KEY)}").status_code == 401


@pytest.mark.parametrize(
    "change",
    [{"aud": "someone-else"}, {"iss": "evil"}, {"iat": None}, {"jti": None}, {"token_type": None}],
    ids=["audience", "issuer", "no-iat", "no-jti", "no-type"],
)
def test_wrong_or_missing_claims_are_refused(api, pair, change):
    payload = claims(pair["access"])
    for name, value in change.items():
        if value is None:
            payload.pop(name)
        else:
            payload[name] = value
    assert me(api, f"Bearer {sign(payload)}").status_code == 401


def test_a_refresh_token_is_not_an_access_token(api, pair):
    assert me(api, f"Bearer {pair['refresh']}").status_code == 401


def test_an_access_token_cannot_be_used_to_refresh(api, pair):
    response = api.post("/api/token/refresh", {"refresh": pair["access"]}, format="json")
    assert response.status_code == 401


def test_refresh_rotates_and_the_old_token_stops_working(api, pair):
    rotated = api.post("/api/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh"] != pair["refresh"]
    assert me(api, f"Bearer {new['access']}").status_code == 200
    again = api.post("/api/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert again.status_code == 401


def test_reusing_a_rotated_refresh_token_revokes_all_of_the_users_tokens(api, pair, bob):
    new = api.post("/api/token/refresh", {"refresh": pair["refresh"]}, format="json").json()
    other_device = api.post("/api/login", {"username": "bob", "password": PASSWORD}, format="json").json()

    # Someone replays the stolen, already-rotated token.
    assert api.post("/api/token/refresh", {"refresh": pair["refresh"]}, format="json").status_code == 401

    for token in (new["refresh"], other_device["refresh"]):
        assert api.post("/api/token/refresh", {"refresh": token}, format="json").status_code == 401
    live = OutstandingToken.objects.filter(user=bob, blacklistedtoken__isnull=True)
    assert not live.exists()


def test_logout_blacklists_the_refresh_token(api, pair):
    response = api.post("/api/logout", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 204
    assert BlacklistedToken.objects.filter(token__jti=claims(pair["refresh"])["jti"]).exists()
    assert api.post("/api/token/refresh", {"refresh": pair["refresh"]}, format="json").status_code == 401


@pytest.mark.parametrize(
    "body,status",
    [({}, 400), ({"refresh": ""}, 400), ({"refresh": "not.a.token"}, 401), ({"refresh": 12}, 401)],
    ids=["missing", "empty", "not-a-jwt", "a-number"],
)
def test_bad_refresh_input_is_a_4xx_and_changes_nothing(api, pair, body, status):
    response = api.post("/api/token/refresh", body, format="json")
    assert response.status_code == status
    assert "error" in response.json()
    assert BlacklistedToken.objects.count() == 0


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Token abc", "Bearer a b", "Bearer not-a-jwt", "Basic Ym9iOnB3"],
)
def test_missing_or_malformed_authorization_header_is_refused(api, header):
    response = me(api, header)
    assert response.status_code == 401
    assert response.json()["error"]["message"]


def test_token_of_a_deactivated_user_is_refused(api, pair, bob):
    bob.is_active = False
    bob.save()
    assert me(api, f"Bearer {pair['access']}").status_code == 401
    assert api.post("/api/token/refresh", {"refresh": pair["refresh"]}, format="json").status_code == 401
