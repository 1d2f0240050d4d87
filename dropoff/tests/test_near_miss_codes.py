"""A drop-off request's code one character off names no request (SPEC §4.6).

For each of the code's 8 positions, the right code with that character
changed to another of the code alphabet is refused everywhere a sender
types or follows a request code; the right code then still opens it. The
guessing layers are opened wide, so every refusal is the code's own. A
lookup that matches only the first 4 characters fails here.
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from dropoff.services import request_create
from pan.tests.conftest import multipart_files
from project.testing import guessing_wide_open, near_misses

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_guessing_wide_open")]

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def _guessing_wide_open():
    with guessing_wide_open():
        yield


@pytest.fixture
def drop_request(dana):
    return request_create(owner=dana, title="Tax papers", max_files=5, max_bytes=10**6)


def test_the_pickup_api_and_the_home_page_box_refuse_a_request_code_one_character_off(drop_request):
    api, box = APIClient(), Client()
    for miss in near_misses(drop_request.code):
        answer = api.post("/api/pickup", {"code": miss}, format="json", **EN)
        assert answer.status_code == 403, (miss, answer.content)
        assert answer.json()["error"]["code"] == "code_rejected"
        assert box.post("/pickup/", {"code": miss}, **EN).status_code == 403, miss
    assert api.post("/api/pickup", {"code": drop_request.code}, format="json").json()["kind"] == "request"
    opened = box.post("/pickup/", {"code": drop_request.code})
    assert (opened.status_code, opened["Location"]) == (302, f"/r/{drop_request.code}/")


def test_the_request_page_and_api_refuse_a_request_code_one_character_off(drop_request):
    api, page = APIClient(), Client()
    for miss in near_misses(drop_request.code):
        assert page.get(f"/r/{miss}/", **EN).status_code == 404, miss
        assert api.get(f"/api/requests/{miss}", **EN).status_code == 404, miss
        body, content_type = multipart_files([("a.txt", b"x")])
        dropped = api.generic("POST", f"/api/requests/{miss}/drops", body, content_type=content_type, **EN)
        assert dropped.status_code == 404, miss
    assert page.get(f"/r/{drop_request.code}/").status_code == 200
    assert api.get(f"/api/requests/{drop_request.code}").status_code == 200
    body, content_type = multipart_files([("a.txt", b"x")])
    dropped = api.generic("POST", f"/api/requests/{drop_request.code}/drops", body, content_type=content_type)
    assert dropped.status_code == 201, dropped.content
    drop_request.refresh_from_db()
    assert drop_request.drops.count() == 1
