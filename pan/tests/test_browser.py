"""End to end in Chromium: upload files and a folder as one share on /welcome/,
open the link in another browser, unlock with the code, download an item and
the zip; the pages fit a 390 px phone; delete asks first."""

import secrets
import struct
import zipfile
import zlib

import pytest

from project.testing import guarded_context

pytestmark = pytest.mark.browser

PASSWORD = "Lantern-Field-71"
PHONE = {"width": 390, "height": 844}


def png(width: int, height: int) -> bytes:
    """A small valid PNG (one colour), so the preview has something to decode."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x25\x57\xd6" * width for _row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def log_in(context, server, username: str):
    page = context.new_page()
    page.goto(f"{server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/welcome/")
    return page


def page_sized(context, viewport):
    page = context.new_page()
    page.set_viewport_size(viewport)
    return page


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_upload_a_folder_and_files_as_one_share_then_download_with_the_code(daphne_server, chromium, tmp_path):
    name = f"browser-{secrets.token_hex(3)}"
    daphne_server.register(name, PASSWORD)
    daphne_server.manage("grant_role", name, "uploaders")
    report = secrets.token_bytes(3 * 1024 * 1024 + 7)
    folder = tmp_path / "相册"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"alpha in a folder")
    (folder / "sub" / "b.png").write_bytes(png(40, 30))
    expected = {"年度报告 📊.bin": report, "相册/a.txt": b"alpha in a folder", "相册/sub/b.png": png(40, 30)}

    owner = guarded_context(chromium, locale="en-US")
    page = log_in(owner, daphne_server, name)
    page.set_input_files(
        "#upload-file", {"name": "年度报告 📊.bin", "mimeType": "application/octet-stream", "buffer": report}
    )
    page.set_input_files("#upload-folder", str(folder))
    assert page.text_content("#upload-count") == "3"
    assert sorted(page.locator("#upload-queue .queue-path").all_text_contents()) == sorted(expected)
    page.fill("#upload-title", "From the browser")
    page.set_viewport_size(PHONE)
    page.screenshot(path=tmp_path / "welcome-phone.png", full_page=True)
    assert fits_the_phone(page)
    page.click("#upload-button")
    page.wait_for_selector("#upload-result", state="visible", timeout=30_000)  # the code, while files travel
    page.wait_for_selector("#result-state:not(.uploading)", timeout=30_000)  # then complete
    assert page.eval_on_selector("#upload-bar", "bar => bar.value") == 100
    code_display = page.text_content("#result-code")
    link = page.input_value("#result-link")
    code = code_display.replace("-", "")
    assert len(code_display) == 9 and code_display[4] == "-"
    assert link.endswith(f"?code={code}")
    assert page.get_attribute("#result-qr", "src").startswith("data:image/svg+xml")
    assert page.text_content("#result-name") == "From the browser"
    assert page.evaluate("document.activeElement.id") == "upload-result"
    page.screenshot(path=tmp_path / "welcome-result-phone.png", full_page=True)
    assert fits_the_phone(page)
    share_url = link.split("?")[0]

    # Someone else, with only the link (no account, a fresh profile), types the code.
    receiver = guarded_context(chromium, locale="zh-CN", accept_downloads=True)
    page = receiver.new_page()
    page.goto(share_url)
    assert page.locator(".item-download").count() == 0
    page.fill("#id_code", "zzzz-zzzz")
    page.click("#unlock-button")
    assert "提取码不正确" in page.text_content(".code-error")
    page.fill("#id_code", code_display.lower())
    page.click("#unlock-button")
    page.wait_for_selector(".item-download")
    assert "code=" not in page.content()
    assert page.locator(".item-download").count() == 3
    preview = page.locator(".preview img")
    preview.wait_for()
    page.wait_for_function("() => document.querySelector('.preview img').complete")
    assert preview.evaluate("img => img.naturalWidth") == 40  # the inline preview decodes
    with page.expect_download() as download_info:
        page.locator(".item", has_text="年度报告").locator(".item-download").click()
    download = download_info.value
    assert download.suggested_filename == "年度报告 📊.bin"
    download.save_as(tmp_path / "item.bin")
    assert (tmp_path / "item.bin").read_bytes() == report
    with page.expect_download() as download_info:
        page.click("#download-all")
    download_info.value.save_as(tmp_path / "all.zip")
    with zipfile.ZipFile(tmp_path / "all.zip") as archive:
        assert {entry: archive.read(entry) for entry in archive.namelist()} == expected

    # The share page on a phone: no horizontal scrolling, locked or unlocked.
    phone = page_sized(receiver, PHONE)
    phone.goto(share_url)
    phone.screenshot(path=tmp_path / "share-page-phone.png", full_page=True)
    assert fits_the_phone(phone)
    stranger = guarded_context(chromium, locale="en-US", viewport=PHONE)
    locked = stranger.new_page()
    locked.goto(link)
    assert locked.input_value("#id_code") == code
    locked.screenshot(path=tmp_path / "share-page-locked-phone.png", full_page=True)
    assert fits_the_phone(locked)
    stranger.close()
    receiver.close()

    # The owner's list: downloads counted once, the disclosure, copy, and a phone layout.
    page = page_sized(owner, PHONE)
    page.goto(f"{daphne_server.url}/files/")
    row = page.locator(".share-row", has_text="From the browser")
    assert "1" in row.locator(".share-downloads").text_content()
    assert row.locator(".share-code").is_hidden()
    row.locator(".share-details summary").click()
    assert row.locator(".share-code").text_content() == code_display
    row.locator("[data-copy^='#link-']").click()
    page.wait_for_function("() => [...document.querySelectorAll('[data-copy]')].some(b => b.textContent === 'Copied')")
    page.screenshot(path=tmp_path / "files-phone.png", full_page=True)
    assert fits_the_phone(page)
    desktop = page_sized(owner, {"width": 1280, "height": 800})
    desktop.goto(f"{daphne_server.url}/files/")
    desktop.screenshot(path=tmp_path / "files-desktop.png", full_page=True)

    # Delete asks first: dismissing keeps the share, accepting deletes it.
    page.evaluate("window.stayed = true")
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.locator("button.delete").click()
    assert page.evaluate("window.stayed === true")  # the form was not sent
    page.reload()
    assert page.locator(".share-row", has_text="From the browser").count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button.delete").click()
    page.wait_for_load_state()
    page.wait_for_selector(".message")
    assert page.locator(".share-row", has_text="From the browser").count() == 0
    owner.close()
