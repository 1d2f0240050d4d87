import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "Tulip-Garden-93"


def register(api, username, password=GOOD_PASSWORD, **extra):
    return api.post("/api/register", {"username": username, "password": password}, format="json", **extra)


def test_valid_registration_creates_a_user_with_a_hashed_password(api):
    response = register(api, "dora")
    assert response.status_code == 201
    assert response.json()["username"] == "dora"
    user = User.objects.get(username="dora")
    assert user.password != GOOD_PASSWORD
    assert user.check_password(GOOD_PASSWORD)


def test_first_user_is_admin_and_later_users_get_the_default_role(api):
    first = register(api, "first").json()
    second = register(api, "second").json()
    assert first["roles"] == ["admin", "users"]
    assert set(first["permissions"]) == {"upload", "manage", "visit", "download"}
    assert first["is_staff"] is True
    assert second["roles"] == ["users"]
    assert set(second["permissions"]) == {"visit", "download"}
    assert second["is_staff"] is False


@pytest.mark.parametrize("name", ["张三丰", "a.b-c_d", "用户_01", "Ünïcødé", "abc"])
def test_usernames_with_letters_digits_cjk_and_punctuation_are_accepted(api, name):
    assert register(api, name).status_code == 201
    assert User.objects.filter(username=name).exists()


@pytest.mark.parametrize("taken", ["dora", "DORA", "Dora"])
def test_duplicate_username_is_refused_whatever_its_case(api, taken):
    register(api, "dora")
    response = register(api, taken)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "username_taken"
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    "name",
    [
        "a",  # too short (two characters is the minimum)
        "a" * 151,  # too long
        "has space",
        "semi;colon",
        "slash/name",
        "emoji😀x",
        "ctrl\x00name",
        "zero\u200bwidth",
        "tab\tname",
        "",
    ],
)
def test_invalid_usernames_are_refused_and_nothing_is_created(api, name):
    response = register(api, name)
    assert response.status_code == 400
    assert "username" in response.json()["error"]["fields"]
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    "username,password,reason",
    [
        ("erin", "Sh0rt!", "too short"),
        ("erin", "8471029384756", "entirely numeric"),
        ("erin", "password123", "too common"),
        ("erin-smith", "erin-smith1", "too similar to the username"),
    ],
)
def test_passwords_failing_django_validators_are_refused(api, username, password, reason):
    response = register(api, username, password)
    assert response.status_code == 400, reason
    assert response.json()["error"]["fields"]["password"]
    assert User.objects.count() == 0


def test_malformed_json_is_a_clear_400(api):
    response = api.post("/api/register", data='{"username": "x",', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    "body,missing",
    [({"username": "frank"}, "password"), ({"password": GOOD_PASSWORD}, "username"), ({}, "username")],
)
def test_missing_fields_are_named(api, body, missing):
    response = api.post("/api/register", body, format="json")
    assert response.status_code == 400
    assert missing in response.json()["error"]["fields"]
    assert User.objects.count() == 0


def test_a_json_array_body_is_refused(api):
    response = api.post("/api/register", data="[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert User.objects.count() == 0


def test_an_oversized_password_is_refused(api):
    response = register(api, "gina", "x" * 5000)
    assert response.status_code == 400
    assert "password" in response.json()["error"]["fields"]
    assert User.objects.count() == 0
