"""SPEC §3 usernames: 2–150 characters, NFKC, and no look-alikes of an existing name."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User

from .test_register import GOOD_PASSWORD, register

EN = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
LOOK_ALIKE_EN = "This username looks the same as an existing one. Choose another."
LOOK_ALIKE_ZH = "该用户名与已有的用户名看起来相同，请换一个。"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "existing,look_alike",
    [
        ("boss", "bоss"),  # Cyrillic о
        ("boss", "bοss"),  # Greek ο
        ("boss", "BОSS"),  # Cyrillic О, and another case
        ("boss", "b0ss"),  # digit zero
        ("admin", "аdmіn"),  # Cyrillic а and і
        ("lily", "IiIy"),  # capital I reads as l
        ("moon", "rnoon"),  # r n reads as m
        ("paypal", "pаypаl"),
        ("小力", "小カ"),  # katakana カ and the CJK 力 (power)
        ("二三", "ニ三"),  # katakana ニ and the CJK 二 (two)
    ],
)
def test_a_name_that_looks_like_an_existing_one_is_refused_with_409(api, existing, look_alike):
    assert register(api, existing).status_code == 201
    response = register(api, look_alike, **EN)
    assert response.status_code == 409
    assert response.json()["error"] == {"code": "username_taken", "message": LOOK_ALIKE_EN}
    assert list(User.objects.values_list("username", flat=True)) == [existing]


@pytest.mark.django_db
def test_the_look_alike_refusal_comes_in_chinese_too(api):
    register(api, "boss")
    response = register(api, "bоss", **ZH)
    assert response.status_code == 409
    assert response.json()["error"] == {"code": "username_taken", "message": LOOK_ALIKE_ZH}


@pytest.mark.django_db
def test_the_same_name_in_another_case_keeps_its_own_message(api):
    register(api, "boss")
    response = register(api, "Boss", **ZH)
    assert response.status_code == 409
    assert response.json()["error"] == {"code": "username_taken", "message": "该用户名已被使用。"}


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["小明", "王五", "li", "Al", "x1", "a.", "_z", "김수"])
def test_two_character_names_are_accepted(api, name):
    response = register(api, name)
    assert response.status_code == 201, response.content
    assert User.objects.filter(username=name).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["a", "明", "7", "_"])
def test_one_character_is_too_short(api, name):
    response = register(api, name, **EN)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["username"] == [
        "Enter a username of 2–150 characters: letters, digits, CJK characters, _ - and . only."
    ]
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_a_150_character_name_is_accepted_and_151_are_not(api):
    assert register(api, "한" * 151).status_code == 400
    # Hangul syllables have the longest skeletons (seven letters each).
    assert register(api, "쮔" * 150).status_code == 201


@pytest.mark.django_db
def test_names_are_nfkc_normalised_before_the_length_and_look_alike_checks(api):
    response = register(api, "ｘｙ")  # full-width letters
    assert response.status_code == 201
    assert response.json()["username"] == "xy"
    assert User.objects.get().username == "xy"
    # NFKC first: full-width Cyrillic-free "ｘｙ" is "xy", and Cyrillic "ХУ" looks like it.
    assert register(api, "ХУ").status_code == 409
    assert register(api, "ｂｏｓｓ").status_code == 201
    assert register(api, "ｂоｓｓ").status_code == 409  # full-width b s s around a Cyrillic о


@pytest.mark.django_db
def test_the_page_form_accepts_two_characters_and_refuses_look_alikes():
    body = {"username": "小力", "password": GOOD_PASSWORD, "password2": GOOD_PASSWORD}
    assert Client().post("/register/", body, **EN).status_code == 302
    response = Client().post("/register/", {**body, "username": "小カ"}, **EN)
    assert response.status_code == 409
    assert LOOK_ALIKE_EN in response.content.decode()


@pytest.mark.django_db
def test_the_database_refuses_a_look_alike_that_skips_the_service():
    User.objects.create_user(username="boss", password=GOOD_PASSWORD)
    with pytest.raises(IntegrityError):
        User.objects.create_user(username="bоss", password=GOOD_PASSWORD)


@pytest.mark.django_db
def test_a_rename_keeps_the_skeleton_and_cannot_take_a_look_alike(make_user):
    from accounts.validators import username_skeleton

    make_user("boss")
    user = make_user("dora")
    user.username = "bоss"
    with pytest.raises(ValidationError) as refused:
        user.full_clean()
    assert refused.value.message_dict["username"] == [LOOK_ALIKE_EN]
    user.username = "dorothy"
    user.save()
    assert User.objects.get(pk=user.pk).username_skeleton == username_skeleton("dorothy")
    assert register(APIClient(), "d0rothy").status_code == 409


@pytest.fixture
def _roles():
    """The roles registration gives: a transactional test may start after
    another one flushed the tables that the data migration seeded."""
    from django.contrib.auth.models import Group

    from accounts.models import SEEDED_ROLES

    for name in SEEDED_ROLES:
        Group.objects.get_or_create(name=name)


@pytest.mark.django_db
def test_django_admin_cannot_add_or_rename_to_a_look_alike(alice, bob):
    from conftest import PASSWORD

    admin = Client()
    assert admin.login(username="alice", password=PASSWORD)
    body = {"username": "bοb", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD, "usable_password": "true"}
    response = admin.post("/admin/accounts/user/add/", body, **EN)
    assert response.status_code == 200  # the form again, with the reason
    assert LOOK_ALIKE_EN in response.content.decode()
    assert not User.objects.filter(username="bοb").exists()
    assert admin.post("/admin/accounts/user/add/", {**body, "username": "bo"}, **EN).status_code == 302
    assert User.objects.filter(username="bo").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_roles")
def test_simultaneous_look_alikes_cannot_both_register(settings):
    settings.RATE_LIMIT_ENABLED = False
    names = ["boss", "bоss", "bοss", "BOSS", "b0ss", "bosѕ"]  # the last: Cyrillic ѕ
    barrier = threading.Barrier(len(names), timeout=30)
    statuses: list[int | None] = [None] * len(names)

    def attempt(index: int, name: str) -> None:
        client = APIClient()  # one client per thread: nothing shared
        try:
            barrier.wait()
            statuses[index] = register(client, name).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i, name)) for i, name in enumerate(names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201] + [409] * (len(names) - 1)
    assert User.objects.count() == 1


# --- The migration fills the column for users registered before it ----------

BEFORE = [("accounts", "0003_uploaders_role")]
AFTER = [("accounts", "0004_user_username_skeleton")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def _latest_schema_after():
    """Whatever happens in the test, later tests find the current schema."""
    yield
    executor = MigrationExecutor(connection)
    migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_roles")
@pytest.mark.usefixtures("_latest_schema_after")
def test_the_migration_fills_the_skeletons_of_existing_users(api):
    from accounts.validators import username_skeleton

    old_apps = migrate(BEFORE)
    OldUser = old_apps.get_model("accounts", "User")
    for name in ["boss", "Lily", "小明", "bоss"]:  # the last one registered before this rule
        OldUser.objects.create(username=name, password="!")

    migrate(AFTER)
    # The current models (and the API) need the current schema: later migrations too.
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    skeletons = dict(User.objects.values_list("username", "username_skeleton"))
    assert skeletons["boss"] == username_skeleton("boss")
    assert skeletons["Lily"] == username_skeleton("lily")
    assert skeletons["小明"] == username_skeleton("小明")
    # The older name keeps the look; the later look-alike is left without
    # one rather than stopping the upgrade, and still works.
    assert skeletons["bоss"] is None
    later = User.objects.get(username="bоss")
    later.set_password(GOOD_PASSWORD)
    later.save()
    assert register(api, "bοss").status_code == 409  # Greek ο: still taken by "boss"
    assert register(api, "LILY").status_code == 409
    assert register(api, "xiao").status_code == 201
