"""Drop-off requests (SPEC §4.6): requesters make them, outsiders with no
account drop files into them, limits hold, droppers see only receipts.

Access is tried with dana (an owner who is not an admin: `uploaders`),
alice (admin: `manage`), bob (a member: `users`) and charlie (a signed-in
stranger with no roles), and anonymous senders.
"""

import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import Action, AuditEvent
from dropoff.models import Drop, DropRequest
from dropoff.services import request_create
from pan.models import Item, Share
from pan.tests.conftest import multipart_files
from project.testing import released_at_once

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def make_request(client, **fields):
    response = client.post("/api/requests", fields, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def drop(client, code, files, *, headers=None, **fields):
    body, ctype = multipart_files(files, **fields)
    return client.generic(
        "POST", f"/api/requests/{code.replace('-', '')}/drops", body, content_type=ctype, **(headers or {})
    )


@pytest.fixture
def dana_request(api_as, dana):
    return make_request(api_as(dana), title="Tax papers", max_files=3, max_bytes=1000)


# --- Making and managing requests --------------------------------------------


def test_an_uploader_makes_a_request_with_a_code_and_a_link(api_as, dana):
    made = make_request(api_as(dana), title="Photos", message="From the trip", max_files=5, max_bytes=10**6)
    assert made["code"][4] == "-" and len(made["code"]) == 9
    assert made["url"].endswith(f"/r/{made['code'].replace('-', '')}/")
    assert (made["state"], made["max_files"], made["max_bytes"], made["received_files"]) == ("open", 5, 10**6, 0)
    assert made["password"] is False


@pytest.mark.parametrize("who", ["bob", "charlie"])
def test_members_and_strangers_cannot_make_requests(api_as, request, who):
    response = api_as(request.getfixturevalue(who)).post("/api/requests", {"title": "x"}, format="json")
    assert response.status_code == 403
    assert not DropRequest.objects.exists()


def test_anonymous_callers_cannot_make_requests():
    assert APIClient().post("/api/requests", {"title": "x"}, format="json").status_code == 401


@pytest.mark.parametrize(
    "fields",
    [
        {"max_files": 0},
        {"max_files": "many"},
        {"max_bytes": -1},
        {"expires_in": -5},
        {"title": "x" * 201},
        {"max_files": True},
    ],
)
def test_bad_request_fields_are_400_in_chinese_and_make_nothing(api_as, dana, fields):
    response = api_as(dana).post("/api/requests", fields, format="json", **ZH)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["error"]["message"])
    assert not DropRequest.objects.exists()


def test_only_the_owner_and_managers_see_close_reopen_and_delete(api_as, alice, bob, charlie, dana, dana_request):
    base = f"/api/requests/{dana_request['id']}"
    for stranger in (bob, charlie):
        client = api_as(stranger)
        assert client.get(base).status_code == 404
        assert client.post(f"{base}/close").status_code == 404
        assert client.delete(base).status_code == 404
        assert client.get("/api/requests").json()["count"] == 0
    assert DropRequest.objects.get().closed_at is None
    assert api_as(dana).post(f"{base}/close").json()["state"] == "closed"
    assert api_as(alice).post(f"{base}/reopen").json()["state"] == "open"
    assert api_as(alice).get("/api/requests").json()["count"] == 1
    assert api_as(dana).delete(base).status_code == 204
    assert not DropRequest.objects.exists()


# --- Dropping ------------------------------------------------------------------


def test_an_outsider_drops_files_and_gets_a_receipt(dana, dana_request):
    files = [("invoice.pdf", b"%PDF-1.4 invoice", "application/pdf"), ("scans/page1.png", b"\x89PNG page", "image/png")]
    response = drop(APIClient(), dana_request["code"], files, name="Mrs Li", note="Two files")
    assert response.status_code == 201, response.content
    receipt = response.json()
    assert [(f["path"], f["size"]) for f in receipt["files"]] == [("invoice.pdf", 16), ("scans/page1.png", 9)]
    assert receipt["files"][0]["sha256"] == hashlib.sha256(b"%PDF-1.4 invoice").hexdigest()
    assert (receipt["name"], receipt["note"], receipt["request"]) == ("Mrs Li", "Two files", "Tax papers")
    # The files are a share of the requester's.
    share = Share.objects.get()
    assert share.owner == dana and share.title == "Tax papers — Mrs Li" and share.message == "Two files"
    assert share.expires_at is None
    request = DropRequest.objects.get()
    assert (request.received_files, request.received_bytes) == (2, 25)
    # The receipt page shows the same, to anyone holding its link.
    page = Client().get(receipt["receipt_url"])
    assert page.status_code == 200
    assert "scans/page1.png" in page.content.decode() and receipt["files"][1]["sha256"] in page.content.decode()


def test_the_requester_sees_the_drop_in_the_request(api_as, dana, dana_request):
    drop(APIClient(), dana_request["code"], [("a.txt", b"aaa")], name="Sender")
    detail = api_as(dana).get(f"/api/requests/{dana_request['id']}").json()
    assert [(d["name"], d["files"], d["size"]) for d in detail["drops"]] == [("Sender", 1, 3)]
    assert detail["received_files"] == 1
    assert "/f/" in detail["drops"][0]["url"]


def test_a_dropper_cannot_list_download_or_delete_anything(dana_request):
    sent = drop(APIClient(), dana_request["code"], [("a.txt", b"secret bytes")]).json()
    share = Share.objects.get()
    anonymous = APIClient()
    assert anonymous.get("/api/requests").status_code == 401
    assert anonymous.get(f"/api/requests/{dana_request['id']}").status_code == 401
    assert anonymous.delete(f"/api/requests/{dana_request['id']}").status_code == 401
    assert anonymous.get(f"/api/shares/{share.unique_name}/items/{share.items.get().pk}/content").status_code in (
        401,
        403,
    )
    assert anonymous.delete(f"/api/shares/{share.unique_name}").status_code == 401
    # The receipt names no share and no code.
    assert share.unique_name not in str(sent) and share.code not in str(sent)
    assert Share.objects.count() == 1


def test_over_max_files_or_max_bytes_is_413_and_keeps_nothing(dana_request):
    code = dana_request["code"]
    too_many = drop(APIClient(), code, [(f"{i}.txt", b"x") for i in range(4)])
    assert too_many.status_code == 413
    assert too_many.json()["error"]["code"] == "request_full"
    too_large = drop(APIClient(), code, [("big.bin", b"x" * 1001)], headers=ZH)
    assert too_large.status_code == 413
    assert too_large.json()["error"]["message"] == "这个投递请求放不下这么多文件或字节。"
    assert not Share.objects.exists() and not Item.objects.exists()
    assert DropRequest.objects.get().received_files == 0


def test_drops_add_up_to_the_request_limits(dana_request):
    code = dana_request["code"]
    assert drop(APIClient(), code, [("a.txt", b"x" * 600)]).status_code == 201
    assert drop(APIClient(), code, [("b.txt", b"x" * 600)]).status_code == 413
    assert drop(APIClient(), code, [("c.txt", b"x" * 400)]).status_code == 201
    full = drop(APIClient(), code, [("d.txt", b"x")])
    assert full.status_code == 413
    assert APIClient().get(f"/api/requests/{code.replace('-', '')}").status_code == 413
    assert DropRequest.objects.get().received_bytes == 1000


@pytest.mark.django_db(transaction=True)
def test_concurrent_drops_never_take_a_request_past_its_limit(dana):
    # Eight senders at once, each on a connection of its own (SQLite: the
    # row lock is the database's write lock; PostgreSQL: SELECT … FOR UPDATE).
    made = request_create(owner=dana, max_files=3, max_bytes=10**6)

    def one(index):
        return drop(APIClient(REMOTE_ADDR=f"10.0.{index}.1"), made.code, [(f"{index}.txt", b"x" * 10)]).status_code

    answers = released_at_once(one, 8)
    assert sorted(answers) == [201] * 3 + [413] * 5
    assert DropRequest.objects.get().received_files == 3
    assert Share.objects.count() == Drop.objects.count() == 3


def test_closed_and_expired_requests_answer_410(api_as, dana, dana_request, time_machine):
    code = dana_request["code"].replace("-", "")
    api_as(dana).post(f"/api/requests/{dana_request['id']}/close")
    closed = drop(APIClient(), code, [("a.txt", b"x")])
    assert (closed.status_code, closed.json()["error"]["code"]) == (410, "request_closed")
    assert Client().get(f"/r/{code}/").status_code == 410
    api_as(dana).post(f"/api/requests/{dana_request['id']}/reopen")
    time_machine.move_to(timezone.now() + timedelta(days=8))  # the default expiry is 7 days
    expired = drop(APIClient(), code, [("a.txt", b"x")])
    assert (expired.status_code, expired.json()["error"]["code"]) == (410, "request_expired")
    page = Client().get(f"/r/{code}/")
    assert page.status_code == 410 and "expired" in page.content.decode()
    assert not Share.objects.exists()


def test_many_drops_from_one_client_are_limited(dana, api_as, settings):
    made = make_request(api_as(dana), max_files=1000, max_bytes=10**6)
    client = APIClient(REMOTE_ADDR="198.51.100.9")
    answers = [
        drop(client, made["code"], [("a.txt", b"x")]).status_code for _ in range(settings.PAN_DROP_CLIENT_LIMIT + 5)
    ]
    assert answers.count(201) == settings.PAN_DROP_CLIENT_LIMIT
    assert answers[-1] == 429
    refused = drop(client, made["code"], [("a.txt", b"x")])
    assert refused.json()["error"]["code"] == "too_many_drops" and int(refused["Retry-After"]) > 0
    # Another network is not held back.
    assert drop(APIClient(REMOTE_ADDR="203.0.113.9"), made["code"], [("a.txt", b"x")]).status_code == 201


def test_a_password_is_asked_and_counted_like_a_share_password(api_as, dana):
    made = make_request(api_as(dana), password="Kite-Harbour-55")
    code = made["code"].replace("-", "")
    missing = drop(APIClient(), code, [("a.txt", b"x")])
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "password_required")
    wrong = drop(APIClient(), code, [("a.txt", b"x")], headers={"HTTP_X_REQUEST_PASSWORD": "nope"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (403, "password_rejected")
    right = drop(APIClient(), code, [("a.txt", b"x")], headers={"HTTP_X_REQUEST_PASSWORD": "Kite-Harbour-55"})
    assert right.status_code == 201
    assert "Kite-Harbour-55" not in str(list(AuditEvent.objects.values()))
    assert not DropRequest.objects.get().password.startswith("Kite")


def test_a_password_in_the_header_is_read_as_utf8(api_as, dana):
    """`X-Request-Password` bytes as a server hands them to Django (ISO-8859-1): UTF-8 ones are read as UTF-8."""
    made = make_request(api_as(dana), password="风筝-Harbour-55")
    code = made["code"].replace("-", "")
    sent = "风筝-Harbour-55".encode().decode("latin-1")
    right = drop(APIClient(), code, [("a.txt", b"x")], headers={"HTTP_X_REQUEST_PASSWORD": sent})
    assert right.status_code == 201, right.content


def test_an_unknown_code_is_404_and_counts_as_a_guess(settings):
    settings.PAN_CODE_CLIENT_ALL_LIMIT = 3
    client = APIClient(REMOTE_ADDR="198.51.100.77")
    answers = [client.get("/api/requests/ABCD2345").status_code for _ in range(4)]
    assert answers == [404, 404, 404, 429]


def test_public_metadata_gives_no_totals(dana_request):
    public = APIClient().get(f"/api/requests/{dana_request['code'].replace('-', '')}").json()
    assert (public["title"], public["owner"], public["files_left"], public["bytes_left"]) == (
        "Tax papers",
        "dana",
        3,
        1000,
    )
    assert "received_files" not in public and "id" not in public
    assert "drop_pass" not in public  # large files go through tus, with no pass


def test_every_drop_and_request_action_writes_one_audit_row(api_as, dana, dana_request):
    drop(APIClient(REMOTE_ADDR="198.51.100.5"), dana_request["code"], [("a.txt", b"x")])
    client = api_as(dana)
    client.post(f"/api/requests/{dana_request['id']}/close")
    client.post(f"/api/requests/{dana_request['id']}/reopen")
    client.delete(f"/api/requests/{dana_request['id']}")
    counts = {action: AuditEvent.objects.filter(action=action).count() for action in Action}
    for action in (
        Action.REQUEST_CREATE,
        Action.DROP,
        Action.REQUEST_CLOSE,
        Action.REQUEST_REOPEN,
        Action.REQUEST_DELETE,
    ):
        assert counts[action] == 1, action
    assert counts[Action.SHARE_CREATE] == 0  # a drop is not its requester's doing
    dropped = AuditEvent.objects.get(action=Action.DROP)
    assert (dropped.actor, dropped.client, dropped.detail["files"]) == (None, "198.51.100.5", 1)


def test_deleting_a_request_removes_what_was_dropped(api_as, dana, dana_request):
    drop(APIClient(), dana_request["code"], [("a.txt", b"x")])
    assert api_as(dana).delete(f"/api/requests/{dana_request['id']}").status_code == 204
    assert not Share.objects.exists() and not Item.objects.exists()


def test_the_home_page_box_opens_a_request_by_its_code(dana_request):
    code = dana_request["code"]
    response = Client().post("/pickup/", {"code": code.lower()})
    assert response.status_code == 302 and response["Location"] == f"/r/{code.replace('-', '')}/"


def test_the_pickup_api_answers_where_to_send_files_for_a_request_code(dana_request):
    answer = APIClient().post("/api/pickup", {"code": dana_request["code"]}, format="json")
    assert answer.status_code == 200
    assert answer.json() == {
        "kind": "request",
        "title": "Tax papers",
        "owner": "dana",
        "url": f"http://testserver/r/{dana_request['code'].replace('-', '')}/",
    }
