"""What `purge_expired` removes, state by state (the twin test of the
states themselves is project/tests/test_lifecycle.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from pan.models import Share, ShareState

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_share_per_state(dana):
    now = timezone.now()
    past, future = now - timedelta(hours=1), now + timedelta(hours=1)

    def make(**fields):
        return Share.objects.create(owner=dana, **fields)

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


def test_purgeable_is_expired_used_up_long_revoked_and_abandoned(one_share_per_state, settings):
    now = timezone.now()
    purgeable = set(Share.objects.purgeable(now).values_list("pk", flat=True))
    expected = {s.pk for s in one_share_per_state[ShareState.EXPIRED] + one_share_per_state[ShareState.USED_UP]}
    assert purgeable == expected
    later = now + timedelta(seconds=max(settings.PAN_REVOKED_RETENTION, settings.PAN_UPLOAD_LEFTOVER_AGE) + 1)
    revoked_and_abandoned = {
        s.pk for s in one_share_per_state[ShareState.REVOKED] + one_share_per_state[ShareState.UPLOADING]
    }
    assert revoked_and_abandoned <= set(Share.objects.purgeable(later).values_list("pk", flat=True))
