"""Chromium for the browser tests, and what they do in it alike: sign in,
slow the network, run axe-core, collect a page's errors.

The `chromium` and `browser_context` fixtures (conftest.py) use
`chromium_launched`; a module that needs other Chromium flags overrides
`chromium` with it (pan/tests/test_browser_sharer.py).
"""

import functools
import shutil
import subprocess
from contextlib import contextmanager

from project.testing import BASE_DIR, CHROMIUM, CHROMIUM_ARGS, guarded_context, inject_script

PASSWORD = "Lantern-Field-71"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# axe-core from npm in var/axe/ (git-ignored): `make browser` installs it, or the first use.
AXE_VERSION = "4.14.1"
AXE = BASE_DIR / "var" / "axe"
AXE_RUN = """async () => {
  const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.filter(v => ["serious", "critical"].includes(v.impact))
    .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).slice(0, 3).join(", "));
}"""


@contextmanager
def chromium_launched(*extra_args: str):
    """Debian's Chromium driven by Playwright's sync API (never Playwright's
    own download). While it runs, Playwright's event loop runs in this
    thread: sync Django code here fails with SynchronousOnlyOperation, so a
    browser lives at most as long as a module of browser tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


def log_in(page, base: str, name: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in page; waits until it has left it."""
    page.goto(f"{base}/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", password)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def throttle(page, upload_bytes_per_second: int):
    """Chromium's own network emulation slows every request body of `page`
    (`context.set_offline` later replaces it with no throttling at all)."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": upload_bytes_per_second},
    )
    return session


@functools.cache
def axe_source() -> str:
    """axe-core's script, installed from npm on first use if `make browser` has not."""
    script = AXE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed for the accessibility check: apt-get install npm (make browser does)"
        subprocess.run(  # noqa: S603 - npm from PATH, a pinned package
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(AXE), f"axe-core@{AXE_VERSION}"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return script.read_text(encoding="utf-8")


def axe_violations(page) -> list[str]:
    """Serious and critical WCAG 2.1 AA violations on the page as it is now."""
    inject_script(page, axe_source())
    return page.evaluate(AXE_RUN)


class Watched:
    """A browser context whose pages collect console errors and uncaught exceptions."""

    def __init__(self, browser, **options):
        self.context = guarded_context(browser, **options)
        self.errors: list[str] = []

    def page(self):
        page = self.context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def _console(self, message):
        if message.type == "error":
            self.errors.append(message.text)

    def close(self):
        self.context.close()
