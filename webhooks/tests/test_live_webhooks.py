"""End to end: a share created through the API of a running server reaches a real receiver,
signed, through a real task worker; a 500 first, then the same webhook-id again."""

import httpx
import pytest
from standardwebhooks import Webhook

from project.testing import LiveServer, wait_until

from .helpers import Receiver

pytestmark = pytest.mark.live


def test_a_share_created_through_the_api_is_delivered_by_a_task_worker_and_retried_once():
    env = {"WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32", "WEBHOOK_RETRY_SCHEDULE": "0.2"}
    with Receiver(statuses=[500]) as receiver, LiveServer(extra_env=env, task_workers=1) as server:
        _name, token = server.uploader("hooks", "correct horse battery staple")
        auth = {"Authorization": f"Bearer {token}"}
        endpoint = httpx.post(
            f"{server.url}/api/webhooks", json={"url": receiver.url(), "events": ["share.created"]}, headers=auth
        )
        assert endpoint.status_code == 201, endpoint.text
        share = httpx.post(f"{server.url}/api/shares", files={"file": ("a.txt", b"hello")}, headers=auth)
        assert share.status_code == 201, share.text
        wait_until(lambda: len(receiver.received) == 2, timeout=30, message="a 500, then the retry")
        wait_until(
            lambda: (
                httpx.get(f"{server.url}/api/webhooks", headers=auth).json()["results"][0]["deliveries"][0]["status"]
                == "delivered"
            ),
            timeout=10,
            message="the delivery recorded as delivered",
        )
        listed = httpx.get(f"{server.url}/api/webhooks", headers=auth).json()["results"][0]["deliveries"]
    first, second = receiver.received
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == listed[0]["webhook_id"]
    secret = endpoint.json()["secret"]
    for got in receiver.received:
        payload = Webhook(secret).verify(got["body"], got["headers"])
        assert payload["type"] == "share.created" and payload["data"]["share"] == share.json()["id"]
    assert share.json()["code"] not in second["body"].decode()
    assert listed[0]["attempts"] == 2 and listed[0]["last_status_code"] == 204
