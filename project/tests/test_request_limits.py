"""Django's request limits (DATA_UPLOAD_*) on API paths answer in the API error
shape and the caller's language, not Django's English HTML "Bad Request (400)":
413 for a body over its size, 400 for too many fields or files (SPEC §8)."""

import json
import re

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import User
from pan.models import Share
from pan.tests.conftest import multipart_files
from shortener.models import ShortLink

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def uploader(make_user, api_as):
    return api_as(make_user("uma", roles=["users", "uploaders"]))


def both_languages(send) -> tuple[dict, dict, int]:
    english, chinese = send(EN), send(ZH)
    assert english.status_code == chinese.status_code
    assert english["Content-Type"] == chinese["Content-Type"] == "application/json"
    return english.json()["error"], chinese.json()["error"], english.status_code


def assert_translated(english: dict, chinese: dict) -> None:
    assert english["code"] == chinese["code"]
    assert any("\u4e00" <= char <= "\u9fff" for char in chinese["message"])
    assert not re.search(r"[A-Za-z]{4,}", chinese["message"]), chinese["message"]  # no English words left


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
@pytest.mark.parametrize("path", ["/api/short", "/api/login", "/api/register"])
def test_a_json_body_over_the_memory_limit_is_a_413(bob, api_as, path):
    client = api_as(bob) if path == "/api/short" else APIClient()
    body = json.dumps({"url": "https://example.com/" + "a" * 2000, "username": "x" * 2000, "password": "y"})
    links, users = ShortLink.objects.count(), User.objects.count()
    english, chinese, status = both_languages(
        lambda language: client.post(path, body, content_type="application/json", **language)
    )
    assert status == 413
    assert english == {"code": "body_too_large", "message": "The request body is too large (at most 1000\xa0bytes)."}
    assert_translated(english, chinese)
    assert (ShortLink.objects.count(), User.objects.count()) == (links, users)


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=50)
def test_too_many_form_fields_is_a_400():
    body = "&".join(f"field{number}=1" for number in range(60))
    english, chinese, status = both_languages(
        lambda language: APIClient().post("/api/login", body, content_type=FORM, **language)
    )
    assert status == 400
    assert english == {"code": "too_many_fields", "message": "The request has too many fields (at most 50)."}
    assert_translated(english, chinese)


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=50)
def test_too_many_query_parameters_is_a_400(bob, api_as):
    query = "&".join(f"p{number}=1" for number in range(60))
    english, chinese, status = both_languages(lambda language: api_as(bob).get(f"/api/short?{query}", **language))
    assert status == 400 and english["code"] == "too_many_fields"
    assert_translated(english, chinese)


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=50)
def test_too_many_multipart_fields_is_a_400_and_stores_nothing(uploader):
    body, content_type = multipart_files([("a.txt", b"a")], **{f"field{number}": "1" for number in range(60)})
    english, chinese, status = both_languages(
        lambda language: uploader.generic("POST", "/api/shares", body, content_type=content_type, **language)
    )
    assert status == 400 and english["code"] == "too_many_fields"
    assert_translated(english, chinese)
    assert not Share.objects.exists()


@override_settings(DATA_UPLOAD_MAX_NUMBER_FILES=5)
def test_too_many_multipart_files_is_a_400_and_stores_nothing(uploader):
    body, content_type = multipart_files([(f"file{number}.txt", b"x") for number in range(8)])
    english, chinese, status = both_languages(
        lambda language: uploader.generic("POST", "/api/shares", body, content_type=content_type, **language)
    )
    assert status == 400
    assert english == {"code": "too_many_files", "message": "The request has too many files (at most 5)."}
    assert_translated(english, chinese)
    assert not Share.objects.exists()
