"""Helpers for the tus browser tests (pan/tests/test_browser_tus.py and
dropoff/tests/test_browser_tus.py): a server whose limits stay out of the
way, Chromium with an upload speed a test can set, what the page sent, and
the server's own view of an upload (its tus HEAD)."""

import hashlib
import secrets
from pathlib import Path

import httpx

from project.testing import inject_script

PASSWORD = "Lantern-Field-71"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
MIB = 1024 * 1024
BIG = 40 * MIB
# Slow enough that a test acts mid-upload, fast enough to finish in seconds.
SLOW_UPLOAD = 4 * MIB  # bytes per second
AXE_VERSION = "4.14.1"
AXE = Path(__file__).resolve().parents[2] / "var" / "axe"
# Every test signs in and uploads from 127.0.0.1 on one server: request
# limits are not what these tests are about.
LIMITS_OFF = "/login/=0/60,/api/login=0/60,/api/uploads=0/60,/api/shares=0/60,/r/=0/60,/api/requests=0/60,default=0/60"


def server_env() -> dict:
    return {"RATE_LIMITS": LIMITS_OFF}


def big_file(tmp_path: Path, name: str = "archive.bin", size: int = BIG) -> Path:
    """Random bytes on disk: a file picked from disk keeps its modification
    time, which the resume fingerprint includes (an in-memory buffer would
    get a new one each time it is picked)."""
    path = tmp_path / name
    with path.open("wb") as out:
        for _ in range(size // MIB):
            out.write(secrets.token_bytes(MIB))
        out.write(secrets.token_bytes(size % MIB))
    return path


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def uploader(server) -> str:
    name = f"tus-{secrets.token_hex(3)}"
    server.register(name, PASSWORD)
    server.manage("grant_role", name, "uploaders")
    return name


def token(server, name: str) -> str:
    answer = httpx.post(f"{server.url}/api/login", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.json()["access"]


def log_in(page, base: str, name: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/welcome/")


def throttle(context, page, upload_bytes_per_second: int) -> None:
    """Chromium's own network emulation slows every request body of `page`
    (`context.set_offline` later replaces it with no throttling at all)."""
    session = context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": upload_bytes_per_second},
    )


class Sent:
    """The tus requests a page sends: method, path and Upload-Offset."""

    def __init__(self, page):
        self.requests: list[tuple[str, str, int | None]] = []
        page.on("request", self._seen)

    def _seen(self, request) -> None:
        path = httpx.URL(request.url).path
        if path.startswith("/api/uploads/") or path.startswith("/api/shares"):
            offset = request.headers.get("upload-offset")
            self.requests.append((request.method, path, None if offset is None else int(offset)))

    def patches(self) -> list[int]:
        return [
            offset for method, path, offset in self.requests if method == "PATCH" and path.startswith("/api/uploads/")
        ]

    def bytes_sent_at_most(self, size: int) -> int:
        """An upper bound of the body bytes sent: each PATCH carries at most what was left."""
        return sum(size - offset for offset in self.patches())


# Every text a queue row's status showed, in order (a finished queue is
# cleared, so what it said along the way is recorded as it changes).
STATUS_RECORDER = """(() => {
  window.panStatuses = [];
  new MutationObserver(() => {
    document.querySelectorAll(".queue-status, .drop-item-status").forEach((status) => {
      const text = status.textContent;
      if (text && window.panStatuses[window.panStatuses.length - 1] !== text) window.panStatuses.push(text);
    });
  }).observe(document, {subtree: true, childList: true, characterData: true});
})();"""


def record_statuses(context) -> None:
    context.add_init_script(STATUS_RECORDER)


def statuses_seen(page) -> list[str]:
    return page.evaluate("window.panStatuses")


STORED_UPLOADS = """() => Object.keys(localStorage).filter(k => k.startsWith("tus::"))
  .map(k => JSON.parse(localStorage.getItem(k)).uploadUrl).filter(Boolean)"""


def stored_upload_urls(page) -> list[str]:
    """The upload URLs tus-js-client keeps in this page's localStorage."""
    return page.evaluate(STORED_UPLOADS)


def server_offset(base: str, upload_url: str) -> int:
    """What the server has of an upload (tus HEAD: its URL is the only credential)."""
    answer = httpx.head(httpx.URL(base).join(upload_url), headers={"Tus-Resumable": "1.0.0"})
    assert answer.status_code == 200, (answer.status_code, answer.headers)
    return int(answer.headers["Upload-Offset"])


def share_items(base: str, bearer: str, share_id: str) -> dict:
    """The share as its owner sees it (state, items)."""
    answer = httpx.get(f"{base}/api/shares/{share_id}", headers={"Authorization": f"Bearer {bearer}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def item_bytes(base: str, bearer: str, share_id: str, item_id: int) -> bytes:
    """One item's bytes, downloaded by its owner."""
    url = f"{base}/api/shares/{share_id}/items/{item_id}/content"
    answer = httpx.get(url, headers={"Authorization": f"Bearer {bearer}"}, timeout=60)
    assert answer.status_code == 200, answer.text[:200]
    return answer.content


def axe_source() -> str:
    """axe-core from npm in var/axe/ (git-ignored), installed on first use."""
    import shutil
    import subprocess

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


AXE_RUN = """async () => {
  const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.filter(v => ["serious", "critical"].includes(v.impact))
    .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).slice(0, 3).join(", "));
}"""


def axe_violations(page) -> list[str]:
    inject_script(page, axe_source())
    return page.evaluate(AXE_RUN)


def fits(page, width: int = PHONE["width"]) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width
