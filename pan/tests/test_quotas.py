"""Storage quotas per role (SPEC §3, pan/quotas.py): over the quota is 413
and nothing is kept; concurrent uploads cannot pass it together; drops into
a request count against the requester's quota."""

from io import BytesIO

import pytest
from rest_framework.test import APIClient

from pan.models import Item, Share
from pan.quotas import user_quota
from pan.services import IncomingFile, share_create
from project.testing import released_at_once

from .conftest import post_share

pytestmark = pytest.mark.django_db


@pytest.fixture
def quotas(settings):
    settings.PAN_QUOTAS = {"uploaders": 100, "users": 0}
    return settings.PAN_QUOTAS


def test_the_quota_is_the_largest_of_the_roles_and_admins_have_none(quotas, alice, bob, charlie, dana, make_user):
    assert user_quota(dana) == 100
    assert user_quota(alice) is None  # admin
    assert user_quota(bob) is None  # users=0: no limit
    assert user_quota(charlie) is None  # no listed role
    both = make_user("erin", roles=["uploaders", "users"])
    assert user_quota(both) is None  # 0 among them: no limit


def test_no_quotas_by_default(dana):
    assert user_quota(dana) is None


def test_an_upload_past_the_quota_is_413_in_chinese_and_keeps_nothing(quotas, api_as, dana):
    client = api_as(dana)
    assert post_share(client, [("a.bin", b"x" * 60)]).status_code == 201
    refused = post_share(client, [("b.bin", b"y" * 41)], headers={"HTTP_ACCEPT_LANGUAGE": "zh-hans"})
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert "配额" in refused.json()["error"]["message"]
    assert Share.objects.count() == 1 and Item.objects.count() == 1
    assert post_share(client, [("c.bin", b"z" * 40)]).status_code == 201  # exactly up to it
    assert client.get("/api/me").json()["stored_bytes"] == 100
    assert client.get("/api/me").json()["quota"] == 100


def test_adding_items_counts_too(quotas, api_as, dana):
    client = api_as(dana)
    created = post_share(client, [], uploading="true").json()
    assert post_share(client, [("a.bin", b"x" * 90)], path=f"/api/shares/{created['id']}/items").status_code == 201
    refused = post_share(client, [("b.bin", b"x" * 20)], path=f"/api/shares/{created['id']}/items")
    assert (refused.status_code, refused.json()["error"]["code"]) == (413, "quota_exceeded")


def test_drops_count_against_the_requesters_quota(quotas, api_as, dana):
    made = api_as(dana).post("/api/requests", {"max_files": 10, "max_bytes": 10**6}, format="json").json()
    from pan.tests.conftest import multipart_files

    body, ctype = multipart_files([("big.bin", b"x" * 101)])
    refused = APIClient().generic(
        "POST", f"/api/requests/{made['code'].replace('-', '')}/drops", body, content_type=ctype
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (413, "quota_exceeded")
    assert not Share.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_never_pass_the_quota_together(settings, make_user):
    # Files of unknown size (read as they are stored), so only the check under the lock can stop them.
    settings.PAN_QUOTAS = {"quota-test": 100}
    from django.contrib.auth.models import Group

    Group.objects.get_or_create(name="quota-test")
    owner = make_user("fay", roles=["quota-test"])

    def upload(number):
        share_create(owner=owner, files=[IncomingFile(BytesIO(b"x" * 30), f"{number}.bin")])
        return "stored"

    outcomes = released_at_once(upload, 6)
    assert sorted(outcomes) == ["QuotaExceeded"] * 3 + ["stored"] * 3
    assert sum(Item.objects.filter(share__owner=owner).values_list("size", flat=True)) == 90
