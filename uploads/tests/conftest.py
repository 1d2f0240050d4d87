"""A live server (uvicorn) with accounts of every role, and a small tus client over httpx."""

import base64
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from project.testing import LiveServer

PASSWORD = "correct horse battery staple 7"
# The admin (first account) manages; "other" is a stranger who may upload too; "member" may not upload.
ROLES = {"owner": "uploaders", "other": "uploaders", "member": "users"}


def metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


@dataclass
class TusSite:
    server: LiveServer
    tokens: dict = field(default_factory=dict)

    @classmethod
    def open(cls, server: LiveServer) -> "TusSite":
        site = cls(server)
        server.register("manager", PASSWORD)  # the first account is the admin: manages, may upload
        for name, role in ROLES.items():
            server.register(name, PASSWORD)
            if role != "users":
                server.manage("grant_role", name, role)
        for name in ("manager", *ROLES):
            login = httpx.post(f"{server.url}/api/login", json={"username": name, "password": PASSWORD})
            assert login.status_code == 200, login.text
            site.tokens[name] = login.json()["access"]
        return site

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def media(self) -> Path:
        return Path(self.server.env["MEDIA_ROOT"])

    def auth(self, who: str | None) -> dict:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    def create(
        self, length: int | None, who: str | None = "owner", meta: str | None = None, **headers
    ) -> httpx.Response:
        sent = {"Tus-Resumable": "1.0.0", **self.auth(who), **headers}
        if length is not None:
            sent.setdefault("Upload-Length", str(length))
        if meta is not None:
            sent["Upload-Metadata"] = meta
        return httpx.post(f"{self.url}/api/uploads/", headers=sent, timeout=30)

    def created(self, length: int | None, who: str | None = "owner", meta: str | None = None, **headers) -> str:
        response = self.create(length, who, meta if meta is not None else metadata(filename="a.bin"), **headers)
        assert response.status_code == 201, response.text
        return response.headers["Location"]

    @staticmethod
    def patch(location: str, offset: int, data: bytes, **headers) -> httpx.Response:
        sent = {
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **headers,
        }
        return httpx.patch(location, content=data, headers=sent, timeout=120)

    @staticmethod
    def head(location: str) -> httpx.Response:
        return httpx.head(location, headers={"Tus-Resumable": "1.0.0"}, timeout=30)

    @staticmethod
    def offset(location: str) -> int:
        answer = TusSite.head(location)
        assert answer.status_code == 200, answer.status_code
        return int(answer.headers["Upload-Offset"])

    def expire(self, location: str) -> None:
        """Move an upload's expiry into the past (in the server's database)."""
        token = location.rsplit("/", 1)[-1]
        self.server.manage(
            "shell",
            "-c",
            "from datetime import timedelta; from django.utils import timezone; "
            "from uploads.models import Upload, token_digest; "
            f"Upload.objects.filter(token_hash=token_digest({token!r}))"
            ".update(expires_at=timezone.now() - timedelta(seconds=1))",
        )

    def share(self, share_id: str, who: str = "owner") -> dict:
        response = httpx.get(f"{self.url}/api/shares/{share_id}", headers=self.auth(who), timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def content(self, share: dict, item: dict, who: str = "owner") -> bytes:
        url = f"{self.url}/api/shares/{share['id']}/items/{item['id']}/content"
        response = httpx.get(url, headers=self.auth(who), timeout=120)
        assert response.status_code == 200, response.text
        return response.content

    def new_share(self, who: str = "owner", **fields) -> dict:
        response = httpx.post(
            f"{self.url}/api/shares", json={"uploading": True, **fields}, headers=self.auth(who), timeout=30
        )
        assert response.status_code == 201, response.text
        return response.json()

    def new_request(self, who: str = "owner", **fields) -> dict:
        response = httpx.post(f"{self.url}/api/requests", json=fields, headers=self.auth(who), timeout=30)
        assert response.status_code == 201, response.text
        return response.json()


def raw_patch_then_vanish(location: str, offset: int, data: bytes, *, announced: int) -> None:
    """A PATCH that announces `announced` bytes, sends `data`, and closes the socket without waiting."""
    parts = urlsplit(location)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        head = (
            f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n"
            f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {announced}\r\n\r\n"
        )
        sock.sendall(head.encode() + data)
        sock.shutdown(socket.SHUT_RDWR)


def offset_when_free(location: str, at_least: int = 0, deadline: float = 60) -> int:
    """The recorded offset once no PATCH holds the upload any more (a vanished
    client's PATCH has ended, a killed process's lease has lapsed): an empty
    PATCH at HEAD's offset takes and releases the lease (204), or is told 423."""
    import time

    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            head = TusSite.head(location)
            if head.status_code == 200 and int(head.headers["Upload-Offset"]) >= at_least:
                offset = int(head.headers["Upload-Offset"])
                if TusSite.patch(location, offset, b"").status_code == 204:
                    return offset
        except httpx.TransportError:  # a server starting again
            pass
        time.sleep(0.1)
    raise AssertionError(f"{location} stayed busy or below {at_least} bytes")


# make run's server on the embedded default, make serve's on PostgreSQL + Redis: each
# CI run has the protocol tests on both servers, and each pass once (docs/uploads.md).
TUS_SERVER = "uvicorn" if os.environ.get("DATABASE_URL") else "daphne"


@pytest.fixture(scope="module", params=[TUS_SERVER])
def tus_site(request):
    """A live server that hands tus bodies to the views as they arrive."""
    env = {"RATE_LIMIT_ENABLED": "false", "PAN_DROP_CLIENT_LIMIT": "1000", "PAN_DROP_NETWORK_LIMIT": "1000"}
    with LiveServer(server=request.param, extra_env=env) as server:
        yield TusSite.open(server)
