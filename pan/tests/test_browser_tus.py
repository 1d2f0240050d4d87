"""The upload page uploads through tus in Chromium (SPEC §4.4b, issue 21
item 4): a 40 MiB file arrives byte for byte; a network that drops mid-upload
resumes by itself; a reloaded page resumes the same share from where the
file stopped once the file is chosen again; and tus-js-client itself (the
vendored build) uploads and resumes against Pan outside the page."""

import re
from pathlib import Path

import pytest

from project.testing_browser import DESKTOP, PHONE, axe_violations, guarded_context, inject_script, log_in, throttle

from .tus_browser import (
    BIG,
    SLOW_UPLOAD,
    Sent,
    big_file,
    fits,
    item_bytes,
    record_statuses,
    server_env,
    server_offset,
    sha256_of,
    share_items,
    statuses_seen,
    stored_upload_urls,
    token,
    uploader,
)

pytestmark = pytest.mark.browser

VENDORED = Path(__file__).resolve().parents[2] / "static" / "vendor" / "tus-js-client" / "tus.min.js"


@pytest.fixture(scope="module")
def server():
    from project.testing import LiveServer

    with LiveServer(extra_env=server_env()) as live:
        live.register("boss", "Lantern-Field-71")  # the first account: admin
        yield live


@pytest.fixture(scope="module")
def uvicorn_live():
    from project.testing import LiveServer

    with LiveServer(extra_env=server_env(), server="uvicorn") as live:
        live.register("boss", "Lantern-Field-71")
        yield live


def watch(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def share_id_of(page) -> str:
    return re.search(r"/f/([^/]+)/", page.input_value("#result-link")).group(1)


def row_status(page) -> str:
    return page.text_content("#upload-queue .queue-status") or ""


def start_upload(page, path: Path) -> None:
    page.set_input_files("#upload-file", str(path))
    page.click("#upload-button")
    page.wait_for_selector("#upload-result", state="visible", timeout=30_000)


def wait_until_sent(page, at_least: int) -> None:
    page.wait_for_function(
        "n => document.querySelector('#upload-queue .queue-bar').value >= n", arg=at_least, timeout=60_000
    )


def wait_until_complete(page) -> None:
    page.wait_for_selector("#result-state:not(.uploading)", timeout=120_000)


def assert_arrived_whole(server, name: str, share_id: str, data: bytes) -> None:
    bearer = token(server, name)
    share = share_items(server.url, bearer, share_id)
    assert share["state"] == "active"
    assert len(share["items"]) == 1
    item = share["items"][0]
    assert item["size"] == len(data)
    assert item["sha256"] == sha256_of(data)
    assert sha256_of(item_bytes(server.url, bearer, share_id, item["id"])) == sha256_of(data)


@pytest.mark.parametrize(
    "kind, locale, viewport, uploaded_word",
    [("daphne", "en-US", DESKTOP, "Uploaded"), ("uvicorn", "zh-CN", PHONE, "已上传")],
)
def test_a_40_mib_file_goes_through_tus_and_arrives_byte_identical(
    request, chromium, tmp_path, kind, locale, viewport, uploaded_word
):
    server = request.getfixturevalue("server" if kind == "daphne" else "uvicorn_live")
    name = uploader(server)
    path = big_file(tmp_path)
    context = guarded_context(chromium, locale=locale, viewport=viewport)
    record_statuses(context)
    page = context.new_page()
    errors = watch(page)
    sent = Sent(page)
    log_in(page, server.url, name)
    start_upload(page, path)
    wait_until_complete(page)

    assert statuses_seen(page)[-1] == uploaded_word
    assert page.eval_on_selector("#upload-bar", "bar => bar.value") == 100
    # The file went through tus, never as a multipart body to the shares API.
    methods = [(method, path.rstrip("/")) for method, path, _offset in sent.requests]
    assert ("POST", "/api/uploads") in methods
    assert not [m for m in methods if m[0] == "POST" and m[1].endswith("/items")]
    assert sent.patches() == [0]  # one 50 MiB chunk holds it: one PATCH
    assert stored_upload_urls(page) == []  # forgotten once complete
    assert page.evaluate("localStorage.getItem('pan.upload.share')") is None
    assert_arrived_whole(server, name, share_id_of(page), path.read_bytes())
    if viewport == PHONE:
        assert fits(page)
    assert axe_violations(page) == []
    assert errors == []
    context.close()


def test_a_network_that_drops_mid_upload_resumes_without_the_user(server, chromium, tmp_path):
    name = uploader(server)
    path = big_file(tmp_path)
    context = guarded_context(chromium, locale="en-US", viewport=DESKTOP)
    record_statuses(context)
    page = context.new_page()
    errors = watch(page)
    sent = Sent(page)
    log_in(page, server.url, name)
    throttle(page, SLOW_UPLOAD)
    start_upload(page, path)
    wait_until_sent(page, 6 * 1024 * 1024)

    context.set_offline(True)
    page.wait_for_selector("#upload-queue .queue-item[data-phase=offline]", timeout=10_000)
    assert row_status(page) == "Offline: waiting for the network…"
    [upload_url] = stored_upload_urls(page)
    held = server_offset(server.url, upload_url)
    assert 0 < held < BIG  # the bytes that arrived before the drop are kept
    page.wait_for_timeout(3000)  # offline for a while: nothing happens, nothing fails
    assert page.locator("#upload-queue .queue-item[data-phase=offline]").count() == 1
    assert server_offset(server.url, upload_url) == held

    context.set_offline(False)  # and nobody touches the page
    wait_until_complete(page)
    resumed_at = [offset for offset in sent.patches() if offset > 0]
    assert resumed_at and resumed_at[0] >= held  # continued from what the server held
    assert re.fullmatch(r"Resumed from \d+\.\d\xa0MB · Uploaded", statuses_seen(page)[-1])
    seen = statuses_seen(page)
    # Offline, then resumed (the server's offset named) while the bytes went on.
    after = seen[seen.index("Offline: waiting for the network…") :]
    assert any(re.fullmatch(r"Resumed from .* · .* of 40\.0\xa0MB · .*", text) for text in after)
    assert sent.bytes_sent_at_most(BIG) < 2 * BIG
    assert_arrived_whole(server, name, share_id_of(page), path.read_bytes())
    assert errors == []
    context.close()


def test_a_reloaded_page_resumes_the_share_from_where_the_file_stopped(server, chromium, tmp_path):
    name = uploader(server)
    path = big_file(tmp_path, "长视频.bin")
    context = guarded_context(chromium, locale="zh-CN", viewport=PHONE)
    record_statuses(context)
    page = context.new_page()
    errors = watch(page)
    sent = Sent(page)
    log_in(page, server.url, name)
    throttle(page, SLOW_UPLOAD)
    start_upload(page, path)
    code = page.text_content("#result-code")
    share_id = share_id_of(page)
    wait_until_sent(page, 8 * 1024 * 1024)

    page.reload()
    [upload_url] = stored_upload_urls(page)
    held = server_offset(server.url, upload_url)
    assert held > 0
    # The page remembers the share and asks for the file again, in Chinese.
    page.wait_for_selector("#upload-resume", state="visible")
    assert code in page.text_content("#upload-resume-text")
    assert "请再次选择相同的文件" in page.text_content("#upload-resume-text")
    assert "长视频.bin" in page.text_content("#upload-resume-files")
    assert page.text_content("#result-code") == code
    assert fits(page)
    assert axe_violations(page) == []

    page.set_input_files("#upload-file", str(path))
    page.click("#upload-button")
    wait_until_complete(page)
    assert page.text_content("#result-code") == code  # the same share, continued
    after_reload = sent.patches()[-1]
    assert after_reload >= held > 0  # the file continued from the stored offset
    assert sent.bytes_sent_at_most(BIG) < 2 * BIG
    assert re.fullmatch(r"从 \d+\.\d\xa0MB 处续传 · 已上传", statuses_seen(page)[-1])
    assert page.locator("#upload-resume").is_hidden()
    assert page.evaluate("localStorage.getItem('pan.upload.share')") is None
    assert_arrived_whole(server, name, share_id, path.read_bytes())
    assert errors == []
    context.close()


TUS_CLIENT = """async ([size, abortAt, csrf]) => {
  const data = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(data.subarray(at, Math.min(size, at + 65536)));
  const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", data)))
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  const file = new File([data], "from-tus-js-client.bin", {type: "application/octet-stream"});
  const run = (previousOnly) => new Promise((resolve, reject) => {
    const seen = {heads: [], patches: [], share: null};
    const upload = new tus.Upload(file, {
      endpoint: "/api/uploads/",
      chunkSize: 1024 * 1024,
      retryDelays: [0],
      headers: {"X-CSRFToken": csrf},
      metadata: {filename: file.name, filetype: file.type},
      fingerprint: () => Promise.resolve("pan-test-tus-js-client"),
      onAfterResponse: (req, res) => {
        if (req.getMethod() === "HEAD") seen.heads.push(Number(res.getHeader("Upload-Offset")));
        if (req.getMethod() === "PATCH") seen.patches.push(Number(req.getHeader("Upload-Offset")));
        seen.share = res.getHeader("Pan-Share") || seen.share;
      },
      onChunkComplete: (chunkSize, accepted) => {
        if (abortAt && accepted >= abortAt) { upload.abort(); resolve({aborted: true, url: upload.url, ...seen}); }
      },
      onSuccess: () => resolve({aborted: false, url: upload.url, ...seen}),
      onError: (error) => reject(String(error)),
    });
    upload.findPreviousUploads().then((previous) => {
      if (previousOnly && !previous.length) { reject("no previous upload stored"); return; }
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  });
  const first = await run(false);
  abortAt = 0;
  const second = await run(true);
  return {first, second, digest};
}"""


def test_tus_js_client_uploads_and_resumes_against_pan(server, chromium):
    """The vendored tus-js-client on its own (no Pan page script): creation
    with a session, 1 MiB chunks, stopped after 3 MiB, then resumed from the
    stored fingerprint with a HEAD; the upload becomes a one-item share."""
    import httpx

    name = uploader(server)
    size = 5 * 1024 * 1024 + 123
    context = guarded_context(chromium, locale="en-US")
    page = context.new_page()
    log_in(page, server.url, name)
    inject_script(page, VENDORED.read_text(encoding="utf-8"))
    csrf = page.input_value("input[name=csrfmiddlewaretoken]")
    result = page.evaluate(TUS_CLIENT, [size, 3 * 1024 * 1024, csrf])

    first, second = result["first"], result["second"]
    assert first["aborted"] and first["patches"] == [0, 1048576, 2097152]
    assert second["url"] == first["url"]  # the same upload, found by its fingerprint
    assert second["heads"] == [3 * 1024 * 1024]
    assert second["patches"][0] == 3 * 1024 * 1024
    share_id = second["share"]
    assert share_id
    state = httpx.get(httpx.URL(server.url).join(second["url"]), headers={"Accept": "application/json"}).json()
    assert state["complete"] is True and state["offset"] == state["length"] == size
    assert state["share"] == share_id
    bearer = token(server, name)
    share = share_items(server.url, bearer, share_id)
    assert [item["name"] for item in share["items"]] == ["from-tus-js-client.bin"]
    assert sha256_of(item_bytes(server.url, bearer, share_id, share["items"][0]["id"])) == result["digest"]
    context.close()
