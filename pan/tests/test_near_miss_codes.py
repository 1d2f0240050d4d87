"""A code one character off is a wrong code, in every position (SPEC §4.2).

Every place a share code is checked gets, for each of the code's 8
positions, the right code with that one character changed to another of the
code alphabet, and must refuse it as a wrong code (not as a limit: the
guessing layers are opened wide here); the right code then still opens it.
A check that compares only part of the code fails here: a comparison of
the first 4 characters lets the last four near misses through.
"""

import io

import pytest
from django.test import Client
from rest_framework.test import APIClient

from pan import services
from pan.models import Share
from project.lib.secrets import SHARE_CODE_LENGTH
from project.testing import guessing_wide_open, near_misses

from .conftest import body_of

pytestmark = [
    pytest.mark.django_db,
    # Wide open, so every refusal below is the code's, never a limit's.
    pytest.mark.usefixtures("_guessing_wide_open"),
]

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
DATA = b"near misses stay out"


@pytest.fixture
def _guessing_wide_open():
    with guessing_wide_open():
        yield


def test_near_misses_differ_from_the_code_in_exactly_one_position_each():
    misses = near_misses("ABCD2345")
    assert len(misses) == len(set(misses)) == SHARE_CODE_LENGTH
    for position, miss in enumerate(misses):
        assert [i for i in range(SHARE_CODE_LENGTH) if miss[i] != "ABCD2345"[i]] == [position]


@pytest.fixture
def share(dana) -> Share:
    return services.share_create(owner=dana, files=[services.IncomingFile(io.BytesIO(DATA), "near.txt")])


def browser() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.get("/")
    return client, client.cookies["csrftoken"].value


def test_the_pickup_api_refuses_a_code_one_character_off(share):
    api = APIClient()
    for miss in near_misses(share.code):
        for typed in (miss, f"{miss[:4]}-{miss[4:]}", miss.lower()):
            response = api.post("/api/pickup", {"code": typed}, format="json", **EN)
            assert response.status_code == 403, (typed, response.content)
            assert response.json()["error"]["code"] == "code_rejected"
    assert api.post("/api/pickup", {"code": share.code}, format="json").status_code == 200


def test_the_pickup_api_refuses_a_pasted_link_whose_code_is_one_character_off(share):
    api = APIClient()
    for miss in near_misses(share.code):
        link = f"http://testserver/f/{share.unique_name}/?code={miss}"
        response = api.post("/api/pickup", {"code": link}, format="json", **EN)
        assert response.status_code == 403, (miss, response.content)
        assert response.json()["error"]["code"] == "code_rejected"
    link = f"http://testserver/f/{share.unique_name}/?code={share.code}"
    assert api.post("/api/pickup", {"code": link}, format="json").status_code == 200


def test_the_share_pages_code_form_refuses_a_code_one_character_off(share):
    client, token = browser()
    page = f"/f/{share.unique_name}/"
    for miss in near_misses(share.code):
        response = client.post(page, {"code": miss, "csrfmiddlewaretoken": token}, **EN)
        assert response.status_code == 403, miss
        assert "The share code is not correct." in response.content.decode()
        download = client.post(f"{page}download", {"code": miss, "csrfmiddlewaretoken": token}, **EN)
        assert download.status_code == 403, miss
    unlocked = client.post(page, {"code": share.code, "csrfmiddlewaretoken": token}, **EN)
    assert unlocked.status_code in (200, 302)
    item = share.items.get()
    assert body_of(client.get(f"{page}items/{item.pk}/download")) == DATA


def test_the_download_header_and_query_refuse_a_code_one_character_off(share):
    api = APIClient()
    item = share.items.get()
    paths = [f"/api/files/{share.unique_name}/content", f"/api/shares/{share.unique_name}/items/{item.pk}/content"]
    for path in paths:
        for miss in near_misses(share.code):
            header = api.get(path, HTTP_X_SHARE_CODE=miss, **EN)
            assert header.status_code == 403, (path, miss)
            assert header.json()["error"]["code"] == "code_rejected"
            assert api.get(f"{path}?code={miss}", **EN).status_code == 403, (path, miss)
        assert body_of(api.get(path, HTTP_X_SHARE_CODE=share.code)) == DATA
    assert Share.objects.get(pk=share.pk).download_count == len(paths)
