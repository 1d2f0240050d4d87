"""/files/ for the sharer (SPEC §4.5): a revoked share offers "share again"
and no new code (a new code would not reopen it); delete asks first; the
code, link and QR code sit behind a disclosure; the empty list links to the
upload page only for those who may upload."""

import re

import pytest
from django.test import Client

from pan import services

from .test_pages import EN, make_share

pytestmark = pytest.mark.django_db


def files_page(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get("/files/", **EN)
    assert response.status_code == 200
    return response.content.decode()


def row_of(html: str, share) -> str:
    return re.search(rf'<li class="share-row" data-unique="{share.unique_name}".*?</li>', html, re.S).group(0)


def test_a_revoked_share_offers_share_again_instead_of_a_new_code(dana):
    kept, stopped = make_share(dana, title="Kept"), make_share(dana, title="Stopped")
    services.share_revoke(share=stopped)
    html = files_page(dana)
    active, revoked = row_of(html, kept), row_of(html, stopped)
    assert 'class="state state-active"' in active and 'class="state state-revoked"' in revoked
    assert "new-code" in active and "revoke" in active and "restore" not in active
    assert "new-code" not in revoked and f"/files/{stopped.unique_name}/restore" in revoked
    for row in (active, revoked):
        assert re.search(r'<form method="post" action="/files/[^"]+/delete" data-confirm="Delete', row)
    assert re.search(r'<details class="share-details">\s*<summary>', active)  # code, link, QR folded away
    # A revoked share's code and link open nothing: not offered, the row says so (issue 19).
    assert "share-details" not in revoked and stopped.code_display not in revoked and "share-dead" in revoked


def test_the_empty_list_links_to_the_upload_page_only_for_uploaders(dana, bob):
    assert 'href="/welcome/">Upload files' in files_page(dana)
    html = files_page(bob)
    assert "ask an administrator for the uploaders role" in html
    assert re.search(r'<p class="empty">[^<]*<a', html) is None


def test_the_list_can_be_searched_and_sorted(dana, make_user):
    erin = make_user("erin", roles=["uploaders"])
    make_share(dana, title="Beach photos")
    make_share(dana, files=(("quarterly-report.pdf", b"%PDF"),))
    make_share(dana, title="Archive", expires_in=3600)
    make_share(erin, title="Beach of someone else")
    client = Client()
    client.force_login(dana)

    def titles(query: str) -> list[str]:
        html = client.get(f"/files/{query}", **EN).content.decode()
        return re.findall(r'class="share-name" href="[^"]+">([^<]+)<', html)

    assert titles("") == ["Archive", "quarterly-report.pdf", "Beach photos"]  # newest first
    assert titles("?q=beach") == ["Beach photos"]  # titles, own shares only
    assert titles("?q=REPORT") == ["quarterly-report.pdf"]  # item names, any case
    assert titles("?sort=old") == ["Beach photos", "quarterly-report.pdf", "Archive"]
    assert titles("?sort=expiry")[0] == "Archive"
    assert titles("?sort=nonsense") == titles("")
    assert "No share matches “nothing here”." in client.get("/files/?q=nothing+here", **EN).content.decode()
