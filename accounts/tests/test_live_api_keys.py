"""API keys through a real daphne (project.testing.LiveServer): the API, a
tus upload with tuspy, the WebSocket events, and revocation between requests."""

import io
import json
import secrets

import httpx
import pytest
from tusclient import client as tus_client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

pytestmark = pytest.mark.live

PASSWORD = "Lantern-Field-71"


@pytest.fixture(scope="module")
def owner(daphne_server) -> dict:
    """An `uploaders` account (an owner who is not a manager) and its JWT."""
    name, access = daphne_server.uploader("keys-owner", PASSWORD)
    return {"name": name, "jwt": {"Authorization": f"Bearer {access}"}}


def make_key(server, owner, *scopes: str) -> dict:
    made = httpx.post(
        f"{server.url}/api/keys",
        json={"name": f"live {secrets.token_hex(2)}", "scopes": list(scopes)},
        headers=owner["jwt"],
        timeout=10,
    )
    assert made.status_code == 201, made.text
    return made.json()


def bearer(key: dict) -> dict:
    return {"Authorization": f"Bearer {key['key']}"}


def test_a_read_key_lists_cannot_create_and_is_refused_once_revoked(daphne_server, owner):
    key = make_key(daphne_server, owner, "shares:read")
    with httpx.Client(base_url=daphne_server.url, headers=bearer(key), timeout=10) as client:
        assert client.get("/api/shares").status_code == 200
        refused = client.post("/api/shares", json={"text": "hello"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "api_key_scope"
        assert client.get("/api/me").json()["username"] == owner["name"]
        revoked = httpx.delete(f"{daphne_server.url}/api/keys/{key['id']}", headers=owner["jwt"], timeout=10)
        assert revoked.status_code == 204
        after = client.get("/api/shares")  # the very next request, on the same connection
        assert after.status_code == 401 and after.json()["error"]["code"] == "api_key_not_valid"
    # The server's log names the key by nothing but its path: never the key itself.
    assert key["key"] not in daphne_server.log() and key["key"][12:] not in daphne_server.log()


def test_a_write_key_uploads_with_tuspy_and_a_read_key_may_not(daphne_server, owner):
    writer = make_key(daphne_server, owner, "shares:write", "shares:read")
    data = secrets.token_bytes(300_000)
    uploader = tus_client.TusClient(f"{daphne_server.url}/api/uploads/", headers=bearer(writer)).uploader(
        file_stream=io.BytesIO(data), chunk_size=128 * 1024, metadata={"filename": "keyed.bin"}
    )
    uploader.upload()
    head = httpx.head(uploader.url, headers={"Tus-Resumable": "1.0.0"}, timeout=10)
    share_id = head.headers["Pan-Share"]
    share = httpx.get(f"{daphne_server.url}/api/shares/{share_id}", headers=bearer(writer), timeout=10).json()
    assert share["items"][0]["size"] == len(data)

    reader = make_key(daphne_server, owner, "shares:read")
    refused = httpx.post(
        f"{daphne_server.url}/api/uploads/",
        headers={**bearer(reader), "Tus-Resumable": "1.0.0", "Upload-Length": "5"},
        timeout=10,
    )
    assert refused.status_code == 403


def test_the_multipart_allowance_follows_the_keys_scopes(daphne_server, owner):
    """A 2 MiB multipart body passes the small limit only with a write key of an uploader."""
    boundary = "----keys-live-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="two.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + b"\x01" * (2 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    writer = make_key(daphne_server, owner, "shares:write")
    made = httpx.post(
        f"{daphne_server.url}/api/shares", content=body, headers={**headers, **bearer(writer)}, timeout=30
    )
    assert made.status_code == 201, made.text
    reader = make_key(daphne_server, owner, "shares:read")
    refused = httpx.post(
        f"{daphne_server.url}/api/shares", content=body, headers={**headers, **bearer(reader)}, timeout=30
    )
    assert refused.status_code == 413  # refused before the body is read: no allowance for this key


def events_socket(server, headers):
    url = server.url.replace("http://", "ws://") + "/ws/events/"
    return connect(url, additional_headers=headers, open_timeout=10, close_timeout=5)


def test_the_events_socket_takes_the_key_header(daphne_server, owner):
    key = make_key(daphne_server, owner, "shares:read", "shares:write")
    with httpx.Client(base_url=daphne_server.url, headers=bearer(key), timeout=10) as client:
        share = client.post("/api/shares", json={"uploading": True}).json()
        with events_socket(daphne_server, bearer(key)) as socket:
            # A file added to the owner's open share: its progress goes to the owner's connections,
            # so it arrives here only when the key made this connection the owner's.
            tus_client.TusClient(f"{daphne_server.url}/api/uploads/", headers=bearer(key)).uploader(
                file_stream=io.BytesIO(b"hello"), chunk_size=1024, metadata={"filename": "a.txt", "share": share["id"]}
            ).upload()
            event = json.loads(socket.recv(timeout=10))
            assert event["share"] == share["id"] and event["items"] == 1
    # Without a key the handshake is accepted too (an anonymous page): the refusals below are the key's.
    with events_socket(daphne_server, {}) as anonymous:
        assert anonymous.protocol.state.name == "OPEN"


@pytest.mark.parametrize(
    "kind", ["unknown", "lower-case", "write-only", "revoked"], ids=["unknown", "lower-case", "write-only", "revoked"]
)
def test_the_events_socket_refuses_a_bad_or_narrow_key(daphne_server, owner, kind):
    if kind == "unknown":
        headers = {"Authorization": "Bearer pan_" + "A" * 32}
    elif kind == "lower-case":
        headers = {"Authorization": "bearer " + make_key(daphne_server, owner, "shares:read")["key"]}
    elif kind == "write-only":
        headers = bearer(make_key(daphne_server, owner, "shares:write"))
    else:
        key = make_key(daphne_server, owner, "shares:read")
        httpx.delete(f"{daphne_server.url}/api/keys/{key['id']}", headers=owner["jwt"], timeout=10)
        headers = bearer(key)
    with pytest.raises(InvalidStatus) as refused, events_socket(daphne_server, headers):
        pass
    # daphne has no `websocket.http.response`: a refused handshake is its 403.
    assert refused.value.response.status_code in (401, 403)
