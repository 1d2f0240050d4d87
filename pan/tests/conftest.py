"""Helpers for the pan tests: hand-built multipart bodies and streamed bodies."""

import secrets
import warnings

import pytest

BOUNDARY = "----pan-test-boundary-7MA4YWxkTrZu0gW"


def multipart(*, filename: str | None = "hello.txt", data: bytes = b"hello", content_type="text/plain", **fields):
    """A one-file multipart/form-data body built by hand, so a file name
    reaches the server exactly as given (Django's test encoder would strip paths)."""
    return multipart_files([] if filename is None else [(filename, data, content_type)], **fields)


def multipart_files(files, **fields):
    """A multipart body with one `file` part per (name, bytes[, content type]); names go as given."""
    parts = []
    for name, value in fields.items():
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, data, *content_type in files:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {content_type[0] if content_type else 'application/octet-stream'}\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={BOUNDARY}"


def post_share(client, files, *, path="/api/shares", headers=None, **fields):
    """POST a share (or items, with `path`) as multipart."""
    body, ctype = multipart_files(files, **fields)
    return client.generic("POST", path, body, content_type=ctype, **(headers or {}))


def post_upload(client, *, filename="hello.txt", data=b"hello", content_type="text/plain", headers=None, **fields):
    body, ctype = multipart(filename=filename, data=data, content_type=content_type, **fields)
    return client.generic("POST", "/api/files", body, content_type=ctype, **(headers or {}))


def body_of(response) -> bytes:
    """All bytes of a (streaming) response, consumed the way a server would."""
    if getattr(response, "streaming", False):
        with warnings.catch_warnings():
            # The sync test client consumes the async generator through
            # async_to_sync; a real server reads it asynchronously.
            warnings.simplefilter("ignore")
            return b"".join(response)
    return response.content


def random_bytes(size: int) -> bytes:
    return secrets.token_bytes(size)


@pytest.fixture
def uploader(api_as, alice):
    """An API client for alice (admin: may upload)."""
    return api_as(alice)


@pytest.fixture
def share_as(api_as):
    """share_as(user, [(name, bytes), ...], **fields) -> the API's answer for a new share (a dict)."""

    def share(user, files=(("hello.txt", b"hello world"),), **fields) -> dict:
        response = post_share(api_as(user), list(files), **fields)
        assert response.status_code == 201, response.content
        return response.json()

    return share


@pytest.fixture
def shared(uploader):
    """upload a file as alice and return the API's answer (a dict)."""

    def share(data: bytes = b"hello world", filename: str = "hello.txt", **fields) -> dict:
        response = post_upload(uploader, filename=filename, data=data, **fields)
        assert response.status_code == 201, response.content
        return response.json()

    return share
