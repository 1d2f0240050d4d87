"""One twin test for every model with a lifecycle (project/lib/lifecycle.py):
for shares, drop-off requests and short links, each row's Python state
(`row.state(now)`) is the state whose queryset (`in_state(state, now)`)
holds it, states are exclusive and cover every row, and `expired(now)` /
`live(now)` are the expired state and the states after it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dropoff.models import DropRequest, RequestState
from pan.models import Share, ShareState
from project.lib.lifecycle import EXPIRED
from shortener.models import LinkState, ShortLink

pytestmark = pytest.mark.django_db


def shares_per_state(owner, past, future, now):
    """Shares in every state, two ways where there are two (pan/tests/test_states.py uses them too)."""

    def make(**fields):
        return Share.objects.create(owner=owner, **fields)

    return {
        ShareState.ACTIVE: [make(expires_at=future, max_downloads=2, download_count=1), make(expires_at=None)],
        ShareState.UPLOADING: [make(complete=False, expires_at=future)],
        ShareState.EXPIRED: [make(expires_at=past), make(expires_at=past, max_downloads=1, download_count=1)],
        ShareState.REVOKED: [make(revoked_at=now, expires_at=past), make(revoked_at=now, complete=False)],
        ShareState.USED_UP: [
            make(max_downloads=1, download_count=1),
            make(max_downloads=1, download_count=1, complete=False),
        ],
    }


def _requests(owner, past, future, now):
    def make(**fields):
        return DropRequest.objects.create(owner=owner, max_files=2, max_bytes=100, **fields)

    return {
        RequestState.OPEN: [make(expires_at=future, received_files=1, received_bytes=99), make(expires_at=None)],
        RequestState.FULL: [make(received_files=2), make(received_bytes=100, expires_at=future)],
        RequestState.EXPIRED: [make(expires_at=past), make(expires_at=past, received_files=2)],
        RequestState.CLOSED: [make(closed_at=now), make(closed_at=now, expires_at=past, received_bytes=100)],
    }


def _links(owner, past, future, now):
    counter = iter(range(100))

    def make(**fields):
        return ShortLink.objects.create(
            owner=owner, key=f"k{next(counter)}", target_url="https://example.com/", **fields
        )

    return {
        LinkState.ACTIVE: [make(expires_at=future, max_visits=2, visit_count=1), make()],
        LinkState.PAUSED: [make(paused=True), make(paused=True, expires_at=past, max_visits=1, visit_count=1)],
        LinkState.EXPIRED: [make(expires_at=past), make(expires_at=past, max_visits=1, visit_count=1)],
        LinkState.USED_UP: [make(max_visits=1, visit_count=1), make(max_visits=1, visit_count=5, expires_at=future)],
    }


@pytest.mark.parametrize(
    ("model", "states", "rows_per_state"),
    [(Share, ShareState, shares_per_state), (DropRequest, RequestState, _requests), (ShortLink, LinkState, _links)],
    ids=["shares", "drop-off requests", "short links"],
)
def test_python_state_and_query_state_agree(model, states, rows_per_state, bob):
    now = timezone.now()
    rows = rows_per_state(bob, now - timedelta(hours=1), now + timedelta(hours=1), now)
    assert set(rows) == set(states.values), "every state has rows"
    for state, made in rows.items():
        expected = {row.pk for row in made}
        assert {row.pk for row in model.objects.in_state(state, now)} == expected, state
        assert {row.state(now) for row in model.objects.filter(pk__in=expected)} == {state}
    assert sum(model.objects.in_state(state, now).count() for state in states.values) == model.objects.count()
    assert {row.pk for row in model.objects.expired(now)} == {row.pk for row in rows[EXPIRED]}
    order = [stage.state for stage in model.lifecycle.stages] + [model.lifecycle.otherwise]
    after_expiry = order[order.index(EXPIRED) + 1 :]
    assert {row.pk for row in model.objects.live(now)} == {row.pk for state in after_expiry for row in rows[state]}
