"""Pages: /welcome/ upload form, /share/, /files/, /f/<unique>/ and its download."""

import pytest
from django.test import Client, override_settings

from pan.models import SharedFile

from .conftest import body_of

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
IMAGE = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def visitor() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.get("/")  # any page sets the CSRF cookie through the language form
    return client, client.cookies["csrftoken"].value


def test_the_file_page_shows_the_file_and_prefills_the_code(shared):
    info = shared(data=b"x" * 2048, filename="报告.pdf")
    page = Client().get(f"/f/{info['unique_name']}/?code={info['share_code']}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "报告.pdf" in html
    assert f'value="{info["share_code"]}"' in html
    assert "2.0\xa0KB" in html
    # Looking at the page is not a download.
    assert SharedFile.objects.get().download_count == 0


def test_download_from_the_page_with_the_code(shared):
    info = shared(data=b"page bytes", filename="notes.txt")
    client, token = visitor()
    response = client.post(
        f"/f/{info['unique_name']}/download", {"code": info["share_code"], "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 200
    assert body_of(response) == b"page bytes"
    assert response["Content-Disposition"].startswith("attachment;")
    assert SharedFile.objects.get().download_count == 1


def test_a_wrong_code_on_the_page_shows_the_message_then_429(shared):
    info = shared()
    client, token = visitor()
    url = f"/f/{info['unique_name']}/download"
    for _attempt in range(5):
        response = client.post(url, {"code": "ZZZZZZ", "csrfmiddlewaretoken": token}, **ZH)
        assert response.status_code == 403
        assert "提取码不正确。" in response.content.decode()
    response = client.post(url, {"code": "ZZZZZZ", "csrfmiddlewaretoken": token}, **EN)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many wrong codes for this file." in response.content.decode()


def test_unknown_files_get_a_404_page_and_gone_files_a_410_page(shared, uploader):
    missing = Client().get("/f/AAAAAAAAAAAAAAAAAAAAAA/", **EN)
    assert missing.status_code == 404
    assert "There is no file at this address." in missing.content.decode()
    missing_zh = Client().get("/f/AAAAAAAAAAAAAAAAAAAAAA/", **ZH)
    assert "这个地址没有文件" in missing_zh.content.decode()
    info = shared()
    uploader.post(f"/api/files/{info['unique_name']}/revoke")
    gone = Client().get(f"/f/{info['unique_name']}/", **EN)
    assert gone.status_code == 410
    assert "The owner has stopped sharing this file." in gone.content.decode()
    gone_zh = Client().get(f"/f/{info['unique_name']}/", **ZH)
    assert "所有者已停止分享这个文件。" in gone_zh.content.decode()
    client, token = visitor()
    post = client.post(f"/f/{info['unique_name']}/download", {"code": info["share_code"], "csrfmiddlewaretoken": token})
    assert post.status_code == 410


def test_images_preview_inline_once_the_code_is_accepted(shared):
    info = shared(data=IMAGE, filename="dot.png", content_type="image/png")
    client, token = visitor()
    page = client.get(f"/f/{info['unique_name']}/")
    assert b"/preview?code=" not in page.content
    accepted = client.post(f"/f/{info['unique_name']}/", {"code": info["share_code"], "csrfmiddlewaretoken": token})
    assert accepted.status_code == 200
    assert f"/f/{info['unique_name']}/preview?code={info['share_code']}" in accepted.content.decode()
    preview = client.get(f"/f/{info['unique_name']}/preview?code={info['share_code']}")
    assert preview.status_code == 200
    assert body_of(preview) == IMAGE
    assert preview["Content-Type"] == "image/png"
    assert preview["Content-Disposition"].startswith("inline;")
    assert preview["X-Content-Type-Options"] == "nosniff"
    assert preview["Content-Security-Policy"] == "sandbox"
    assert client.get(f"/f/{info['unique_name']}/preview?code=ZZZZZZ").status_code == 403


def test_no_preview_for_other_types(shared):
    info = shared(data=b"<svg onload=alert(1)>", filename="x.svg", content_type="image/svg+xml")
    response = Client().get(f"/f/{info['unique_name']}/preview?code={info['share_code']}")
    assert response.status_code == 404


def test_the_share_page_needs_visit_and_shows_codes_only_to_owners_and_admins(shared, alice, bob, charlie):
    info = shared(filename="公开.txt")
    anonymous = Client().get("/share/")
    assert anonymous.status_code == 302
    stranger = Client()
    stranger.force_login(charlie)
    assert stranger.get("/share/").status_code == 403
    member = Client()
    member.force_login(bob)
    page = member.get("/share/").content.decode()
    assert "公开.txt" in page
    assert info["share_code"] not in page
    admin = Client()
    admin.force_login(alice)
    page = admin.get("/share/").content.decode()
    assert info["share_code"] in page
    assert f"/f/{info['unique_name']}/?code={info['share_code']}" in page
    assert "data:image/svg+xml" in page


def test_the_share_page_paginates_newest_first(shared, bob):
    for number in range(23):
        shared(filename=f"file-{number:02}.txt")
    client = Client()
    client.force_login(bob)
    first = client.get("/share/").content.decode()
    assert "file-22.txt" in first and "file-02.txt" not in first
    second = client.get("/share/?page=2").content.decode()
    assert "file-02.txt" in second and "file-22.txt" not in second


def test_my_files_page_deletes_regenerates_and_revokes(shared, alice, bob):
    info = shared()
    owner = Client()
    owner.force_login(alice)
    page = owner.get("/files/").content.decode()
    assert info["share_code"] in page
    owner.post(f"/files/{info['unique_name']}/code")
    assert SharedFile.objects.get().share_code != info["share_code"]
    owner.post(f"/files/{info['unique_name']}/revoke")
    assert SharedFile.objects.get().revoked
    other = Client()
    other.force_login(bob)
    assert other.post(f"/files/{info['unique_name']}/delete").status_code == 404
    assert info["unique_name"] not in other.get("/files/").content.decode()
    response = owner.post(f"/files/{info['unique_name']}/delete")
    assert response.status_code == 302
    assert SharedFile.objects.count() == 0
    assert owner.post(f"/files/{info['unique_name']}/explode").status_code == 404


@override_settings(PAN_DOWNLOAD_REQUIRES_LOGIN=True)
def test_with_login_required_the_page_asks_visitors_to_log_in(shared, bob):
    info = shared()
    page = Client().get(f"/f/{info['unique_name']}/", **EN)
    assert page.status_code == 200
    assert "Log in to download this file." in page.content.decode()
    client, token = visitor()
    response = client.post(
        f"/f/{info['unique_name']}/download", {"code": info["share_code"], "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/f/")
    member = Client()
    member.force_login(bob)
    download = member.post(f"/f/{info['unique_name']}/download", {"code": info["share_code"]})
    assert body_of(download) == b"hello world"


def test_head_and_link_preview_fetches_of_the_page_do_not_count(shared):
    info = shared()
    for _fetch in range(3):
        Client().get(f"/f/{info['unique_name']}/?code={info['share_code']}", HTTP_USER_AGENT="Slackbot-LinkExpanding")
        Client().head(f"/f/{info['unique_name']}/")
    assert SharedFile.objects.get().download_count == 0


def test_an_empty_or_overlong_code_on_the_page_is_refused(shared):
    info = shared()
    client, token = visitor()
    url = f"/f/{info['unique_name']}/download"
    assert client.post(url, {"code": "", "csrfmiddlewaretoken": token}).status_code == 403
    assert client.post(url, {"code": "x" * 5000, "csrfmiddlewaretoken": token}).status_code == 403
    assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 403
