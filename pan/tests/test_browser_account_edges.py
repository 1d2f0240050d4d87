"""Rough edges seen in Chromium (issue 19, item 4): what appears during an
upload is brought into view, the sign-in pages say why and how long, the
admin's door is Pan's, and the admins' dashboard reads on a phone.

Phone 390×844 and desktop 1366×768, Chinese and English, light and dark.
"""

import re
import secrets

import httpx
import pytest

from pan.tests.test_browser_sharer import (  # noqa: F401 - axe_source is a fixture
    AXE_RUN,
    PASSWORD,
    PHONE,
    SCREENSHOTS,
    Watched,
    axe_source,
    fits,
)
from project.testing_browser import inject_script, log_in, throttle

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 768}
MAX_FILE = 1024 * 1024
LOCKOUT = 600  # LOGIN_FAILURE_WINDOW: "about 10 minutes"
SETS = [  # (locale, viewport, scheme): every language on every size, both themes
    ("en-US", PHONE, "light"),
    ("zh-CN", PHONE, "dark"),
    ("en-US", DESKTOP, "dark"),
    ("zh-CN", DESKTOP, "light"),
]


@pytest.fixture(scope="module")
def server():
    from project.testing import LiveServer

    env = {
        "PAN_MAX_UPLOAD_SIZE": str(MAX_FILE),
        "LOGIN_FAILURE_LIMIT": "2",
        "LOGIN_FAILURE_WINDOW": str(LOCKOUT),
        "PAN_CODE_SHARE_LIMIT": "2",
        "TRUSTED_PROXIES": "127.0.0.1",  # so that the guesses below come from several networks
        # Every run signs in from 127.0.0.1 on this one server: the sign-in
        # page's request limit (30 a minute) is not what these tests are about.
        "RATE_LIMITS": "/login/=1000/60",
    }
    with LiveServer(extra_env=env) as live:
        live.register("boss", PASSWORD)  # the first account: admin
        yield live


def account(server, *roles: str) -> str:
    name = f"u-{secrets.token_hex(3)}"
    server.register(name, PASSWORD)
    for role in roles:
        server.manage("grant_role", name, role)
    return name


def wholly_in_view(page, locator) -> bool:
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["height"] > 0 and box["y"] >= 0 and box["y"] + box["height"] <= height


@pytest.mark.parametrize(("locale", "viewport", "scheme"), SETS)
def test_a_refused_file_and_the_early_code_come_into_view(server, chromium, locale, viewport, scheme):
    watched = Watched(chromium, locale=locale, viewport=viewport, color_scheme=scheme)
    page = watched.page()
    log_in(page, server.url, account(server, "uploaders"))

    # Picked with the upload form scrolled to its picker: the error is said where it can be seen.
    page.locator("#dropzone").scroll_into_view_if_needed()
    page.set_input_files(
        "#upload-file", {"name": "huge.bin", "mimeType": "application/octet-stream", "buffer": b"\0" * (MAX_FILE + 1)}
    )
    error = page.locator("[role=alert]:visible", has_text="huge.bin")
    assert error.count() == 1
    assert wholly_in_view(page, error)
    assert page.locator("#upload-queue .queue-item").count() == 0

    # A slow upload: the code exists long before the end, and is shown, in view and focused.
    page.evaluate("window.scrollTo(0, 0)")
    page.set_input_files(
        "#upload-file", {"name": "slow.bin", "mimeType": "application/octet-stream", "buffer": b"s" * (MAX_FILE - 1)}
    )
    cdp = throttle(page, 128 * 1024)
    page.click("#upload-button")
    page.wait_for_selector("#upload-result", state="visible")
    assert page.locator(".queue-item[data-state=sending], .queue-item[data-state=queued]").count() == 1  # not done yet
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", page.text_content("#result-code"))
    assert wholly_in_view(page, page.locator("#result-code"))
    assert page.evaluate("document.activeElement.id") == "upload-result"
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    page.wait_for_selector("#result-state:not(.uploading)", timeout=30_000)
    assert wholly_in_view(page, page.locator("#result-code"))
    if viewport == PHONE:
        assert fits(page)
    watched.close()


WAIT = {"en-US": "You can try again in about 10 minutes.", "zh-CN": "大约 10 分钟后可以再试。"}
SIGN_IN_NEEDED = {"en-US": "Sign in to see that page.", "zh-CN": "请登录后查看该页面。"}
SIGNED_OUT = {"en-US": "You are signed out.", "zh-CN": "你已退出登录。"}


@pytest.mark.parametrize(("locale", "viewport", "scheme"), SETS)
def test_the_sign_in_pages_say_why_and_how_long(server, chromium, axe_source, locale, viewport, scheme):  # noqa: F811
    locked, other = account(server), account(server)
    watched = Watched(chromium, locale=locale, viewport=viewport, color_scheme=scheme)
    page = watched.page()

    page.goto(f"{server.url}/files/")
    page.wait_for_url("**/login/?next=/files/")
    assert page.locator("#sign-in-needed").text_content() == SIGN_IN_NEEDED[locale]

    for password in ("wrong-1", "wrong-2", PASSWORD):
        page.fill("#id_username", locked)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
    wait = page.locator(".retry-after")
    assert wait.text_content() == WAIT[locale]
    assert wholly_in_view(page, wait)
    if viewport == PHONE:
        assert fits(page)
    inject_script(page, axe_source)
    assert page.evaluate(AXE_RUN) == []

    # The lock is this username's: another account still signs in from here.
    page.fill("#id_username", other)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/files/")
    page.locator(".site-nav form button").click()
    page.wait_for_url(f"{server.url}/")
    assert page.locator(".messages").text_content().strip() == SIGNED_OUT[locale]
    if viewport == PHONE:
        assert fits(page)
    page.reload()
    assert page.locator(".messages").count() == 0  # said once
    # The wrong passwords (401) and the lock (429) are answers the page shows, not faults.
    watched.errors[:] = [
        error for error in watched.errors if "Failed to load resource: the server responded" not in error
    ]
    watched.close()


def lock_a_share(server, owner: str, title: str) -> dict:
    token = httpx.post(f"{server.url}/api/login", json={"username": owner, "password": PASSWORD}).json()["access"]
    share = httpx.post(
        f"{server.url}/api/shares",
        headers={"Authorization": f"Bearer {token}"},
        data={"title": title},
        files=[("file", ("notes.txt", b"some notes", "text/plain"))],
    ).json()
    for number in range(3):  # from three networks: the share's own layer fills and locks
        with httpx.Client(base_url=server.url, headers={"X-Forwarded-For": f"10.{number}.0.1"}) as guesser:
            guesser.get(f"/f/{share['id']}/")
            form = {"code": "ZZZZ2222", "csrfmiddlewaretoken": guesser.cookies["csrftoken"]}
            guesser.post(f"/f/{share['id']}/", data=form, headers={"Referer": f"{server.url}/f/{share['id']}/"})
    return share


@pytest.mark.parametrize(("locale", "viewport", "scheme"), SETS)
def test_the_admin_door_and_the_dashboard(server, chromium, axe_source, locale, viewport, scheme):  # noqa: F811
    member = account(server)
    title = f"Quarterly report for the whole team {secrets.token_hex(2)}"
    lock_a_share(server, account(server, "uploaders"), title)
    watched = Watched(chromium, locale=locale, viewport=viewport, color_scheme=scheme)
    page = watched.page()

    # A member meets Pan's page, not Django's admin login.
    log_in(page, server.url, member)
    response = page.goto(f"{server.url}/admin/")
    assert response.status == 403
    assert page.locator(".site-header").count() == 1
    assert page.locator('.error-page[data-reason="admin_only"] .error-message').is_visible()
    assert page.locator("input[name=password]").count() == 0
    if viewport == PHONE:
        assert fits(page)
    inject_script(page, axe_source)
    assert page.evaluate(AXE_RUN) == []
    watched.errors.remove("Failed to load resource: the server responded with a status of 403 (Forbidden)")

    # The admin's dashboard: one heading, and a locked-shares table that reads.
    page.context.clear_cookies()
    log_in(page, server.url, "boss")
    page.goto(f"{server.url}/admin/dashboard/")
    assert page.locator("h1").count() == 1
    table = page.locator("#locked-shares")
    assert title in table.text_content()
    glyph = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    # Over a short table ("None", two columns of figures) a caption shrank to
    # the table's width: one glyph per line in Chinese.
    for caption in page.locator(".pan-dashboard caption").all():
        box = caption.bounding_box()
        assert box["width"] > 12 * glyph and box["height"] < 3 * glyph, (caption.text_content(), box)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"dashboard-{locale}-{viewport['width']}-{scheme}.png", full_page=True)
    link = table.locator("a", has_text=title)
    assert link.bounding_box()["height"] < 4 * glyph  # a few lines at most, not a glyph per line
    if viewport == PHONE:
        assert fits(page)
    watched.close()
