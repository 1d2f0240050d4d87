"""`project.lib.streaming.file_response`, the helper the video stream reuses."""

import warnings

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import RequestFactory

from project.lib.streaming import content_disposition, file_response

DATA = bytes(range(256)) * 1200


def consume(response) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return b"".join(response)


def test_file_response_serves_ranges_of_a_stored_file():
    name = default_storage.save("streaming-test/video.mp4", ContentFile(DATA))
    try:
        factory = RequestFactory()
        kwargs = {"storage": default_storage, "name": name, "size": len(DATA), "content_type": "video/mp4"}
        whole = file_response(factory.get("/"), etag='"v1"', filename="片.mp4", inline=True, **kwargs)
        assert whole.status_code == 200 and consume(whole) == DATA
        assert whole["Content-Disposition"].startswith("inline;")
        part = file_response(factory.get("/", HTTP_RANGE="bytes=1000-299999"), etag='"v1"', **kwargs)
        assert part.status_code == 206 and consume(part) == DATA[1000:300000]
        assert part["Content-Range"] == f"bytes 1000-299999/{len(DATA)}"
        head = file_response(factory.head("/", HTTP_RANGE="bytes=0-9"), etag='"v1"', **kwargs)
        assert head.status_code == 206 and head["Content-Length"] == "10" and head.content == b""
        beyond = file_response(factory.get("/", HTTP_RANGE=f"bytes={len(DATA)}-"), etag='"v1"', **kwargs)
        assert beyond.status_code == 416
    finally:
        default_storage.delete(name)


def test_content_disposition_has_an_ascii_fallback_and_utf8_name():
    assert content_disposition("attachment", 'a "b";c%.txt') == (
        "attachment; filename=\"a _b__c_.txt\"; filename*=UTF-8''a%20%22b%22%3Bc%25.txt"
    )
