"""Rough edges of /short/, link statistics and /requests/ in Chromium (issue
19, item 4), on a 390×844 phone and a 1366×768 desktop, in both languages
and themes: the manage row opens below its link and the page keeps its
width, a new link is brought into view and focused, the chart's bars take
the accent colour with labelled axes (or say there are no visits), and each
request link has a copy button and a QR code, without stray bullets."""

import httpx
import pytest

from project.testing import wait_until
from project.testing_browser import PASSWORD, PHONE, axe_violations, guarded_context, log_in

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 768}
# What sticks out past the right edge, to say why a page is too wide.
WIDE = """() => [...document.querySelectorAll("body *")]
  .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 8).map(el => el.tagName + "." + el.className + " " + Math.round(el.getBoundingClientRect().right))"""
CASES = [
    pytest.param(PHONE, "zh-CN", "dark", id="phone-zh-dark"),
    pytest.param(PHONE, "en-US", "light", id="phone-en-light"),
    pytest.param(DESKTOP, "en-US", "dark", id="desktop-en-dark"),
    pytest.param(DESKTOP, "zh-CN", "light", id="desktop-zh-light"),
]


@pytest.fixture(scope="module")
def server():
    from project.testing import LiveServer

    with LiveServer() as live:
        yield live


def uploader(server) -> tuple[str, str]:
    return server.uploader("edge", PASSWORD)


def signed_in(chromium, server, name, viewport, locale, scheme):
    context = guarded_context(chromium, viewport=viewport, locale=locale, color_scheme=scheme)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, server.url, name)
    return context, page, errors


@pytest.mark.parametrize("viewport, locale, scheme", CASES)
def test_a_new_link_is_focused_in_view_and_manage_opens_below_its_row(server, chromium, viewport, locale, scheme):
    name, token = uploader(server)
    for index in range(3):
        made = httpx.post(
            f"{server.url}/api/short",
            json={"url": f"https://example.com/a/rather/long/path/{index}/" + "segment-" * 20},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201, made.text
    context, page, errors = signed_in(chromium, server, name, viewport, locale, scheme)
    page.goto(f"{server.url}/short/")
    page.fill("#id_url", "https://example.com/just-made")
    page.click("#shorten-form button[type=submit]")
    page.wait_for_selector("#short-result")
    box = page.locator("#short-result").bounding_box()
    assert 0 <= box["y"] < viewport["height"] * 0.5  # in view, near the top
    assert page.evaluate("document.activeElement.id") == "short-result"
    assert page.locator("#short-qr svg").is_visible() and page.locator("#copy-short-url").is_visible()

    toggles = page.locator(".link-tools-toggle")
    assert toggles.count() == 4
    for toggle in toggles.all():
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
    key = page.locator("tr[data-key]").first.get_attribute("data-key")
    tools = page.locator(f'tr[data-tools-of="{key}"]')
    assert tools.locator(".link-edit").is_visible()
    # The edit form spans the list, not the last column.
    table = page.locator("table.short-links").bounding_box()
    edit = tools.locator(".link-edit").bounding_box()
    assert edit["width"] > table["width"] * 0.8, (edit, table)
    wide = page.evaluate(WIDE)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], wide
    assert axe_violations(page) == []
    toggles.first.click()
    assert not page.locator(f'tr[data-tools-of="{key}"] .link-edit').is_visible()
    context.close()
    assert errors == []


def wait_for_visits(page, url: str, visits: int) -> None:
    """The statistics page, reloaded until it counts `visits` (the server flushes them every 2 s)."""

    def counted() -> bool:
        page.goto(url)
        return page.locator(".stats-total").get_attribute("data-visits") == str(visits)

    wait_until(counted, timeout=20, interval=0.5, message="the visits written")


@pytest.mark.parametrize("viewport, locale, scheme", CASES)
def test_the_chart_has_accent_bars_and_axes_and_says_when_there_are_no_visits(
    server, chromium, viewport, locale, scheme
):
    name, token = uploader(server)
    keys = []
    for path in ("visited", "quiet"):
        made = httpx.post(
            f"{server.url}/api/short",
            json={"url": f"https://example.com/{path}"},
            headers={"Authorization": f"Bearer {token}"},
        )
        keys.append(made.json()["key"])
    for _ in range(3):
        assert httpx.get(f"{server.url}/s/{keys[0]}").status_code == 302
    context, page, errors = signed_in(chromium, server, name, viewport, locale, scheme)

    page.goto(f"{server.url}/short/{keys[1]}/stats")
    assert page.locator(".chart").count() == 0
    assert page.text_content("#chart-empty").strip() == ("No visits yet" if locale == "en-US" else "还没有访问")

    wait_for_visits(page, f"{server.url}/short/{keys[0]}/stats", 3)
    accent = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()")
    fills = page.eval_on_selector_all(".chart rect.bar", "bars => bars.map(bar => getComputedStyle(bar).fill)")
    assert len(fills) == 30 and len(set(fills)) == 1
    assert fills[0] not in ("rgb(0, 0, 0)", "none")
    # The accent colour as Chromium computes it (set through the CSSOM: the policy refuses style attributes).
    probe = """accent => {
      const probe = document.createElement("div");
      probe.style.color = accent;
      document.body.append(probe);
      return getComputedStyle(probe).color;
    }"""
    assert fills[0] == page.evaluate(probe, accent)
    wait_for_visits(page, f"{server.url}/short/{keys[0]}/stats", 3)
    labels = {
        kind: page.text_content(f".chart .axis-label.{kind}") for kind in ("y-zero", "y-max", "x-first", "x-last")
    }
    assert labels["y-zero"] == "0" and labels["y-max"] == "3"
    assert labels["x-first"] < labels["x-last"] and len(labels["x-last"]) == 10  # first and last day, YYYY-MM-DD
    assert page.locator(".chart .axis").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert axe_violations(page) == []
    context.close()
    assert errors == []


@pytest.mark.parametrize("viewport, locale, scheme", CASES[:2] + CASES[2:3])
def test_each_request_link_has_a_copy_button_and_a_qr_code_and_no_stray_bullet(
    server, chromium, viewport, locale, scheme
):
    name, token = uploader(server)
    for title in ("Tax papers", "Photos"):
        made = httpx.post(
            f"{server.url}/api/requests",
            json={"title": title, "max_files": 1 if title == "Photos" else 5, "max_bytes": 10**6},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201, made.text
    context, page, errors = signed_in(chromium, server, name, viewport, locale, scheme)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.goto(f"{server.url}/requests/")
    rows = page.locator(".request-row")
    assert rows.count() == 2
    for row in rows.all():
        url = row.locator(".request-url").input_value()
        assert url.startswith(f"{server.url}/r/")
        assert row.locator(f'[data-copy="#{row.locator(".request-url").get_attribute("id")}"]').is_visible()
        assert row.locator(".request-qr svg").is_visible()
    bullets = page.eval_on_selector_all(
        ".request-list li", "items => items.map(li => getComputedStyle(li).listStyleType)"
    )
    assert set(bullets) == {"none"}
    first = rows.first
    first.locator("button[data-copy^='#request-url']").click()
    assert page.evaluate("navigator.clipboard.readText()") == first.locator(".request-url").input_value()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert axe_violations(page) == []
    context.close()
    assert errors == []
