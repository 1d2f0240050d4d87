"""Pickup by code in Chromium (SPEC §4.2, §6): from `/`, type the code and
land on the unlocked share page, in English and in Chinese, on a 390 px
phone too; a wrong code says so on the home page; while codes are limited
the page says how long to wait and the button stays disabled meanwhile."""

import secrets

import httpx
import pytest

from project.testing import guarded_context

from .conftest import multipart_files

pytestmark = pytest.mark.browser

PASSWORD = "Lantern-Field-71"
PHONE = {"width": 390, "height": 844}
FILES = [("notes.txt", b"first file"), ("photos/cat.txt", b"second file")]


def share_on(server, files=FILES, **fields) -> dict:
    """A share made over HTTP on the live server by a new uploader (not a manager)."""
    name = f"pickup-{secrets.token_hex(4)}"
    server.register(name, PASSWORD)
    server.manage("grant_role", name, "uploaders")
    login = httpx.post(f"{server.url}/api/login", json={"username": name, "password": PASSWORD})
    assert login.status_code == 200, login.text
    body, content_type = multipart_files(files, **fields)
    response = httpx.post(
        f"{server.url}/api/shares",
        content=body,
        headers={"Authorization": f"Bearer {login.json()['access']}", "Content-Type": content_type},
    )
    assert response.status_code == 201, response.text
    return response.json()


def wrong_code(info) -> str:
    return "zzzz-zzzz" if info["code"] != "ZZZZZZZZ" else "yyyy-yyyy"


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def pick_up(page, typed: str) -> None:
    page.fill("#pickup-code", typed)
    page.click("#pickup-button")


@pytest.mark.parametrize(
    "locale, heading, label, button",
    [
        ("en-US", "Pick up files", "Share code or link", "Pick up"),
        ("zh-CN", "提取文件", "提取码或链接", "提取"),
    ],
)
def test_a_code_typed_on_the_home_page_opens_the_share(
    daphne_server, chromium, tmp_path, locale, heading, label, button
):
    info = share_on(daphne_server, title="Holiday photos")
    context = guarded_context(chromium, locale=locale, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{daphne_server.url}/")
    assert page.text_content("#pickup-heading") == heading
    assert page.text_content(".pickup-label") == label
    assert page.text_content("#pickup-button") == button
    page.screenshot(path=tmp_path / f"home-{locale}.png", full_page=True)

    pick_up(page, info["code_display"].lower())
    page.wait_for_url(f"**/f/{info['id']}/")
    assert "code=" not in page.url
    assert page.text_content("h1") == "Holiday photos"
    assert page.locator(".item-download").count() == 2
    assert page.locator("#id_code").count() == 0  # unlocked: nothing left to type
    page.screenshot(path=tmp_path / f"share-{locale}.png", full_page=True)
    with page.expect_download() as download_info:
        page.locator(".item", has_text="notes.txt").locator(".item-download").click()
    download_info.value.save_as(tmp_path / "notes.txt")
    assert (tmp_path / "notes.txt").read_bytes() == b"first file"
    context.close()


def test_the_language_switch_translates_the_box(daphne_server, browser_context):
    page = browser_context.new_page()
    page.goto(f"{daphne_server.url}/")
    assert page.text_content(".pickup-label") == "Share code or link"
    with page.expect_navigation():
        page.select_option("#lang-select", "zh-hans")
    assert page.text_content(".pickup-label") == "提取码或链接"
    assert page.text_content("#pickup-button") == "提取"
    assert page.get_attribute("#pickup-code", "placeholder") == "XXXX-XXXX"


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_the_box_comes_first_on_a_phone_and_a_pasted_link_works(daphne_server, chromium, tmp_path, color_scheme):
    info = share_on(daphne_server)
    context = guarded_context(chromium, locale="zh-CN", viewport=PHONE, color_scheme=color_scheme, is_mobile=True)
    page = context.new_page()
    page.goto(f"{daphne_server.url}/")
    page.screenshot(path=tmp_path / f"home-phone-{color_scheme}.png")
    assert fits_the_phone(page)
    # The whole box, button included, is on the first screen, above the hero.
    for selector in ("#pickup-code", "#pickup-button", "#pickup-help"):
        box = page.locator(selector).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], selector
    assert page.locator(".pickup").bounding_box()["y"] < page.locator(".hero").bounding_box()["y"]
    code_field = page.locator("#pickup-code").bounding_box()
    assert code_field["height"] >= 44  # a comfortable target for a thumb
    assert code_field["width"] >= 180  # room for XXXX-XXXX at the box's font size

    pick_up(page, info["share_url"].replace("127.0.0.1", "localhost"))  # whatever host the link was sent with
    page.wait_for_url(f"**/f/{info['id']}/")
    assert page.locator(".item-download").count() == 2
    page.screenshot(path=tmp_path / f"share-phone-{color_scheme}.png", full_page=True)
    assert fits_the_phone(page)
    context.close()


@pytest.mark.parametrize("locale, message", [("en-US", "The share code is not correct."), ("zh-CN", "提取码不正确。")])
def test_a_wrong_code_shows_the_error_on_the_home_page(daphne_server, chromium, tmp_path, locale, message):
    info = share_on(daphne_server)
    context = guarded_context(chromium, locale=locale, viewport=PHONE)
    page = context.new_page()
    page.goto(f"{daphne_server.url}/")
    pick_up(page, wrong_code(info))
    page.wait_for_selector(".pickup-error")
    assert page.text_content(".pickup-message") == message
    assert page.get_attribute(".pickup-error", "role") == "alert"
    assert page.input_value("#pickup-code") == wrong_code(info)  # to correct it rather than retype it
    assert page.is_enabled("#pickup-button")
    assert page.locator(".hero a[href='/register/']").count() == 1  # the rest of the home page stays
    page.screenshot(path=tmp_path / f"home-wrong-code-{locale}.png", full_page=True)
    assert fits_the_phone(page)
    # Correcting the code then works from the same page.
    pick_up(page, info["code_display"])
    page.wait_for_url(f"**/f/{info['id']}/")
    assert page.locator(".item-download").count() == 2
    context.close()


@pytest.fixture(scope="module")
def strict_server():
    """A server of its own that allows two wrong codes per client: the
    shared one must not lock 127.0.0.1 out for the other browser tests."""
    from project.testing import LiveServer

    with LiveServer(extra_env={"PAN_CODE_CLIENT_ALL_LIMIT": "2", "PAN_CODE_CLIENT_ALL_WINDOW": "40"}) as server:
        yield server


def test_while_codes_are_limited_the_home_page_says_how_long_and_disables_the_button(strict_server, chromium, tmp_path):
    info = share_on(strict_server)
    context = guarded_context(chromium, locale="en-US", viewport=PHONE)
    page = context.new_page()
    page.clock.install()  # the page's timers run on a clock the test moves
    page.goto(f"{strict_server.url}/")
    for _attempt in range(2):
        pick_up(page, wrong_code(info))
        page.wait_for_selector(".pickup-message")
    pick_up(page, info["code_display"])  # even the right code waits now
    page.wait_for_selector(".retry-after")
    wait = page.text_content(".retry-after")
    assert wait.startswith("You can try again in ") and wait.endswith(" seconds.")
    seconds = int(wait.split()[5])
    assert 5 < seconds <= 40
    assert page.text_content(".pickup-message") == "Too many wrong codes. Try again later."
    assert page.is_disabled("#pickup-button")
    # The time left, counting down (the page's clock runs on while the test looks: a second's slack).
    assert page.text_content("#pickup-button") in {f"Pick up (0:{seconds:02d})", f"Pick up (0:{seconds - 1:02d})"}
    page.screenshot(path=tmp_path / "home-limited-phone.png", full_page=True)
    assert fits_the_phone(page)

    page.clock.run_for((seconds - 5) * 1000)
    assert page.is_disabled("#pickup-button")
    assert page.text_content("#pickup-button") in {"Pick up (0:05)", "Pick up (0:04)"}
    page.clock.run_for(6000)
    page.wait_for_function("() => !document.getElementById('pickup-button').disabled")
    assert page.text_content("#pickup-button") == "Pick up"
    assert page.text_content(".retry-after") == "You can try again now."
    context.close()


# --- What people paste (issue 19, item 2) -------------------------------------------

DESKTOP = {"width": 1366, "height": 768}


def pastes(info, base: str) -> list[str]:
    code = info["code"]
    dashed = f"{code[:4]}-{code[4:]}"
    link = f"{base}/f/{info['id']}/"
    return [
        f"提取码：{dashed}",
        f"提取码 {dashed.lower()}",
        f"code: {code.lower()}",
        f"Hi! Here is the report, have fun: {dashed.lower()} (valid for a week)",
        f"链接：{link} 提取码：{dashed} 复制这段内容后打开",
        f"{link}?code={code}".lower(),
    ]


# Every pair of a viewport, a language and a theme is seen once (pairwise, 4
# runs rather than all 8): what one of them changes shows in every run with it.
@pytest.mark.parametrize(
    "viewport, locale, no_code, color_scheme",
    [
        pytest.param(PHONE, "en-US", "No share code found", "light", id="phone-en-light"),
        pytest.param(PHONE, "zh-CN", "没有在输入的内容中找到提取码", "dark", id="phone-zh-dark"),
        pytest.param(DESKTOP, "en-US", "No share code found", "dark", id="desktop-en-dark"),
        pytest.param(DESKTOP, "zh-CN", "没有在输入的内容中找到提取码", "light", id="desktop-zh-light"),
    ],
)
def test_the_box_takes_what_people_paste_and_shows_a_link_readably(
    daphne_server, chromium, viewport, locale, no_code, color_scheme
):
    info = share_on(daphne_server)
    context = guarded_context(chromium, locale=locale, viewport=viewport, color_scheme=color_scheme)
    page = context.new_page()
    for paste in pastes(info, daphne_server.url):
        page.goto(f"{daphne_server.url}/")
        page.fill("#pickup-code", paste)
        # A paste longer than a code is set as ordinary text, readable whole.
        style = page.eval_on_selector(
            "#pickup-code", "e => [parseFloat(getComputedStyle(e).fontSize), getComputedStyle(e).letterSpacing]"
        )
        assert style[0] <= 17 and style[1] == "normal", (paste, style)
        page.click("#pickup-button")
        page.wait_for_url(f"**/f/{info['id']}/")
        assert page.locator(".item-download").count() == 2, paste  # opened, unlocked
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    # A typed code keeps its large type.
    page.goto(f"{daphne_server.url}/")
    page.fill("#pickup-code", info["code"])
    assert page.eval_on_selector("#pickup-code", "e => parseFloat(getComputedStyle(e).fontSize)") > 20
    # Text with no code in it says so, on the home page, and counts nothing.
    page.goto(f"{daphne_server.url}/")
    pick_up(page, "see you tomorrow at the station")
    assert no_code in page.locator(".pickup-error").inner_text()
    assert page.locator("#pickup-code").get_attribute("class").split().count("is-text") == 1
    # A link without its code opens the share's code prompt (a browser that has not unlocked it).
    context.close()
    context = guarded_context(chromium, locale=locale, viewport=viewport, color_scheme=color_scheme)
    page = context.new_page()
    page.goto(f"{daphne_server.url}/")
    pick_up(page, f"{daphne_server.url}/f/{info['id']}/".upper().replace("HTTP://", "http://"))
    page.wait_for_url(f"**/f/{info['id']}/")
    assert page.locator("input[name=code]").count() == 1
    context.close()
