"""`PATCH /api/me`: e-mail address, e-mail receipts (off by default) and language."""

import pytest

pytestmark = pytest.mark.django_db


def test_receipts_are_off_by_default_and_turned_on_with_an_address(api_as, dana):
    client = api_as(dana)
    profile = client.get("/api/me").json()
    assert (profile["receipts_by_email"], profile["email"], profile["language"]) == (False, "", "")
    changed = client.patch(
        "/api/me", {"email": "dana@example.com", "receipts_by_email": True, "language": "zh-hans"}, format="json"
    )
    assert changed.status_code == 200
    assert (changed.json()["receipts_by_email"], changed.json()["language"]) == (True, "zh-hans")
    dana.refresh_from_db()
    assert (dana.email, dana.receipts_by_email, dana.language) == ("dana@example.com", True, "zh-hans")


@pytest.mark.parametrize(
    "changes",
    [
        {"receipts_by_email": True},  # no address
        {"email": "not an address"},
        {"language": "fr"},
        {"receipts_by_email": "yes"},
        {"username": "someone-else"},
        {"is_staff": True},
    ],
)
def test_bad_preferences_are_400_and_change_nothing(api_as, dana, changes):
    response = api_as(dana).patch("/api/me", changes, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    dana.refresh_from_db()
    assert (dana.username, dana.email, dana.receipts_by_email, dana.language, dana.is_staff) == (
        "dana",
        "",
        False,
        "",
        False,
    )


def test_anonymous_callers_cannot_change_preferences(api):
    assert api.patch("/api/me", {"language": "en"}, format="json").status_code == 401


def test_the_welcome_page_saves_receipts_by_email(dana):
    from django.test import Client

    client = Client()
    client.force_login(dana)
    page = client.get("/welcome/")
    assert 'id="preferences-form"' in page.content.decode()
    refused = client.post("/welcome/", {"action": "preferences", "email": "", "receipts_by_email": "true"})
    assert refused.status_code == 200 and "e-mail address" in refused.content.decode()
    saved = client.post(
        "/welcome/", {"action": "preferences", "email": "d@example.com", "receipts_by_email": "true", "language": "en"}
    )
    assert saved.status_code == 302
    dana.refresh_from_db()
    assert (dana.email, dana.receipts_by_email, dana.language) == ("d@example.com", True, "en")
