"""A file named `..` or `photos/` (attack run finding G9) is a 400 in the
API's error shape, in the caller's language, on `/api/shares` (multipart)
and on the anonymous drop API — not Django's English HTML page — and
nothing is stored. Any 400 Django raises itself on an API path answers in
the same shape (handler400)."""

import pytest
from django.test import Client

from dropoff.models import Drop
from dropoff.services import request_create
from pan.models import Item, Share

from .conftest import multipart_files

pytestmark = pytest.mark.django_db

NAMES = ["..", "photos/"]


def post(address: str, name: str, language: str = "en", **headers):
    body, ctype = multipart_files([("ok.txt", b"fine"), (name, b"x")])
    client = Client(raise_request_exception=False)
    return client.generic("POST", address, body, content_type=ctype, HTTP_ACCEPT_LANGUAGE=language, **headers)


def assert_api_400(answer, chinese: bool = False):
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/json", answer.content[:200]
    error = answer.json()["error"]
    assert error["code"] == "invalid"
    message = error["fields"]["file"][0]
    assert ("“..”" in message) and (("文件" in message) if chinese else ("folder" in message)), message


@pytest.mark.parametrize("name", NAMES)
def test_a_share_upload_with_a_folder_or_dot_dot_name_is_an_api_400(name, dana, token_for):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(dana)}"}
    assert_api_400(post("/api/shares", name, **auth))
    assert_api_400(post("/api/shares", name, "zh-CN", **auth), chinese=True)
    assert (Share.objects.count(), Item.objects.count()) == (0, 0)


@pytest.mark.parametrize("name", NAMES)
def test_a_drop_with_a_folder_or_dot_dot_name_is_an_api_400(name, dana):
    drop_request = request_create(owner=dana, title="Scans")
    assert_api_400(post(f"/api/requests/{drop_request.code}/drops", name))
    assert_api_400(post(f"/api/requests/{drop_request.code}/drops", name, "zh-CN"), chinese=True)
    assert (Drop.objects.count(), Share.objects.count(), Item.objects.count()) == (0, 0, 0)


def test_a_400_django_raises_itself_on_an_api_path_is_in_the_api_shape():
    """A Host outside ALLOWED_HOSTS: Django's own SuspiciousOperation."""
    client = Client(raise_request_exception=False)
    answer = client.get("/api/me", HTTP_HOST="evil.example", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_request"
    assert answer.json()["error"]["message"] == "无法处理该请求。"
