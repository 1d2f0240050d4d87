"""The admins' dashboard (SPEC §6): storage and by whom, shares by state,
downloads per day, top sharers, locked shares; admins only."""

import pytest
from django.test import Client

from pan.tests.conftest import body_of, post_share

pytestmark = pytest.mark.django_db


def test_admins_see_the_figures_and_others_do_not(api_as, alice, bob, dana, settings):
    settings.PAN_CODE_SHARE_LIMIT = 2
    made = post_share(api_as(dana), [("a.bin", b"x" * 1000), ("b.bin", b"y" * 500)]).json()
    item = made["items"][0]["id"]
    body_of(Client().get(f"/api/shares/{made['id']}/items/{item}/content", HTTP_X_SHARE_CODE=made["code"]))
    for number in range(3):  # from three networks: only the share's own layer fills and locks
        Client(REMOTE_ADDR=f"10.{number}.0.1").post(f"/f/{made['id']}/", {"code": "ZZZZ2222"})
    admin = Client()
    admin.force_login(alice)
    index = admin.get("/admin/").content.decode()
    assert "/admin/dashboard/" in index
    page = admin.get("/admin/dashboard/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert "1.5\xa0KB stored in 2 files" in html
    assert "<td>dana</td><td>1.5\xa0KB</td><td>2</td><td>1</td>" in html
    assert 'data-state="active"><th scope="row">active</th><td>1</td>' in html
    assert "Downloads per day, last 30 days (1)" in html
    assert made["id"] in html.split('id="locked-shares"')[1]
    member = Client()
    member.force_login(bob)
    assert member.get("/admin/dashboard/").status_code == 403
    assert Client().get("/admin/dashboard/")["Location"] == "/login/?next=/admin/dashboard/"


def test_in_chinese(alice):
    admin = Client()
    admin.force_login(alice)
    assert "仪表板" in admin.get("/admin/dashboard/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
