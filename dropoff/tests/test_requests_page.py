"""`/requests/` (issue 19, item 4): each request's link with a copy button
and a QR code, a counter that is current and said with proper plural forms
in both languages, and the words the live counter uses. Tried with dana (an
owner who is not an admin), alice (admin: `manage`) and charlie (a stranger)."""

import pytest
from django.test import Client

from dropoff.services import request_create
from pan.tests.conftest import multipart_files

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def drop(code: str, count: int):
    files = [(f"f{index}.txt", b"x" * 10) for index in range(count)]
    body, ctype = multipart_files(files)
    answer = Client().generic("POST", f"/api/requests/{code}/drops", body, content_type=ctype)
    assert answer.status_code == 201, answer.content


@pytest.fixture
def dana_request(dana):
    return request_create(owner=dana, title="Tax papers", max_files=5, max_bytes=10**6)


def counter(html: str) -> str:
    start = html.index('class="request-counter"')
    return html[start : html.index("</p>", start)]


def test_the_counter_is_current_and_has_proper_plural_forms(dana, dana_request):
    client = signed_in(dana)
    assert "0 files received" in counter(client.get("/requests/", **EN).content.decode())
    drop(dana_request.code, 1)
    page = client.get("/requests/", **EN).content.decode()
    assert "1 file received" in counter(page) and "takes at most 5 files" in counter(page)
    assert "file(s)" not in page
    drop(dana_request.code, 2)
    assert 'data-files="3"' in counter(client.get("/requests/", **EN).content.decode())
    assert "3 files received" in counter(client.get("/requests/", **EN).content.decode())
    chinese = client.get("/requests/", **ZH).content.decode()
    assert "已收到 3 个文件" in counter(chinese) and "最多接收 5 个文件" in counter(chinese)


def test_the_live_counter_gets_its_words_in_both_forms(dana, dana_request):
    english = counter(signed_in(dana).get("/requests/", **EN).content.decode())
    assert 'data-msg-one="{count} file received"' in english and 'data-msg-other="{count} files received"' in english
    chinese = counter(signed_in(dana).get("/requests/", **ZH).content.decode())
    assert 'data-msg-one="已收到 {count} 个文件"' in chinese and 'data-msg-other="已收到 {count} 个文件"' in chinese
    live = signed_in(dana).get("/requests/", **EN).content.decode()
    assert 'data-msg-drop-one="{name} sent {files} file into' in live
    assert 'data-msg-drop-other="{name} sent {files} files into' in live


def test_each_request_link_has_a_copy_button_and_a_qr_code(dana, dana_request):
    page = signed_in(dana).get("/requests/", **EN).content.decode()
    field = f'id="request-url-{dana_request.unique_name}"'
    assert f'value="http://testserver/r/{dana_request.code}/"' in page and field in page
    assert f'data-copy="#request-url-{dana_request.unique_name}"' in page
    assert 'class="qr request-qr"' in page and "<svg" in page.split('class="qr request-qr"')[1][:400]


def test_a_manager_sees_the_request_and_a_stranger_does_not(dana_request, alice, charlie):
    assert dana_request.code_display in signed_in(alice).get("/requests/").content.decode()
    stranger = signed_in(charlie).get("/requests/").content.decode()
    assert dana_request.code_display not in stranger and dana_request.unique_name not in stranger
    answer = signed_in(charlie).post("/requests/", {"action": "close", "id": dana_request.unique_name})
    assert answer.status_code == 404
