"""The sharer's side in Chromium (issue 12, SPEC §4.5 and §6), on a plain-HTTP
address that is not localhost, as most self-hosted set-ups are.

Chromium counts every 127.x.y.z address and `localhost` as secure contexts
(they have navigator.clipboard), so the server here is reached as
`http://pan.test:<port>`: Chromium resolves that name to 127.0.0.1
(`--host-resolver-rules`) and the server allows it (`ALLOWED_HOSTS`). One
server and one browser serve the whole module; screenshots of the main
pages in both themes and languages go to var/screenshots/ (git-ignored).
"""

import re
import secrets
import zipfile
from pathlib import Path

import httpx
import pytest

from project.testing_browser import AXE_RUN, DESKTOP, PASSWORD, PHONE, Watched, chromium_launched, inject_script, log_in

pytestmark = pytest.mark.browser

HOST = "pan.test"
MAX_FILE = 8 * 1024 * 1024
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="module")
def server():
    from project.testing import LiveServer

    env = {"ALLOWED_HOSTS": f"127.0.0.1,localhost,{HOST}", "PAN_MAX_UPLOAD_SIZE": str(MAX_FILE)}
    with LiveServer(extra_env=env) as live:
        live.register("boss", PASSWORD)  # the first account: the admin people are told to ask
        live.plain_url = live.url.replace("127.0.0.1", HOST)
        yield live


@pytest.fixture(scope="module")
def chromium():
    """One Chromium for the module (it holds only browser tests), which
    resolves HOST to 127.0.0.1: a plain-HTTP origin that is not localhost."""
    with chromium_launched(f"--host-resolver-rules=MAP {HOST} 127.0.0.1") as browser:
        yield browser


# Django sends Cross-Origin-Opener-Policy on every page; on a plain-HTTP
# origin that is not localhost Chromium ignores it and says so in the console.
# Not a fault of the page (settings: send it only with HTTPS=true).


def uploader(server) -> str:
    name = f"up-{secrets.token_hex(3)}"
    server.register(name, PASSWORD)
    server.manage("grant_role", name, "uploaders")
    return name


def fits(page, width=PHONE["width"]) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def in_view(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] < height * 0.5


DROP = """([names, selector]) => {
  const transfer = new DataTransfer();
  for (const name of names) { transfer.items.add(new File(["dropped " + name], name, {type: "text/plain"})); }
  const event = new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true});
  document.querySelector(selector).dispatchEvent(event);
  return event.defaultPrevented;
}"""


@pytest.mark.parametrize(
    "locale, viewport, role, card",
    [("en-US", DESKTOP, "user", "What you can do"), ("zh-CN", PHONE, "用户", "你可以做的事")],
)
def test_a_new_user_is_told_what_they_can_do_and_whom_to_ask(server, chromium, locale, viewport, role, card):
    watched = Watched(chromium, locale=locale, viewport=viewport)
    page = watched.page()
    page.goto(f"{server.plain_url}/register/")
    page.fill("#id_username", f"new-{secrets.token_hex(3)}")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/welcome/")
    assert page.text_content(".can-do h2") == card
    assert "boss" in page.text_content(".can-do-admins")
    assert page.text_content('.badge[data-role="users"]') == role
    assert page.locator("#upload-form").count() == 0
    # The nav offers only what this account may do.
    assert page.locator(".site-nav a[href='/welcome/'][data-nav=upload]").count() == 0
    assert page.locator(".site-nav a[href='/files/']").count() == 0
    assert page.locator(".site-nav a[href='/share/']").count() == 1
    assert page.locator(".can-do a[href='/share/']").count() == 1
    assert fits(page, viewport["width"])
    shot(page, f"welcome-no-upload-{locale}-{viewport['width']}")
    # /files/ says why it is empty and links to no page this account cannot use.
    page.goto(f"{server.plain_url}/files/")
    assert page.locator(".empty a[href='/welcome/']").count() == 0
    page.goto(f"{server.plain_url}/")
    assert page.locator(".hero a[href='/welcome/']").count() == 0
    watched.close()


@pytest.mark.parametrize("locale, viewport", [("en-US", PHONE), ("zh-CN", DESKTOP)])
def test_an_uploader_shares_files_and_a_folder_cancels_one_and_copies_the_link_over_plain_http(
    server, chromium, tmp_path, locale, viewport
):
    name = uploader(server)
    watched = Watched(chromium, locale=locale, viewport=viewport)
    page = watched.page()
    log_in(page, server.plain_url, name)
    assert page.evaluate("window.isSecureContext") is False
    assert page.evaluate("navigator.clipboard === undefined")
    assert page.locator("#upload-limits").is_visible()
    # The drop zone takes keyboard focus, and Enter opens the file picker
    # (the click on the file input is caught and stopped: no dialog to wait for).
    page.evaluate(
        "document.getElementById('upload-file').addEventListener('click', event => {"
        " window.pickerOpened = true; event.preventDefault(); }, {once: true})"
    )
    page.focus("#dropzone")
    page.keyboard.press("Enter")
    assert page.evaluate("window.pickerOpened === true")
    assert "8.0" in page.text_content("#upload-limits")

    # Too big for the limit: named at once, never sent, not queued.
    page.set_input_files(
        "#upload-file", {"name": "huge.bin", "mimeType": "application/octet-stream", "buffer": b"\0" * (MAX_FILE + 1)}
    )
    assert "huge.bin" in page.text_content("#upload-pick-error")  # beside the picker
    assert page.locator("#upload-queue .queue-item").count() == 0

    big = secrets.token_bytes(3 * 1024 * 1024)
    page.set_input_files("#upload-file", {"name": "big.bin", "mimeType": "application/octet-stream", "buffer": big})
    # Two files dropped on the heading, outside the zone: both kept, and the page stays.
    assert page.evaluate(DROP, [["a.txt", "cancel-me.txt"], "h1"]) is True
    folder = tmp_path / "album"
    (folder / "sub").mkdir(parents=True)
    (folder / "x.txt").write_bytes(b"x in the folder")
    (folder / "sub" / "y.txt").write_bytes(b"y in a subfolder")
    page.set_input_files("#upload-folder", str(folder))
    paths = page.locator("#upload-queue .queue-path").all_text_contents()
    assert paths == ["big.bin", "a.txt", "cancel-me.txt", "album/x.txt", "album/sub/y.txt"]
    assert fits(page, viewport["width"])

    # Slow the upload down so that progress, speed and cancel can be seen.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 1024 * 1024},
    )
    page.click("#upload-button")
    # The code is reserved and shown while the files are still travelling.
    page.wait_for_selector("#upload-result", state="visible")
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", page.text_content("#result-code"))
    assert page.locator("#result-state.uploading").count() == 1
    sending = page.locator(".queue-item[data-state=sending]")
    sending.wait_for()
    # "1.0 MB of 3.0 MB · 1.0 MB/s · 2 s left", or in Chinese "… /秒 · 还剩 2 秒".
    page.wait_for_function(
        "() => (document.querySelector('.queue-item[data-state=sending] .queue-status') || {}).textContent"
        " ?.match(/\\/(s|秒) · \\S/)"
    )
    shot(page, f"upload-progress-{locale}-{viewport['width']}")
    page.locator(".queue-item", has_text="cancel-me.txt").locator(".queue-remove").click()
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    page.wait_for_selector("#result-state:not(.uploading)", timeout=30_000)
    assert page.evaluate("document.activeElement.id") == "upload-result"
    assert in_view(page, "#upload-result")
    assert page.text_content("#upload-announce")
    assert page.eval_on_selector("#upload-bar", "bar => bar.value") == 100
    assert page.get_attribute("#result-qr-download", "href").startswith("data:image/svg+xml")
    assert fits(page, viewport["width"])
    shot(page, f"upload-result-{locale}-{viewport['width']}")
    link = page.input_value("#result-link")
    code = page.text_content("#result-code")
    assert link.startswith(f"{server.plain_url}/f/")

    # Copy on plain HTTP: no clipboard API, yet the link reaches the clipboard.
    page.click("[data-copy='#result-link']")
    copied = "复制" if locale.startswith("zh") else "Copied"
    page.wait_for_function(
        f"() => document.querySelector(\"[data-copy='#result-link']\").textContent.includes('{copied}')"
    )
    reader = watched.context.new_page()
    watched.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    reader.goto(f"{server.url}/")
    assert reader.evaluate("navigator.clipboard.readText()") == link
    reader.close()

    # "Share more" empties the form for the next share.
    page.click("#share-more")
    assert page.locator("#upload-result").is_hidden()
    assert page.evaluate("document.activeElement.id") == "dropzone"
    watched.close()

    # A recipient picks it up by code on the home page and gets the zip: the cancelled file is not in it.
    recipient = Watched(chromium, locale=locale, viewport=viewport, accept_downloads=True)
    page = recipient.page()
    page.goto(f"{server.plain_url}/")
    page.fill("#pickup-code", code)
    page.click("#pickup-button")
    page.wait_for_selector("#download-all")
    with page.expect_download() as download_info:
        page.click("#download-all")
    download_info.value.save_as(tmp_path / "all.zip")
    with zipfile.ZipFile(tmp_path / "all.zip") as archive:
        contents = {entry: archive.read(entry) for entry in archive.namelist()}
    assert contents == {
        "big.bin": big,
        "a.txt": b"dropped a.txt",
        "album/x.txt": b"x in the folder",
        "album/sub/y.txt": b"y in a subfolder",
    }
    recipient.close()


@pytest.mark.parametrize("refusal", ["return false", "throw new Error('refused')"])
def test_copy_falls_back_to_a_selected_field_and_a_hint(server, chromium, refusal):
    watched = Watched(chromium, locale="en-US", viewport=PHONE)
    watched.context.add_init_script(f"document.execCommand = function () {{ {refusal}; }};")
    page = watched.page()
    page.goto(f"{server.plain_url}/short/")
    page.fill("#id_url", "https://example.com/一个/路径?q=中文")
    page.click("#shorten-form button[type=submit]")
    page.wait_for_selector("#short-result")
    page.click("#copy-short-url")
    field = page.locator(".copy-fallback-field")
    field.wait_for()
    assert field.input_value() == page.input_value("#short-url")
    assert page.evaluate("document.activeElement.classList.contains('copy-fallback-field')")
    assert page.evaluate("[document.activeElement.selectionStart, document.activeElement.selectionEnd]") == [
        0,
        len(field.input_value()),
    ]
    assert "Ctrl+C" in page.text_content(".copy-fallback-hint")
    assert fits(page)
    watched.close()  # and no exception reached the console


def share_by_api(server, name: str, title: str) -> dict:
    token = httpx.post(f"{server.url}/api/login", json={"username": name, "password": PASSWORD}).json()["access"]
    response = httpx.post(
        f"{server.url}/api/shares",
        headers={"Authorization": f"Bearer {token}"},
        data={"title": title},
        files=[("file", ("notes.txt", b"some notes", "text/plain"))],
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_revoked_share_offers_share_again_and_states_have_their_own_colours(server, chromium):
    name = uploader(server)
    share_by_api(server, name, "Kept")
    share_by_api(server, name, "Stopped")
    watched = Watched(chromium, locale="en-US", viewport=PHONE)
    page = watched.page()
    log_in(page, server.plain_url, name)
    page.goto(f"{server.plain_url}/files/")
    stopped = page.locator(".share-row", has_text="Stopped")
    stopped.locator("button.revoke").click()
    page.wait_for_selector(".message")
    stopped = page.locator(".share-row", has_text="Stopped")
    assert stopped.get_attribute("data-state") == "revoked"
    assert stopped.locator("button.new-code").count() == 0  # a new code would not reopen it
    colours = page.evaluate(
        "[...document.querySelectorAll('.share-row .state')].map(s => getComputedStyle(s).backgroundColor)"
    )
    assert len(set(colours)) == 2
    assert fits(page)
    stopped.locator("button.restore").click()
    page.wait_for_selector(".message")
    assert page.locator(".share-row", has_text="Stopped").get_attribute("data-state") == "active"
    watched.close()


LABELS = """() => {
  const problems = [];
  for (const label of document.querySelectorAll("label[for]")) {
    if (!document.getElementById(label.htmlFor)) { problems.push("label for nothing: " + label.htmlFor); }
  }
  for (const control of document.querySelectorAll("input:not([type=hidden]), select, textarea, button")) {
    if (control.closest("[hidden]") || control.getAttribute("aria-hidden") === "true") { continue; }
    const named = control.labels && control.labels.length || control.getAttribute("aria-label")
      || control.getAttribute("aria-labelledby") || (control.tagName === "BUTTON" && control.textContent.trim());
    if (!named) { problems.push("unlabelled " + control.tagName + "#" + control.id); }
  }
  return problems;
}"""

CONTRAST = """() => {
  function rgb(colour) { return colour.match(/[\\d.]+/g).slice(0, 3).map(Number); }
  function lum(colour) {
    const [r, g, b] = rgb(colour).map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  function ratio(a, b) { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); }
  const card = getComputedStyle(document.body).getPropertyValue("--card").trim();
  const probe = document.createElement("div");
  probe.style.color = card; document.body.appendChild(probe);
  const background = getComputedStyle(probe).color; probe.remove();
  return [...document.querySelectorAll("input:not([type=hidden]):not(.visually-hidden), select, textarea")]
    .filter(el => el.offsetParent !== null)
    .map(el => ratio(getComputedStyle(el).borderTopColor, background));
}"""


@pytest.mark.parametrize("scheme, locale", [("light", "zh-CN"), ("dark", "en-US")])
def test_every_page_fits_a_phone_with_labelled_controls_in_both_themes(server, chromium, scheme, locale):
    name = uploader(server)
    info = share_by_api(server, name, "A share with a rather long title that has to wrap on a phone screen")
    watched = Watched(chromium, locale=locale, viewport=PHONE, color_scheme=scheme)
    page = watched.page()
    for path in ("/", "/login/", "/register/", "/short/"):
        page.goto(f"{server.plain_url}{path}")
        assert fits(page), path
        assert page.evaluate(LABELS) == [], path
        assert min(page.evaluate(CONTRAST)) >= 3, path
        shot(page, f"phone-{scheme}-{locale}-{path.strip('/') or 'home'}-anonymous")
    log_in(page, server.plain_url, name)
    page.goto(f"{server.plain_url}/short/")
    page.fill("#id_url", "https://例子.example/很长的路径/" + "段" * 60)
    page.click("#shorten-form button[type=submit]")
    page.wait_for_selector("#short-result")
    target = page.locator(".short-links .short-target").first
    assert "很长的路径" in target.text_content()  # decoded, not %E5%BE%88…
    assert target.evaluate("el => getComputedStyle(el).textOverflow") == "ellipsis"
    assert target.evaluate("el => el.scrollWidth > el.clientWidth")  # cut, on one line
    for path in ("/welcome/", "/files/", "/share/", "/short/", info["share_url"].replace("127.0.0.1", HOST)):
        page.goto(path if path.startswith("http") else f"{server.plain_url}{path}")
        for summary in page.locator(".share-details summary").all():
            summary.click()
        assert fits(page), path
        assert page.evaluate(LABELS) == [], path
        assert min(page.evaluate(CONTRAST)) >= 3, path
        shot(page, f"phone-{scheme}-{locale}-{'share-page' if path.startswith('http') else path.strip('/')}")
    page.set_viewport_size(DESKTOP)
    page.goto(f"{server.plain_url}/files/")
    shot(page, f"desktop-{scheme}-{locale}-files")
    page.goto(f"{server.plain_url}/welcome/")
    shot(page, f"desktop-{scheme}-{locale}-welcome")
    watched.close()


def test_form_checks_speak_the_page_language(server, chromium):
    watched = Watched(chromium, locale="en-US", viewport=PHONE)  # an English browser on a Chinese page
    page = watched.page()
    page.goto(f"{server.plain_url}/register/")
    with page.expect_navigation():
        page.select_option("#lang-select", "zh-hans")
    page.fill("#id_username", "a")
    page.click("button[type=submit]")
    assert page.text_content('.field-errors[data-for="id_username"]') == "请至少输入 2 个字符。"
    page.fill("#id_username", "ab")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password2", PASSWORD + "x")
    page.click("button[type=submit]")
    assert page.text_content('.field-errors[data-for="id_password2"]') == "两次输入的密码不一致。"
    # The home page's box is checked by the browser itself: its bubble gets the page's words.
    page.goto(f"{server.plain_url}/")
    page.click("#pickup-button")
    assert page.eval_on_selector("#pickup-code", "input => input.validationMessage") == "这个字段是必填项。"
    assert page.url.rstrip("/") == server.plain_url
    watched.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's script, injected into the page from disk: nothing is loaded from elsewhere."""
    from project.testing_browser import axe_source

    return axe_source()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_main_pages_have_no_serious_accessibility_violations(server, chromium, axe_source, scheme):
    name = uploader(server)
    info = share_by_api(server, name, "Checked by axe")
    watched = Watched(chromium, locale="zh-CN" if scheme == "dark" else "en-US", viewport=DESKTOP, color_scheme=scheme)
    page = watched.page()
    found = {}

    def check(label: str) -> None:
        for summary in page.locator(".share-details summary").all():
            summary.click()
        inject_script(page, axe_source)
        violations = page.evaluate(AXE_RUN)
        if violations:
            found[label] = violations

    for path in ("/", "/login/", "/register/", "/short/", info["share_url"].replace("127.0.0.1", HOST)):
        page.goto(path if path.startswith("http") else f"{server.plain_url}{path}")
        check(path)
    log_in(page, server.plain_url, name)
    check("/welcome/")
    for path in ("/files/", "/share/", f"/f/{info['id']}/"):
        page.goto(f"{server.plain_url}{path}")
        check(path)
    assert found == {}
    watched.close()
