"""What `purge_expired` removes, state by state (the twin test of the
states themselves is project/tests/test_lifecycle.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from pan.models import Share, ShareState
from project.tests.test_lifecycle import shares_per_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_share_per_state(dana):
    now = timezone.now()
    return shares_per_state(dana, now - timedelta(hours=1), now + timedelta(hours=1), now)


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
