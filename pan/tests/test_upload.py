"""Uploads through the API: names, sizes, limits, bad input, permissions."""

import hashlib
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from pan.models import Share

from .conftest import body_of, post_upload

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}


def stored_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


@pytest.fixture(autouse=True)
def _empty_media():
    for path in stored_files():
        path.unlink()


@pytest.mark.parametrize("data", [b"", b"x", bytes(range(256)) * 4096], ids=["0 bytes", "1 byte", "1 MiB"])
def test_upload_then_download_round_trips(shared, api, data):
    info = shared(data=data, filename="data.bin")
    assert info["size"] == len(data)
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert set(info) >= {
        "unique_name",
        "file_name",
        "size",
        "content_type",
        "sha256",
        "share_code",
        "url",
        "expires_at",
        "max_downloads",
    }
    assert info["url"].endswith(f"/f/{info['unique_name']}/")
    assert info["qr"].startswith("data:image/svg+xml")
    response = api.get(f"/api/files/{info['unique_name']}/content", HTTP_X_SHARE_CODE=info["share_code"])
    assert response.status_code == 200
    assert body_of(response) == data
    assert response["Content-Length"] == str(len(data))


def test_bytes_are_stored_under_a_random_key_not_the_clients_name_nor_the_public_id(shared):
    info = shared(filename="../../etc/passwd")
    assert info["file_name"] == "passwd"
    [stored] = stored_files()
    assert stored.parent.name == "items"
    assert stored.name not in (info["unique_name"], "passwd")
    assert len(stored.name) >= 32 and len(info["unique_name"]) >= 22


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("报告-最终版.pdf", "报告-最终版.pdf"),
        ("🎉 party 🎈.png", "🎉 party 🎈.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\y", "y"),
        ("a\u202egnp.exe", "agnp.exe"),
        ("...", "file"),
        ("e\u0301te\u0301.txt", "été.txt"),
    ],
)
def test_file_names_are_sanitised_and_kept_as_metadata(shared, api, sent, kept):
    info = shared(filename=sent)
    assert info["file_name"] == kept
    response = api.get(f"/api/files/{info['unique_name']}/content?code={info['share_code']}")
    body_of(response)
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment;")


def test_control_characters_are_removed_from_names(uploader):
    # Control characters inside a quoted multipart file name.
    response = post_upload(uploader, filename="re\x07port\x1b.txt")
    assert response.status_code == 201
    assert response.json()["file_name"] == "report.txt"


def test_very_long_unicode_names_are_cut_keeping_the_extension(shared):
    info = shared(filename="长" * 290 + ".tar.gz")
    name = info["file_name"]
    assert name.endswith("长.gz")
    assert len(name.encode()) <= 255


def test_a_name_too_long_for_a_multipart_header_is_400(uploader):
    response = post_upload(uploader, filename="长" * 400 + ".txt")
    assert response.status_code == 400
    assert Share.objects.count() == 0


def test_a_bare_dot_dot_name_is_not_a_file(uploader):
    response = post_upload(uploader, filename="..")
    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]


def test_cjk_names_survive_the_download_header(shared, api):
    info = shared(filename="季度报告 📈.xlsx")
    response = api.get(f"/api/files/{info['unique_name']}/content?code={info['share_code']}")
    body_of(response)
    header = response["Content-Disposition"]
    assert "filename*=UTF-8''%E5%AD%A3%E5%BA%A6%E6%8A%A5%E5%91%8A%20%F0%9F%93%88.xlsx" in header
    assert 'filename="____ _.xlsx"' in header


@override_settings(PAN_MAX_UPLOAD_SIZE=1000)
def test_over_the_size_limit_is_413_and_nothing_is_kept(uploader):
    response = post_upload(uploader, data=b"x" * 1001, **EN)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert Share.objects.count() == 0
    assert stored_files() == []
    assert post_upload(uploader, data=b"x" * 1000).status_code == 201


@override_settings(PAN_MAX_UPLOAD_SIZE=10)
def test_the_size_error_is_in_both_languages(uploader):
    english = post_upload(uploader, data=b"x" * 11, headers=EN).json()["error"]["message"]
    chinese = post_upload(uploader, data=b"x" * 11, headers=ZH).json()["error"]["message"]
    assert english == "The file is larger than this server accepts."
    assert chinese == "文件超过了服务器允许的大小。"


def test_expiry_and_download_limit_are_recorded(shared):
    info = shared(expires_in="3600", max_downloads="2")
    assert info["max_downloads"] == 2
    assert info["expires_at"] is not None
    never = shared(expires_in="0")
    assert never["expires_at"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"expires_in": "soon"}, "expires_in"),
        ({"expires_in": "-5"}, "expires_in"),
        ({"expires_in": "1.5"}, "expires_in"),
        ({"max_downloads": "0"}, "max_downloads"),
        ({"max_downloads": "-1"}, "max_downloads"),
        ({"max_downloads": "many"}, "max_downloads"),
    ],
)
def test_bad_numbers_are_400_and_nothing_is_kept(uploader, fields, field):
    response = post_upload(uploader, **fields)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert Share.objects.count() == 0
    assert stored_files() == []


def test_a_missing_file_field_is_400(uploader):
    response = post_upload(uploader, filename=None, expires_in="60")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"] == ["Choose a file to upload."]


def test_malformed_multipart_is_400(uploader):
    response = uploader.generic(
        "POST", "/api/files", b"--nope\r\nthis is not multipart", content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 400
    no_boundary = uploader.generic(
        "POST", "/api/files", b"abc", content_type="multipart/form-data", HTTP_ACCEPT_LANGUAGE="zh-CN"
    )
    assert no_boundary.status_code == 400
    assert no_boundary.json()["error"] == {
        "code": "malformed_upload",
        "message": "上传的内容不是有效的 multipart 表单。",
    }
    as_json = uploader.post("/api/files", {"file": "x"}, format="json")
    assert as_json.status_code == 415, as_json.content  # not multipart at all: unsupported media type
    assert Share.objects.count() == 0


def test_upload_needs_a_token_and_the_upload_permission(api, api_as, bob, charlie, alice):
    assert post_upload(api).status_code == 401
    assert post_upload(api_as(bob)).status_code == 403
    assert post_upload(api_as(charlie)).status_code == 403
    assert post_upload(api_as(alice)).status_code == 201
    assert Share.objects.count() == 1


def test_the_upload_page_form_uses_the_session_and_csrf(client, alice):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    page = browser.get("/welcome/")
    assert b'id="upload-form"' in page.content
    token = browser.cookies["csrftoken"].value
    assert post_upload(browser).status_code == 403  # no CSRF token
    response = post_upload(browser, headers={"HTTP_X_CSRFTOKEN": token})
    assert response.status_code == 201


def test_the_upload_form_is_only_for_uploaders(client, bob):
    client.force_login(bob)
    assert b'id="upload-form"' not in client.get("/welcome/").content
