"""The ASGI guard refuses oversized uploads before Django reads their body."""

import asyncio

import httpx
from django.test import override_settings

from pan.asgi import MULTIPART_ALLOWANCE

from .conftest import multipart


def post(content, headers):
    from project.asgi import application

    async def run():
        transport = httpx.ASGITransport(app=application, client=("192.0.2.1", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post("/api/files", content=content, headers=headers)

    return asyncio.run(run())


@override_settings(PAN_MAX_UPLOAD_SIZE=1000)
def test_a_declared_length_over_the_limit_is_413_at_once_in_the_callers_language():
    body, content_type = multipart(data=b"x" * (1000 + MULTIPART_ALLOWANCE + 1))
    english = post(body, {"Content-Type": content_type, "Accept-Language": "en"})
    assert english.status_code == 413
    assert english.json()["error"] == {
        "code": "file_too_large",
        "message": "The file is larger than this server accepts.",
    }
    chinese = post(body, {"Content-Type": content_type, "Accept-Language": "zh-CN,zh;q=0.9"})
    assert chinese.json()["error"]["message"] == "文件超过了服务器允许的大小。"


@override_settings(PAN_MAX_UPLOAD_SIZE=1000)
def test_a_body_without_a_length_is_cut_off_once_it_passes_the_limit():
    sent = []

    async def body():
        for _chunk in range(100):
            sent.append(1)
            yield b"x" * 4096

    response = post(body(), {"Content-Type": "multipart/form-data; boundary=x"})
    assert response.status_code == 413
    assert len(sent) < 100  # it stopped reading early


@override_settings(PAN_MAX_UPLOAD_SIZE=1000)
def test_bodies_within_the_limit_reach_django():
    body, content_type = multipart(data=b"x" * 500)
    response = post(body, {"Content-Type": content_type})
    assert response.status_code == 401  # Django answered: no token
