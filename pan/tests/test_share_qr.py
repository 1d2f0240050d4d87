"""A share's QR code as a file (SVG and PNG): its owner and managers only."""

import pytest
from django.test import Client

from .conftest import post_share

pytestmark = pytest.mark.django_db


@pytest.fixture
def share(api_as, dana):
    return post_share(api_as(dana), [("a.txt", b"abc")]).json()


def test_the_owner_downloads_the_qr_code_as_svg_and_png(share, dana, alice):
    for user in (dana, alice):
        client = Client()
        client.force_login(user)
        svg = client.get(f"/api/shares/{share['id']}/qr.svg")
        assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
        png = client.get(f"/api/shares/{share['id']}/qr.png")
        assert png.content.startswith(b"\x89PNG") and "attachment" in png["Content-Disposition"]


@pytest.mark.parametrize("who", ["bob", "charlie"])
def test_others_get_404(share, request, who):
    client = Client()
    client.force_login(request.getfixturevalue(who))
    assert client.get(f"/api/shares/{share['id']}/qr.png").status_code == 404
    assert Client().get(f"/api/shares/{share['id']}/qr.svg").status_code == 401
