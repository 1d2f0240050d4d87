import pytest
from django.test import Client
from django.urls import path

from project.urls import urlpatterns as project_urlpatterns


def explode(request):
    raise RuntimeError("boom")


urlpatterns = [path("explode/", explode), path("api/explode/", explode), *project_urlpatterns]
handler404 = "project.views.page_not_found"
handler500 = "project.views.server_error"

pytestmark = [pytest.mark.django_db, pytest.mark.urls("project.tests.test_errors")]


def test_unknown_page_gets_the_custom_404_page():
    response = Client().get("/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Back to the home page" in response.content.decode()


def test_unknown_api_path_gets_json_404():
    response = Client().get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_a_crash_gets_the_custom_500_page():
    response = Client(raise_request_exception=False).get("/explode/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert "boom" not in response.content.decode()


def test_a_crash_on_an_api_path_gets_json_500():
    response = Client(raise_request_exception=False).get("/api/explode/")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
