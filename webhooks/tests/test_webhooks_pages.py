"""`/account/webhooks/` through the Django test client and the whole stack: the list, adding one
(the secret shown once), deleting, recent deliveries with their status codes (from a real
receiver), CSRF, Chinese, who may see and delete what, and bad input shown on the page."""

import re

import pytest
from django.test import Client

from audit.models import AuditEvent
from webhooks.models import Delivery, Endpoint
from webhooks.services import webhook_emit

from .helpers import Receiver

pytestmark = pytest.mark.django_db
PAGE = "/account/webhooks/"
SECRET_IN_PAGE = re.compile(r'id="webhook-secret" value="(whsec_[A-Za-z0-9+/=]+)"')
ZH = "zh-CN,zh;q=0.9"


def signed_in(user, language="en", **extra) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language, **extra)
    client.force_login(user)
    return client


def add(client, url, events=("share.created",)):
    return client.post(PAGE, {"action": "create", "url": url, "events": list(events)})


def test_an_owner_adds_sees_the_secret_once_and_deletes(dana, loopback, receiver):
    client = signed_in(dana)
    empty = client.get(PAGE)
    assert empty.status_code == 200
    assert 'id="webhooks"' not in empty.content.decode() and "No webhooks yet." in empty.content.decode()

    made = add(client, receiver.url(), ["share.created", "link.expired"])
    assert made.status_code == 200
    assert made["Cache-Control"] == "no-store"
    page = made.content.decode()
    endpoint = Endpoint.objects.get(owner=dana)
    assert SECRET_IN_PAGE.search(page).group(1) == endpoint.secret
    assert 'data-copy="#webhook-secret"' in page
    assert endpoint.url == receiver.url() and endpoint.events == ["share.created", "link.expired"]
    assert f'data-id="{endpoint.unique_name}"' in page
    # The form is empty again after a success (no second endpoint by a careless re-submit).
    assert 'name="url" maxlength="2048" required value=""' in page
    assert AuditEvent.objects.filter(action="webhook_create", actor=dana, object_id=endpoint.unique_name).exists()

    listed = client.get(PAGE).content.decode()
    assert endpoint.secret not in listed and "whsec_" not in listed
    assert receiver.url() in listed and "share.created" in listed and "link.expired" in listed
    assert 'href="/account/"' in listed  # the way back to the hub

    gone = client.post(PAGE, {"action": "delete", "id": endpoint.unique_name})
    assert gone.status_code == 302 and gone["Location"] == PAGE
    assert not Endpoint.objects.exists()
    after = client.get(PAGE).content.decode()
    assert f"The webhook to {receiver.url()} is deleted." in after
    assert AuditEvent.objects.filter(action="webhook_delete", actor=dana, object_id=endpoint.unique_name).exists()


def emitted(capture, owner, share: str) -> Delivery:
    """`share.created` for `owner`, after commit; the tests' task backend tries it at once."""
    with capture(execute=True):
        webhook_emit(owner_id=owner.pk, event="share.created", data={"share": share})
    return Delivery.objects.get(endpoint__owner=owner, body__contains=f'"share":"{share}"')


def test_recent_deliveries_are_listed_with_their_status_codes(dana, bob, loopback, django_capture_on_commit_callbacks):
    with Receiver(statuses=[500, 204]) as failing_then_ok, Receiver(statuses=[204]) as ok:
        add(signed_in(dana), failing_then_ok.url("127.0.0.1", "/flaky"), ["share.created"])
        add(signed_in(bob), ok.url("127.0.0.1", "/bobs"), ["share.created"])
        first = emitted(django_capture_on_commit_callbacks, dana, "first")  # 500: a failed try
        second = emitted(django_capture_on_commit_callbacks, dana, "second")  # 204
        bobs = emitted(django_capture_on_commit_callbacks, bob, "bobs")
    assert (first.status, first.last_status_code) == ("pending", 500)
    assert (second.status, second.last_status_code) == ("delivered", 204)
    page = signed_in(dana).get(PAGE).content.decode()
    rows = re.findall(r'<tr data-webhook-id="([^"]+)" data-status="([a-z]+)">(.*?)</tr>', page, re.S)
    by_id = {message_id: (status, cells) for message_id, status, cells in rows}
    assert set(by_id) == {first.message_id, second.message_id}  # only dana's, not bob's
    assert bobs.message_id not in page
    status, cells = by_id[first.message_id]
    assert status == "pending" and "HTTP 500" in cells and "next try" in cells
    status, cells = by_id[second.message_id]
    assert status == "delivered" and "HTTP 204" in cells
    assert page.index(second.message_id) < page.index(first.message_id)  # newest first
    zh = signed_in(dana, ZH).get(PAGE).content.decode()
    assert "最近的投递" in zh and "HTTP 500" in zh


def test_a_delivery_that_found_nobody_shows_its_error(dana, loopback, django_capture_on_commit_callbacks):
    from project.testing import refusing_port

    add(signed_in(dana), f"http://127.0.0.1:{refusing_port()}/hook")
    delivery = emitted(django_capture_on_commit_callbacks, dana, "x")
    assert delivery.last_error and delivery.last_status_code is None
    page = signed_in(dana).get(PAGE).content.decode()
    assert f'class="webhook-error">{delivery.last_error}</span>' in page


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(client, dana, loopback, receiver):
    endpoint = Endpoint.objects.get(unique_name=_added_id(dana, receiver))
    answer = client.get(PAGE)
    assert answer.status_code == 302 and answer["Location"].startswith("/login/?next=")
    assert add(client, receiver.url()).status_code == 302
    assert client.post(PAGE, {"action": "delete", "id": endpoint.unique_name}).status_code == 302
    assert list(Endpoint.objects.values_list("pk", flat=True)) == [endpoint.pk]


def _added_id(user, receiver) -> str:
    made = add(signed_in(user), receiver.url())
    assert made.status_code == 200, made.content
    return Endpoint.objects.filter(owner=user).latest("created_at").unique_name


@pytest.mark.parametrize("persona", ["alice", "bob", "charlie"])
def test_nobody_sees_or_deletes_anothers_endpoint(request, persona, dana, loopback, receiver):
    endpoint_id = _added_id(dana, receiver)
    other = signed_in(request.getfixturevalue(persona))
    page = other.get(PAGE)
    assert page.status_code == 200  # an admin (alice) too: admins see endpoints in Django admin
    assert endpoint_id not in page.content.decode() and receiver.url() not in page.content.decode()
    refused = other.post(PAGE, {"action": "delete", "id": endpoint_id})
    assert refused.status_code == 404
    assert 'role="alert"' in refused.content.decode() and "No such webhook." in refused.content.decode()
    assert receiver.url() not in refused.content.decode()
    assert Endpoint.objects.filter(unique_name=endpoint_id).exists()
    assert not AuditEvent.objects.filter(action="webhook_delete").exists()


@pytest.mark.parametrize("persona", ["alice", "bob", "charlie", "dana"])
def test_every_signed_in_persona_may_have_their_own(request, persona, loopback, receiver):
    user = request.getfixturevalue(persona)
    client = signed_in(user)
    assert add(client, receiver.url()).status_code == 200
    endpoint = Endpoint.objects.get(owner=user)
    assert endpoint.unique_name in client.get(PAGE).content.decode()
    assert client.post(PAGE, {"action": "delete", "id": endpoint.unique_name}).status_code == 302
    assert not Endpoint.objects.exists()


def test_the_page_needs_the_csrf_token(dana, loopback, receiver):
    endpoint_id = _added_id(dana, receiver)
    client = Client(enforce_csrf_checks=True)
    client.force_login(dana)
    assert add(client, receiver.url("127.0.0.1", "/other")).status_code == 403
    assert client.post(PAGE, {"action": "delete", "id": endpoint_id}).status_code == 403
    assert list(Endpoint.objects.values_list("unique_name", flat=True)) == [endpoint_id]


def test_the_page_speaks_chinese(dana, loopback, receiver):
    client = signed_in(dana, ZH)
    page = client.get(PAGE).content.decode()
    assert '<html lang="zh-hans">' in page
    assert "添加 Webhook" in page and "还没有 Webhook。" in page and "创建了分享" in page
    made = add(client, receiver.url()).content.decode()
    assert "复制密钥" in made and SECRET_IN_PAGE.search(made)


@pytest.mark.parametrize(
    ("form", "english", "chinese"),
    [
        ({"url": "http://10.1.2.3/hook"}, "private, loopback or local network", "私有、回环或本地网络"),
        ({"url": "http://localhost:8000/hook"}, "private, loopback or local network", "私有、回环或本地网络"),
        ({"url": "http://169.254.169.254/latest"}, "private, loopback or local network", "私有、回环或本地网络"),
        ({"url": "ftp://127.0.0.1/hook"}, "only to http and https", "http"),
        ({"url": "https://user:pw@127.0.0.1/hook"}, None, None),
        ({"url": "example.com/hook"}, None, None),
        ({"url": ""}, "Enter a URL.", None),
        ({"url": "http://127.0.0.1/" + "a" * 3000}, "longer than 2048", "2048"),
        ({"events": []}, "Choose one or more events", "请从列表中选择"),
        ({"events": ["share.deleted"]}, "Choose one or more events", "请从列表中选择"),
        ({"events": ["share.created", "<b>x</b>"]}, "Choose one or more events", "请从列表中选择"),
    ],
    ids=[
        "private",
        "localhost",
        "link-local",
        "ftp",
        "credentials",
        "no-scheme",
        "empty",
        "too-long",
        "no-events",
        "unknown-event",
        "markup-event",
    ],
)
def test_bad_input_is_shown_on_the_page_in_the_callers_language_and_nothing_is_kept(
    dana, loopback, form, english, chinese
):
    fields = {"action": "create", "url": "http://127.0.0.1:9/hook", "events": ["share.created"], **form}
    audits = AuditEvent.objects.count()
    for language, expected in (("en", english), (ZH, chinese)):
        answer = signed_in(dana, language).post(PAGE, fields)
        assert answer.status_code == 400, (language, fields)
        page = answer.content.decode()
        alert = re.search(r'<div class="errors" role="alert" id="webhook-error">(.*?)</div>', page, re.S)
        assert alert, page
        if expected:
            assert expected in alert.group(1), alert.group(1)
        if language == ZH:
            assert re.search(r"[\u4e00-\u9fff]", alert.group(1)), alert.group(1)  # not left in English
        assert "<b>x</b>" not in page
        assert "whsec_" not in page
        # What was typed stays in the form, to be corrected.
        if fields["url"] and len(fields["url"]) < 200:
            assert f'value="{fields["url"]}"' in page.replace("&amp;", "&")
        assert " open>" in page  # the form stays open
    assert not Endpoint.objects.exists()
    assert AuditEvent.objects.count() == audits


def test_too_many_is_refused_on_the_page(dana, settings, loopback, receiver):
    settings.WEBHOOKS_PER_USER = 1
    _added_id(dana, receiver)
    refused = add(signed_in(dana, ZH), receiver.url("127.0.0.1", "/second"))
    assert refused.status_code == 400
    assert "每个账户的上限（1 个）" in refused.content.decode()
    assert Endpoint.objects.count() == 1


@pytest.mark.parametrize(
    "given",
    ["", "abc", "x" * 5000, "-1", "١", "'; DROP TABLE x;--"],
    ids=["empty", "text", "huge", "neg", "arabic", "sql"],
)
def test_deleting_no_endpoint_is_a_404_on_the_page(dana, loopback, receiver, given):
    endpoint_id = _added_id(dana, receiver)
    answer = signed_in(dana).post(PAGE, {"action": "delete", "id": given})
    assert answer.status_code == 404 and 'role="alert"' in answer.content.decode()
    assert Endpoint.objects.filter(unique_name=endpoint_id).exists()


def test_an_unknown_action_changes_nothing(dana, loopback, receiver):
    endpoint_id = _added_id(dana, receiver)
    client = signed_in(dana)
    for form in ({"action": "update", "id": endpoint_id, "url": "http://127.0.0.1:1/"}, {}):
        assert client.post(PAGE, form).status_code == 302
    assert list(Endpoint.objects.values_list("unique_name", "url")) == [(endpoint_id, receiver.url())]
    assert client.put(PAGE).status_code == 405


def test_a_url_with_markup_is_escaped(dana, loopback):
    url = 'http://127.0.0.1:9/a"><script>alert(1)</script>'
    answer = add(signed_in(dana), url)
    page = answer.content.decode()
    assert "<script>alert(1)</script>" not in page
    if answer.status_code == 200:
        assert "&lt;script&gt;" in signed_in(dana).get(PAGE).content.decode()
