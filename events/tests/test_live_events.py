"""Drop-offs and live events for real: daphne, Chromium, and (with Redis)
two server processes (SPEC §4.6, §4.7).

An outsider with no account drops three files through `/r/<code>/` in one
browser (three resumable uploads, three drops); the requester's `/files/`
page, open in another, shows them arrive without a reload; then another client downloads one of the
requester's shares and the same page shows the receipt within 2 s. With
two processes on Redis the requester's page is served by one process and
the drop and the download go through the other: the events cross them on
channels-redis.
"""

import os
import secrets

import httpx
import pytest

from project.testing import LiveServer, guarded_context

pytestmark = [pytest.mark.browser, pytest.mark.live]

PASSWORD = "Lantern-Field-71"


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


@pytest.mark.parametrize(
    "processes",
    [
        1,
        pytest.param(
            2,
            marks=pytest.mark.skipif(
                not os.environ.get("REDIS_URL"),
                reason="events cross processes on channels-redis; the in-memory layer is per process by design",
            ),
        ),
    ],
)
def test_an_outsider_drops_three_files_and_the_requesters_page_shows_them_arrive(chromium, tmp_path, processes):
    with LiveServer(processes=processes) as server:
        owner_base = server.url
        sender_base = f"http://127.0.0.1:{server.ports[-1]}"  # the other process, when there are two
        name = f"asker-{secrets.token_hex(3)}"
        server.register(name, PASSWORD)
        server.manage("grant_role", name, "uploaders")
        login = httpx.post(f"{owner_base}/api/login", json={"username": name, "password": PASSWORD})
        made = httpx.post(
            f"{owner_base}/api/requests",
            json={"title": "Scans for the notary", "max_files": 10, "max_bytes": 10**6},
            headers={"Authorization": f"Bearer {login.json()['access']}"},
        )
        assert made.status_code == 201, made.text
        code = made.json()["code"].replace("-", "")
        shared = httpx.post(
            f"{owner_base}/api/shares",
            headers={"Authorization": f"Bearer {login.json()['access']}"},
            files={"file": ("contract.pdf", b"%PDF-1.4 contract", "application/pdf")},
            data={"title": "Contract"},
        ).json()

        owner = guarded_context(chromium, locale="en-US").new_page()
        errors = []
        owner.on("console", lambda message: message.type == "error" and errors.append(message.text))
        sign_in(owner, owner_base, name)
        owner.goto(f"{owner_base}/files/")
        owner.wait_for_selector('#live-events[data-connected="true"]', state="attached")
        assert owner.locator(".arrival").count() == 0

        files = []
        for index in range(3):
            path = tmp_path / f"scan-{index}.pdf"
            path.write_bytes(b"%PDF-1.4 " + secrets.token_bytes(2000 + index))
            files.append(str(path))
        sender = guarded_context(chromium, locale="zh-CN").new_page()
        sender.goto(f"{sender_base}/r/{code}/")
        assert "请你发送文件" in sender.content()
        sender.set_input_files("#drop-files", files)
        sender.fill("#drop-name", "Notary office")
        sender.click("#drop-send")
        # Each file is its own resumable upload and its own drop, with its receipt (docs/dropoff.md).
        sender.wait_for_function(
            "() => document.querySelectorAll('#drop-queue .drop-receipt-link:not([hidden])').length === 3",
            timeout=30000,
        )

        # On the requester's page, without a reload: three drops from the notary.
        owner.wait_for_function("() => document.querySelectorAll('.arrival.drop-new').length === 3", timeout=10000)
        assert all("Notary office" in text for text in owner.locator(".arrival").all_inner_texts())
        assert "Notary office" in owner.locator("#live-events").inner_text()

        # A download by someone else, through the other process: the receipt shows within 2 s.
        item = shared["items"][0]["id"]
        fetched = httpx.get(
            f"{sender_base}/api/shares/{shared['id']}/items/{item}/content",
            headers={"X-Share-Code": shared["code"], "User-Agent": "curl/8.5.0"},
        )
        assert fetched.status_code == 200
        owner.wait_for_function(
            f"() => document.querySelector('[data-downloads-of=\"{shared['id']}\"]').textContent === '1'", timeout=2000
        )
        assert "Contract" in owner.locator("#live-events").inner_text()
        assert "curl" in owner.locator("#live-events").inner_text()
        assert errors == []
