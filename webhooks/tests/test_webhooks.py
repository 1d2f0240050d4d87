"""Webhooks: the API and who may use it, the target rules (at registration and at delivery, with
a real DNS server), signed deliveries to a real receiver, retries, and each event's payload."""

import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone
from standardwebhooks import Webhook

from audit.models import AuditEvent
from jobs.worker import Worker
from pan.tests.conftest import body_of, post_share
from project.testing import released_at_once
from shortener.models import ShortLink
from shortener.services import short_link_create, short_link_visit, short_links_announce_expired
from webhooks.models import Delivery, Endpoint
from webhooks.services import DeliveryFailed, delivery_attempt

from .helpers import Nameserver, Receiver

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
ALL = ["share.created", "share.completed", "download.completed", "drop.received", "link.expired"]
PUBLIC = "93.184.215.14"  # a global address (never connected to in these tests)


@pytest.fixture
def nameserver(settings):
    with Nameserver() as running:
        settings.WEBHOOK_DNS_SERVERS = f"127.0.0.1:{running.port}"
        yield running


def register(client, url, events=("share.created",), **headers):
    return client.post("/api/webhooks", {"url": url, "events": list(events)}, format="json", **headers)


# The API and who may use it.


def test_an_owner_registers_lists_and_deletes_an_endpoint_and_sees_the_secret_once(api_as, dana, loopback, receiver):
    client = api_as(dana)
    created = register(client, receiver.url(), ["share.created", "link.expired"])
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["url"] == receiver.url() and body["events"] == ["share.created", "link.expired"]
    assert body["deliveries"] == []
    listed = client.get("/api/webhooks").json()
    assert [e["id"] for e in listed["results"]] == [body["id"]]
    assert "secret" not in listed["results"][0]
    assert AuditEvent.objects.filter(action="webhook_create", object_id=body["id"], actor=dana).exists()
    assert client.delete(f"/api/webhooks/{body['id']}").status_code == 204
    assert not Endpoint.objects.exists()
    assert AuditEvent.objects.filter(action="webhook_delete", object_id=body["id"]).exists()


def test_only_the_owner_sees_and_deletes_an_endpoint(api, api_as, alice, bob, charlie, dana, loopback, receiver):
    endpoint_id = register(api_as(dana), receiver.url()).json()["id"]
    for other in (alice, bob, charlie):  # an admin too: admins see endpoints in Django admin, not here
        assert api_as(other).get("/api/webhooks").json()["results"] == []
        assert api_as(other).delete(f"/api/webhooks/{endpoint_id}").status_code == 404
    assert api.get("/api/webhooks").status_code == 401
    assert api.delete(f"/api/webhooks/{endpoint_id}").status_code == 401
    assert register(api, receiver.url()).status_code == 401
    assert Endpoint.objects.filter(unique_name=endpoint_id).exists()
    # Any signed-in user may have their own, even without roles.
    assert register(api_as(charlie), receiver.url()).status_code == 201


def test_a_deactivated_account_gets_nothing(api_as, dana, loopback, receiver):
    register(api_as(dana), receiver.url())
    dana.is_active = False
    dana.save()
    from webhooks.services import _emit_committed

    assert _emit_committed(dana.pk, "share.created", {"type": "share.created"}) == []


@pytest.mark.parametrize(
    ("url", "events", "field"),
    [
        ("ftp://example.com/hook", ["share.created"], "url"),
        ("javascript:alert(1)", ["share.created"], "url"),
        ("https://user:pw@example.com/hook", ["share.created"], "url"),
        ("http://10.1.2.3/hook", ["share.created"], "url"),
        ("http://127.0.0.1/hook", ["share.created"], "url"),
        ("http://0x7f.1/hook", ["share.created"], "url"),
        ("http://[::1]/hook", ["share.created"], "url"),
        ("http://[::ffff:10.0.0.1]/hook", ["share.created"], "url"),
        ("http://100.64.0.1/hook", ["share.created"], "url"),
        ("http://169.254.169.254/latest", ["share.created"], "url"),
        ("http://localhost:8000/hook", ["share.created"], "url"),
        ("http://intranet/hook", ["share.created"], "url"),
        ("example.com/hook", ["share.created"], "url"),
        ("", ["share.created"], "url"),
        (None, ["share.created"], "url"),
        ("https://" + "a" * 2050 + ".com/", ["share.created"], "url"),
        (f"http://{PUBLIC}/hook", [], "events"),
        (f"http://{PUBLIC}/hook", ["share.deleted"], "events"),
        (f"http://{PUBLIC}/hook", "share.created", "events"),
        (f"http://{PUBLIC}/hook", None, "events"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_bad_input_is_a_clear_400_and_keeps_nothing(api_as, dana, url, events, field):
    answer = api_as(dana).post("/api/webhooks", {"url": url, "events": events}, format="json", **EN)
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["error"]["fields"]
    assert not Endpoint.objects.exists() and not AuditEvent.objects.filter(action="webhook_create").exists()


def test_refusals_are_in_the_callers_language(api_as, dana):
    answer = api_as(dana).post(
        "/api/webhooks", {"url": "http://10.0.0.1/", "events": ["share.created"]}, format="json", **ZH
    )
    assert answer.status_code == 400
    message = answer.json()["error"]["fields"]["url"][0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message


def test_an_owner_has_at_most_webhooks_per_user(api_as, dana, bob, settings, loopback, receiver):
    settings.WEBHOOKS_PER_USER = 2
    client = api_as(dana)
    assert [register(client, receiver.url(path=f"/{n}")).status_code for n in range(3)] == [201, 201, 400]
    assert register(client, receiver.url()).json()["error"]["code"] == "too_many_webhooks"
    assert Endpoint.objects.filter(owner=dana).count() == 2
    assert register(api_as(bob), receiver.url()).status_code == 201  # per owner


# Names: every answer checked, at registration and again at delivery.


def test_a_name_that_resolves_to_a_private_address_is_refused(api_as, dana, nameserver):
    nameserver.zone.names["inside.example.com"] = ["10.0.0.7"]
    nameserver.zone.names["mixed.example.com"] = [PUBLIC, "127.0.0.1"]
    nameserver.zone.names["six.example.com"] = ["fd00::1"]
    for name in ("inside.example.com", "mixed.example.com", "six.example.com", "missing.example.com"):
        answer = register(api_as(dana), f"https://{name}/hook", **EN)
        assert answer.status_code == 400, name
    assert "inside.example.com" in nameserver.zone.asked
    assert not Endpoint.objects.exists()


def test_a_name_that_turns_private_after_registration_is_never_called(api_as, dana, nameserver, receiver):
    """DNS rebinding: public when registered, 127.0.0.1 (not allowed here) when delivering."""
    nameserver.zone.names["rebind.example.com"] = [PUBLIC]
    created = register(api_as(dana), receiver.url(host="rebind.example.com"), ["share.created"])
    assert created.status_code == 201, created.content
    nameserver.zone.names["rebind.example.com"] = ["127.0.0.1"]
    delivery = Delivery.objects.create(
        endpoint=Endpoint.objects.get(), event="share.created", message_id="msg_rebind", body="{}"
    )
    with pytest.raises(DeliveryFailed, match="refused"):
        delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.last_status_code is None and "refused" in delivery.last_error
    assert delivery.status == "pending" and delivery.next_attempt_at is not None
    assert receiver.received == []


def test_a_name_inside_the_allowed_networks_is_reached_at_the_checked_address_with_its_host(
    api_as, dana, nameserver, receiver, loopback
):
    nameserver.zone.names["hooks.test.example"] = ["127.0.0.1"]
    created = register(api_as(dana), receiver.url(host="hooks.test.example"), ["share.created"])
    assert created.status_code == 201, created.content
    delivery = Delivery.objects.create(
        endpoint=Endpoint.objects.get(), event="share.created", message_id="msg_named", body='{"a":1}'
    )
    assert delivery_attempt(delivery_id=delivery.pk) == "delivered: 204"
    [got] = receiver.received
    assert got["headers"]["Host"] == f"hooks.test.example:{receiver.port}"
    Webhook(created.json()["secret"]).verify(got["body"], got["headers"])


# Delivery: signed, retried with the same webhook-id, through a task worker.


@pytest.mark.django_db(transaction=True)
def test_a_failed_delivery_is_retried_with_the_same_webhook_id_until_a_2xx(api_as, dana, settings, loopback):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.WEBHOOK_RETRY_SCHEDULE = "0"
    with Receiver(statuses=[500, 302]) as receiver:
        secret = register(api_as(dana), receiver.url(), ALL).json()["secret"]
        created = post_share(api_as(dana), [("a.txt", b"hello")])
        assert created.status_code == 201
        worker = Worker(interval=0)
        ran = 0
        while ran < 5 and worker.run_once():
            ran += 1
        assert len(receiver.received) == 3
    ids = {got["headers"]["webhook-id"] for got in receiver.received}
    assert len(ids) == 1
    for got in receiver.received:
        payload = Webhook(secret).verify(got["body"], got["headers"])
        assert payload["type"] == "share.created"
        assert payload["data"]["share"] == created.json()["id"]
        assert created.json()["code"] not in got["body"].decode()
    delivery = Delivery.objects.get()
    assert delivery.message_id in ids
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 204)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    listed = api_as(dana).get("/api/webhooks").json()["results"][0]["deliveries"]
    assert listed[0]["webhook_id"] == delivery.message_id and listed[0]["attempts"] == 3
    assert listed[0]["last_status_code"] == 204 and listed[0]["status"] == "delivered"


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_keeps_failing_is_given_up_after_its_tries_and_only_a_prefix_is_kept(
    api_as, dana, settings, loopback
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.WEBHOOK_RETRY_SCHEDULE = "0"
    with Receiver(statuses=[500] * 20) as receiver:
        register(api_as(dana), receiver.url(), ["share.created"])
        post_share(api_as(dana), [("a.txt", b"hello")])
        worker = Worker(interval=0)
        ran = 0
        while ran < 12 and worker.run_once():
            ran += 1
        assert len(receiver.received) == 7
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 7, 500)
    assert len(delivery.last_response) == 1024 and delivery.next_attempt_at is None


def test_the_retry_schedule_starts_within_a_minute_and_spans_hours():
    from jobs.services import attempts_of, retry_delay
    from webhooks.services import DELIVERY_TASK

    delays = [retry_delay(n, DELIVERY_TASK) for n in range(1, attempts_of(DELIVERY_TASK))]
    assert delays[0] <= 60 and len(delays) + 1 >= 5 and sum(delays) >= 3600


def test_a_closed_port_and_a_silent_receiver_are_failures_with_their_error(api_as, dana, settings, loopback):
    import socket

    from project.testing import refusing_port

    endpoint = Endpoint.objects.create(
        owner=dana, url=f"http://127.0.0.1:{refusing_port()}/", events=ALL, secret="whsec_" + "A" * 44
    )
    delivery = Delivery.objects.create(endpoint=endpoint, event="share.created", message_id="msg_closed", body="{}")
    with pytest.raises(DeliveryFailed):
        delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.last_status_code is None and "Connection" in delivery.last_error
    settings.WEBHOOK_TIMEOUT = 0.3
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        endpoint.url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        endpoint.save()
        with pytest.raises(DeliveryFailed):
            delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert "no answer" in delivery.last_error and delivery.attempts == 2


# Each event: the right payload, for the right owner, after commit.


@pytest.fixture
def hooks(api_as, alice, bob, dana, loopback, django_capture_on_commit_callbacks):
    """dana and bob each have an endpoint for every event; returns (receiver, run) where run(fn)
    calls fn and then the after-commit callbacks it queued (deliveries run at once in tests)."""
    with Receiver() as receiver:
        for user in (dana, bob):
            assert register(api_as(user), receiver.url(path=f"/{user.username}"), ALL).status_code == 201

        def run(action):
            with django_capture_on_commit_callbacks(execute=True):
                result = action()
            return result

        yield receiver, run


def _payloads(receiver, owner):
    return [json.loads(got["body"]) for got in receiver.received if got["path"] == f"/{owner}"]


def test_share_created_and_completed_go_to_the_owner_only(api_as, dana, hooks):
    receiver, run = hooks
    created = run(lambda: post_share(api_as(dana), [("a.txt", b"hello")], uploading="true"))
    assert created.status_code == 201, created.content
    share = created.json()
    completed = run(lambda: api_as(dana).patch(f"/api/shares/{share['id']}", {"complete": True}, format="json"))
    assert completed.status_code == 200, completed.content
    payloads = _payloads(receiver, "dana")
    assert [p["type"] for p in payloads] == ["share.created", "share.completed"]
    assert payloads[0]["data"]["share"] == share["id"] and payloads[0]["data"]["complete"] is False
    assert payloads[1]["data"]["complete"] is True and payloads[1]["data"]["items"] == 1
    assert _payloads(receiver, "bob") == []
    for got in receiver.received:
        assert share["code"] not in got["body"].decode()


def test_download_completed_goes_to_the_owner(api, api_as, dana, hooks):
    receiver, run = hooks
    share = run(lambda: post_share(api_as(dana), [("a.txt", b"hello")])).json()
    [item] = share["items"]
    url = f"/api/shares/{share['id']}/items/{item['id']}/content?code={share['code']}"
    answer = run(lambda: body_of(api.get(url)))
    assert answer == b"hello"
    downloads = [p for p in _payloads(receiver, "dana") if p["type"] == "download.completed"]
    assert len(downloads) == 1
    assert downloads[0]["data"]["share"] == share["id"] and downloads[0]["data"]["downloads"] == 1
    assert _payloads(receiver, "bob") == []
    assert share["code"] not in json.dumps(downloads)


def test_drop_received_goes_to_the_requester(api, api_as, dana, hooks):
    receiver, run = hooks
    made = run(lambda: api_as(dana).post("/api/requests", {"title": "Scans"}, format="json"))
    assert made.status_code == 201, made.content
    code = made.json()["code"]
    dropped = run(lambda: post_share(api, [("scan.pdf", b"%PDF")], path=f"/api/requests/{code}/drops", name="Eve"))
    assert dropped.status_code == 201, dropped.content
    [drop] = [p for p in _payloads(receiver, "dana") if p["type"] == "drop.received"]
    assert drop["data"]["request"] == made.json()["id"] and drop["data"]["name"] == "Eve"
    assert drop["data"]["files"] == 1 and code.replace("-", "") not in json.dumps(drop).replace("-", "")
    assert not [p for p in _payloads(receiver, "dana") if p["type"] == "share.created"]  # a drop is not dana's doing
    assert _payloads(receiver, "bob") == []


def test_link_expired_once_when_used_up_and_once_when_its_time_passes(dana, bob, hooks):
    receiver, run = hooks
    used, _ = short_link_create(owner=dana, url="https://example.com/a", max_visits=2)
    timed, _ = short_link_create(
        owner=dana, url="https://example.com/b", expires_at=timezone.now() + timedelta(hours=1)
    )
    run(lambda: async_to_sync(short_link_visit)(key=used.key))
    assert _payloads(receiver, "dana") == []
    run(lambda: async_to_sync(short_link_visit)(key=used.key))
    [expired] = _payloads(receiver, "dana")
    assert expired["type"] == "link.expired" and expired["data"] == {"link": used.key, "reason": "visits", "visits": 2}
    later = timezone.now() + timedelta(hours=2)
    assert run(lambda: short_links_announce_expired(now=later)) == 1
    assert run(lambda: short_links_announce_expired(now=later)) == 0  # each link once
    payloads = _payloads(receiver, "dana")
    assert [p["data"]["link"] for p in payloads] == [used.key, timed.key]
    assert payloads[1]["data"]["reason"] == "time"
    assert ShortLink.objects.filter(expiry_announced_at__isnull=True).count() == 0
    assert _payloads(receiver, "bob") == []


def test_the_expiry_scan_is_a_registered_periodic_job():
    from jobs.services import PERIODIC

    job = PERIODIC["short_links_expired"]
    assert job.task_path == "shortener.tasks.short_links_announce_expired"


def test_finished_deliveries_are_forgotten_after_they_are_kept(dana, settings):
    from webhooks.tasks import deliveries_prune

    endpoint = Endpoint.objects.create(owner=dana, url=f"http://{PUBLIC}/", events=ALL, secret="whsec_" + "A" * 44)
    old = timezone.now() - timedelta(days=settings.WEBHOOK_DELIVERIES_KEEP + 1)
    for n, status in enumerate(["delivered", "failed", "pending"]):
        Delivery.objects.create(
            endpoint=endpoint, event="share.created", message_id=f"msg_{n}", body="{}", status=status, created_at=old
        )
    Delivery.objects.create(
        endpoint=endpoint, event="share.created", message_id="msg_new", body="{}", status="delivered"
    )
    assert deliveries_prune.call() == 2
    assert sorted(Delivery.objects.values_list("message_id", flat=True)) == ["msg_2", "msg_new"]


@pytest.mark.django_db(transaction=True)
def test_twelve_registrations_at_once_stay_within_webhooks_per_user(dana, token_for, settings, loopback):
    from rest_framework.test import APIClient

    settings.WEBHOOKS_PER_USER = 3
    token = token_for(dana)

    def register(index: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        body = {"url": f"http://127.0.0.1:9/hook-{index}", "events": ["share.created"]}
        return client.post("/api/webhooks", body, format="json").status_code

    statuses = released_at_once(register, 12)
    assert sorted(statuses) == [201] * 3 + [400] * 9
    assert Endpoint.objects.filter(owner=dana).count() == 3
