"""The drop-off page sends through tus in Chromium (SPEC §4.4b, issue 21
item 4): an outsider (no account) drops two files into a request, each file
becomes its own drop with its own receipt, linked in the queue; a network
that drops mid-file resumes by itself; phone and desktop, both languages,
no serious accessibility violations."""

import secrets

import httpx
import pytest

from pan.tests.tus_browser import (
    MIB,
    SLOW_UPLOAD,
    Sent,
    big_file,
    fits,
    server_env,
    server_offset,
    sha256_of,
    stored_upload_urls,
    token,
    uploader,
)
from project.testing_browser import DESKTOP, PHONE, axe_violations, guarded_context, throttle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server():
    from project.testing import LiveServer

    with LiveServer(extra_env=server_env()) as live:
        live.register("boss", "Lantern-Field-71")  # the first account: admin
        yield live


def new_request(server, *, max_files: int = 5) -> str:
    name = uploader(server)
    answer = httpx.post(
        f"{server.url}/api/requests",
        headers={"Authorization": f"Bearer {token(server, name)}"},
        json={"title": "Scans", "expires_in": 86400, "max_files": max_files, "max_bytes": 200 * MIB},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["code"]


def receipt_of(context, url: str) -> dict:
    """File name -> SHA-256, as the receipt page lists them."""
    page = context.new_page()
    page.goto(url)
    rows = page.locator(".receipt-files tbody tr")
    found = {row.locator("td").nth(0).text_content(): row.locator(".sha256").text_content() for row in rows.all()}
    page.close()
    return found


@pytest.mark.parametrize(
    "locale, viewport, sent_word, all_sent",
    [("en-US", DESKTOP, "Sent", "Every file arrived"), ("zh-CN", PHONE, "已发送", "所有文件均已送达")],
)
def test_two_files_dropped_by_an_outsider_get_two_receipts(
    server, chromium, tmp_path, locale, viewport, sent_word, all_sent
):
    code = new_request(server)
    scan = big_file(tmp_path, "扫描件.pdf", 3 * MIB + 17)
    note = tmp_path / "notes.txt"
    note.write_bytes(secrets.token_bytes(2048))
    outsider = guarded_context(chromium, locale=locale, viewport=viewport)
    page = outsider.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sent = Sent(page)
    page.goto(f"{server.url}/r/{code}/")
    page.set_input_files("#drop-files", [str(scan), str(note)])
    page.fill("#drop-name", "Wei")
    page.fill("#drop-note", "Both scans, as asked.")
    page.click("#drop-send")
    page.wait_for_function(
        "() => document.querySelectorAll('#drop-queue .drop-receipt-link:not([hidden])').length === 2"
    )

    assert all_sent in page.text_content("#drop-status")
    statuses = page.locator("#drop-queue .drop-item-status").all_text_contents()
    assert statuses == [sent_word, sent_word]
    assert [m for m, _p, _o in sent.requests if m == "POST"] == ["POST", "POST"]  # one tus upload per file
    links = [link.get_attribute("href") for link in page.locator("#drop-queue .drop-receipt-link").all()]
    assert len(set(links)) == 2  # two drops, two receipts
    receipts = [receipt_of(outsider, httpx.URL(server.url).join(link).__str__()) for link in links]
    assert receipts == [{"扫描件.pdf": sha256_of(scan.read_bytes())}, {"notes.txt": sha256_of(note.read_bytes())}]
    assert stored_upload_urls(page) == []
    if viewport == PHONE:
        assert fits(page)
    assert axe_violations(page) == []
    assert errors == []
    outsider.close()


def test_a_drop_resumes_by_itself_after_the_network_comes_back(server, chromium, tmp_path):
    code = new_request(server)
    path = big_file(tmp_path, "video.mp4", 24 * MIB)
    outsider = guarded_context(chromium, locale="en-US", viewport=DESKTOP)
    page = outsider.new_page()
    sent = Sent(page)
    page.goto(f"{server.url}/r/{code}/")
    throttle(page, SLOW_UPLOAD)
    page.set_input_files("#drop-files", str(path))
    page.click("#drop-send")
    page.wait_for_function("() => document.querySelector('#drop-progress').value >= 20", timeout=60_000)

    outsider.set_offline(True)
    page.wait_for_selector("#drop-queue .drop-item[data-phase=offline]", timeout=10_000)
    assert page.text_content("#drop-queue .drop-item-status") == "Offline: waiting for the network…"
    [upload_url] = stored_upload_urls(page)
    held = server_offset(server.url, upload_url)
    assert held > 0
    outsider.set_offline(False)
    page.wait_for_selector("#drop-queue .drop-receipt-link:not([hidden])", timeout=120_000)
    assert page.text_content("#drop-queue .drop-item-status").startswith("Resumed from ")
    assert [offset for offset in sent.patches() if offset > 0][0] >= held
    link = page.get_attribute("#drop-queue .drop-receipt-link", "href")
    assert receipt_of(outsider, str(httpx.URL(server.url).join(link))) == {"video.mp4": sha256_of(path.read_bytes())}
    outsider.close()
