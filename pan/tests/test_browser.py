"""End to end in Chromium: upload on /welcome/, share, download with the code."""

import hashlib
import secrets

import pytest

pytestmark = pytest.mark.browser

PASSWORD = "Lantern-Field-71"


def test_upload_share_and_download_through_the_pages(daphne_server, chromium, tmp_path):
    name = f"browser-{secrets.token_hex(3)}"
    daphne_server.register(name, PASSWORD)
    daphne_server.manage("grant_role", name, "admin")
    data = secrets.token_bytes(6 * 1024 * 1024 + 3)

    uploader = chromium.new_context(locale="en-US")
    page = uploader.new_page()
    page.goto(f"{daphne_server.url}/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/welcome/")
    page.set_input_files(
        "#upload-file", {"name": "年度报告 📊.bin", "mimeType": "application/octet-stream", "buffer": data}
    )
    page.click("#upload-button")
    page.wait_for_selector("#upload-result", state="visible", timeout=30_000)
    assert page.eval_on_selector("#upload-bar", "bar => bar.value") == 100
    assert page.text_content("#upload-percent") == "100%"
    code = page.text_content("#result-code")
    link = page.input_value("#result-link")
    assert len(code) == 6 and link.endswith(f"?code={code}")
    assert page.get_attribute("#result-qr", "src").startswith("data:image/svg+xml")
    assert page.text_content("#result-name") == "年度报告 📊.bin"
    uploader.close()

    # Someone else, with only the link (no account, fresh profile).
    receiver = chromium.new_context(locale="zh-CN", accept_downloads=True)
    page = receiver.new_page()
    page.goto(link)
    assert page.input_value("#id_code") == code
    page.goto(link.split("?")[0])  # the page without the code: type it in
    page.fill("#id_code", "ZZZZZZ")
    page.click("#download-button")
    assert "提取码不正确" in page.text_content(".code-error")
    page.fill("#id_code", code.lower())
    with page.expect_download() as download_info:
        page.click("#download-button")
    download = download_info.value
    assert download.suggested_filename == "年度报告 📊.bin"
    saved = tmp_path / "downloaded.bin"
    download.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    receiver.close()
