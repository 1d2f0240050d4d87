"""Every page names a favicon, and /favicon.ico (which browsers ask for anyway) is served."""

import re

import httpx
import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/login/", "/short/", "/no/such/page/"])
def test_pages_link_an_svg_and_an_ico_favicon(path):
    html = Client().get(path).content.decode()
    icons = re.findall(r'<link rel="icon" href="([^"]+)"', html)
    assert icons == ["/static/favicon.svg", "/static/favicon.ico"]


def test_favicon_ico_redirects_to_the_static_file():
    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.ico"


@pytest.mark.live
def test_the_live_server_serves_both_icons(daphne_server):
    with httpx.Client(base_url=daphne_server.url, timeout=10, follow_redirects=True) as client:
        ico = client.get("/favicon.ico")
        assert ico.status_code == 200
        assert ico.content[:4] == b"\x00\x00\x01\x00"  # an ICO header: reserved 0, type 1 (icon)
        assert ico.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
        # The page links the hashed name the manifest storage gave each file.
        links = re.findall(r'<link rel="icon" href="([^"]+)"', client.get("/").text)
        assert len(links) == 2 and all(re.search(r"/static/favicon\.[0-9a-f]{12}\.(svg|ico)$", link) for link in links)
        svg = client.get(links[0])
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert svg.content.startswith(b"<svg")


def test_pages_name_app_icons_and_a_manifest():
    import json
    from pathlib import Path

    from django.conf import settings

    html = Client().get("/").content.decode()
    assert '<link rel="apple-touch-icon" href="/static/apple-touch-icon.png">' in html
    assert '<link rel="manifest" href="/static/manifest.webmanifest">' in html
    static = Path(settings.BASE_DIR) / "static"
    manifest = json.loads((static / "manifest.webmanifest").read_text())
    for icon in manifest["icons"]:
        data = (static / icon["src"]).read_bytes()
        if icon["type"] == "image/png":
            width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and f"{width}x{height}" == icon["sizes"]
    touch = (static / "apple-touch-icon.png").read_bytes()
    assert int.from_bytes(touch[16:20], "big") == 180
