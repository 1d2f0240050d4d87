"""Django admin for shares: the list and its state filter, the items and
grants inlines, and actions and deletes that go through the services."""

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.admin import helpers
from django.core.files.storage import default_storage
from django.test import Client

from pan import services
from pan.access import code_guessing_locked_for
from pan.models import Share, ShareState

from .conftest import body_of

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
CHANGELIST = "/admin/pan/share/"


def make_share(owner, title, files=(("dir/a.txt", b"alpha"), ("b.txt", b"beta")), **fields) -> Share:
    incoming = [services.IncomingFile(io.BytesIO(data), name) for name, data in files]
    return services.share_create(owner=owner, files=incoming, title=title, **fields)


@pytest.fixture
def admin_client(alice):
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def one_of_each(dana):
    """A share in every state, titled by its state."""
    shares = {
        ShareState.ACTIVE: make_share(dana, "state-active"),
        ShareState.UPLOADING: services.share_create(owner=dana, files=[], title="state-uploading", uploading=True),
        ShareState.REVOKED: services.share_revoke(share=make_share(dana, "state-revoked")),
        ShareState.USED_UP: make_share(dana, "state-used_up", max_downloads=1),
    }
    Share.objects.filter(pk=shares[ShareState.USED_UP].pk).update(download_count=1)
    with time_machine.travel(datetime.now(tz=UTC) - timedelta(days=3)):
        shares[ShareState.EXPIRED] = make_share(dana, "state-expired", expires_in=3600)
    for state, share in shares.items():
        assert Share.objects.get(pk=share.pk).state() == state
    return shares


def action(client, name: str, *shares, **extra):
    data = {"action": name, helpers.ACTION_CHECKBOX_NAME: [share.pk for share in shares], "index": 0, **extra}
    return client.post(CHANGELIST, data, **EN)


def test_only_admins_reach_the_share_admin(dana, bob):
    for user in (dana, bob):
        client = Client()
        client.force_login(user)
        response = client.get(CHANGELIST)
        assert response.status_code == 403 and "Administrators only" in response.content.decode()


def test_the_list_shows_every_share_with_its_state_and_item_count(admin_client, one_of_each):
    html = admin_client.get(CHANGELIST, **EN).content.decode()
    for state in one_of_each:
        assert f"state-{state}" in html
        assert str(ShareState(state).label) in html
    assert html.count('<td class="field-item_count">2</td>') == 4  # the uploading share has none yet
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403  # shares come from the upload service


@pytest.mark.parametrize("state", ShareState.values)
def test_the_state_filter_lists_exactly_the_shares_in_that_state(admin_client, one_of_each, state):
    html = admin_client.get(f"{CHANGELIST}?state={state}", **EN).content.decode()
    for other, share in one_of_each.items():
        listed = f'href="{CHANGELIST}{share.pk}/change/' in html
        assert listed is (other == state), (state, other)


def test_the_change_page_shows_items_and_download_grants_inline(admin_client, dana):
    share = make_share(dana, "inline", max_downloads=2)
    recipient = Client()
    recipient.post(f"/f/{share.unique_name}/", {"code": share.code})
    body_of(recipient.get(f"/f/{share.unique_name}/items/{share.items.first().pk}/download"))
    grant = share.grants.get()
    html = admin_client.get(f"{CHANGELIST}{share.pk}/change/", **EN).content.decode()
    assert "dir/a.txt" in html and "b.txt" in html and share.items.first().sha256 in html
    assert "download grants and leases" in html.lower() and grant.key in html


def test_revoke_restore_and_new_code_actions_use_the_services(admin_client, dana, settings):
    share = make_share(dana, "acted on")
    response = action(admin_client, "revoke", share)
    assert response.status_code == 302
    assert Share.objects.get(pk=share.pk).state() == ShareState.REVOKED
    assert "Revoked 1 share." in admin_client.get(CHANGELIST, **EN).content.decode()
    action(admin_client, "restore", share)
    assert Share.objects.get(pk=share.pk).state() == ShareState.ACTIVE
    # Lock the share against codes; only the service's new code lifts the lock.
    settings.PAN_CODE_SHARE_LIMIT = 1
    for number in range(2):
        guesser = Client()
        guesser.post(f"/f/{share.unique_name}/", {"code": "ZZZZ-ZZZZ"}, REMOTE_ADDR=f"10.{number}.0.1")
    assert code_guessing_locked_for(share=share) > 0
    action(admin_client, "regenerate_code", share)
    renewed = Share.objects.get(pk=share.pk)
    assert renewed.code != share.code
    assert code_guessing_locked_for(share=share) == 0


def test_deleting_in_admin_removes_the_stored_bytes(admin_client, dana, django_capture_on_commit_callbacks):
    one = make_share(dana, "one")
    two = make_share(dana, "two")
    three = make_share(dana, "three")
    keys = {share.pk: list(share.items.values_list("storage_key", flat=True)) for share in (one, two, three)}
    assert all(default_storage.exists(key) for share_keys in keys.values() for key in share_keys)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"{CHANGELIST}{one.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        action(admin_client, "delete_selected", two, three, post="yes")
    assert not Share.objects.exists()
    assert not any(default_storage.exists(key) for share_keys in keys.values() for key in share_keys)
