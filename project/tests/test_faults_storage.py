"""S3 storage unreachable: downloads and uploads answer 503 within seconds (SPEC §8).

A real daphne process stores files in a moto S3 server of its own; a file
is uploaded through the API, then moto is stopped (connections refused) or
frozen with SIGSTOP (connections accepted, never answered: the case that
hung). Before the client timeouts a frozen store held a download for 180 s
and an upload for over 300 s, and an upload to a stopped store was a 500.
"""

import os
import secrets
import signal
import time

import boto3
import httpx
import pytest

from project.testing import LiveServer, S3Server

pytestmark = pytest.mark.live

PASSWORD = "Lantern-Field-71"
# The defaults (project/settings.py): an attempt that gets no answer costs
# S3_READ_TIMEOUT (3 s), S3_MAX_ATTEMPTS (2) of them with up to 1 s backoff
# between; the slack covers a loaded machine.
BOUND = 2 * 3 + 1 + 2
STATUS_BOUND = 3 + 1.5
UNAVAILABLE_ZH = "暂时无法连接文件存储，请稍后再试。"


def timed(method: str, url: str, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.request(method, url, timeout=120, **kwargs)
    return response, time.monotonic() - started


def bucket_keys(s3: S3Server, bucket: str) -> set[str]:
    client = boto3.client(
        "s3",
        endpoint_url=s3.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto accepts any key
        region_name="us-east-1",
    )
    return {entry["Key"] for entry in client.list_objects_v2(Bucket=bucket).get("Contents", [])}


def bucket_keys_settled(stored: "Stored", quiet: float = 1.0, bound: float = 15) -> set[str]:
    """The bucket's keys once they have stopped changing for `quiet` seconds (at most `bound`)."""
    deadline = time.monotonic() + bound
    keys, since = bucket_keys(stored.s3, stored.bucket), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = bucket_keys(stored.s3, stored.bucket)
        if now != keys:
            keys, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return keys
    raise AssertionError(f"the bucket kept changing for {bound} s: {sorted(keys)}")


class Stored:
    """A live server on its own moto, with one file uploaded while the storage worked."""

    def __init__(self):
        self.s3 = S3Server().start()
        self.bucket = f"pan-faults-{secrets.token_hex(4)}"
        self.s3.create_bucket(self.bucket)
        self.server = LiveServer(extra_env=self.s3.env(self.bucket)).start()
        self.server.register("uploader", PASSWORD)
        login = httpx.post(f"{self.server.url}/api/login", json={"username": "uploader", "password": PASSWORD})
        self.auth = {"Authorization": f"Bearer {login.json()['access']}"}
        created = self.upload()
        assert created.status_code == 201, created.text
        share = created.json()
        self.code = share["code"]
        self.content_url = f"{self.server.url}/api/shares/{share['id']}/items/{share['items'][0]['id']}/content"
        self.keys_before = bucket_keys(self.s3, self.bucket)

    def upload(self, language: str = "en") -> httpx.Response:
        files = {"file": ("note.txt", secrets.token_bytes(2048), "application/octet-stream")}
        headers = {**self.auth, "Accept-Language": language}
        return httpx.post(f"{self.server.url}/api/shares", headers=headers, files=files, timeout=120)

    def shares_listed(self) -> int:
        return httpx.get(f"{self.server.url}/api/shares", headers=self.auth).json()["count"]

    def close(self):
        self.server.stop()
        self.s3.stop()


@pytest.fixture
def stored():
    setup = Stored()
    yield setup
    setup.close()


def assert_storage_faults_answer_503_within(stored: Stored, bound: float) -> None:
    download, seconds = timed("GET", stored.content_url, headers={"X-Share-Code": stored.code})
    assert download.status_code == 503, download.text
    assert download.json()["error"]["code"] == "storage_unavailable"
    assert seconds < bound

    started = time.monotonic()
    upload = stored.upload(language="zh-hans")
    assert time.monotonic() - started < bound
    assert upload.status_code == 503, upload.text
    assert upload.json() == {"error": {"code": "storage_unavailable", "message": UNAVAILABLE_ZH}}
    assert stored.shares_listed() == 1  # the failed upload left no share

    token = stored.server.env["SERVER_STATUS_TOKEN"]
    status, seconds = timed("GET", f"{stored.server.url}/server-status", params={"token": token})
    assert status.status_code == 503
    body = status.json()
    assert body["storage"] != "ok"
    assert body["database"] == body["cache"] == body["channel_layer"] == "ok"
    assert seconds < STATUS_BOUND
    # Warnings of one line each: an outage is not a bug.
    assert "Traceback" not in stored.server.log()


def test_a_stopped_store_answers_503_at_once(stored):
    stored.s3.stop()
    assert_storage_faults_answer_503_within(stored, bound=2)


def test_a_frozen_store_answers_503_within_its_timeouts_and_keeps_nothing(stored):
    token = stored.server.env["SERVER_STATUS_TOKEN"]
    status = httpx.get(f"{stored.server.url}/server-status", params={"token": token})
    assert status.status_code == 200
    assert status.json()["storage"] == "ok"
    assert bucket_keys(stored.s3, stored.bucket) == stored.keys_before  # the probe removed its object

    os.kill(stored.s3.proc.pid, signal.SIGSTOP)
    try:
        assert_storage_faults_answer_503_within(stored, bound=BOUND)
    finally:
        os.kill(stored.s3.proc.pid, signal.SIGCONT)
    # Back up. Requests the frozen store had accepted are carried out now
    # that it runs again: the status probe's object (its delete timed out)
    # or the failed upload's may land late. Nothing refers to them, and
    # purge_expired removes them (SPEC §8: nothing it does not clean).
    settled = bucket_keys_settled(stored)
    assert stored.keys_before <= settled
    purge = stored.server.manage("purge_expired", env={"PAN_UPLOAD_LEFTOVER_AGE": "0"})
    assert "error:" not in purge.stdout
    assert bucket_keys(stored.s3, stored.bucket) == stored.keys_before
    download = httpx.get(stored.content_url, headers={"X-Share-Code": stored.code})
    assert download.status_code == 200
