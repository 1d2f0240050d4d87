"""Guessing limits on codes (SPEC §4.2): four layers, increment first, then
decide, so simultaneous wrong codes never get more checks than the limit."""

import threading
from io import BytesIO

import pytest
from django.test import override_settings

from pan import access
from pan.errors import CodeGuessingLimited, CodeRejected, FileLockedForCodes
from pan.models import Share
from pan.services import IncomingFile, share_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_share(dana):
    def make() -> Share:
        return share_create(owner=dana, files=[IncomingFile(BytesIO(b"x"), "x.txt")])

    return make


def wrong(share: Share) -> str:
    return "22222222" if share.code != "22222222" else "33333333"


def outcome(share: Share, code: str, client: str) -> str:
    try:
        access.share_code_check(share=share, code=code, client=client)
    except (CodeRejected, CodeGuessingLimited, FileLockedForCodes) as exc:
        return exc.code
    return "ok"


@override_settings(PAN_CODE_CLIENT_ALL_LIMIT=1000, PAN_CODE_NETWORK_LIMIT=1000, PAN_CODE_SHARE_LIMIT=1000)
def test_forty_simultaneous_wrong_codes_get_at_most_the_limit_checked(make_share, settings, monkeypatch):
    share = make_share()
    checks = []
    real_compare = access.hmac.compare_digest

    def counting_compare(a, b):
        checks.append(1)
        return real_compare(a, b)

    monkeypatch.setattr(access.hmac, "compare_digest", counting_compare)
    barrier = threading.Barrier(40)
    outcomes = []

    def guess():
        barrier.wait(timeout=10)
        outcomes.append(outcome(share, wrong(share), "198.51.100.9"))

    threads = [threading.Thread(target=guess) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    limit = settings.PAN_CODE_CLIENT_LIMIT
    # The other layers are wide open here: exactly the limit is checked.
    assert len(checks) == limit
    assert sorted(outcomes) == ["code_guessing_limited"] * (40 - limit) + ["code_rejected"] * limit


def test_a_right_code_does_not_use_up_the_allowance(make_share, settings):
    share = make_share()
    for _attempt in range(settings.PAN_CODE_CLIENT_LIMIT * 3):
        assert outcome(share, share.code, "198.51.100.9") == "ok"
    assert outcome(share, wrong(share), "198.51.100.9") == "code_rejected"


@override_settings(PAN_CODE_CLIENT_LIMIT=100, PAN_CODE_CLIENT_ALL_LIMIT=4)
def test_one_client_is_limited_across_all_shares(make_share):
    shares = [make_share() for _ in range(5)]
    results = [outcome(share, wrong(share), "198.51.100.9") for share in shares]
    assert results == ["code_rejected"] * 4 + ["code_guessing_limited"]
    # Even the right code waits, from that client only.
    assert outcome(shares[0], shares[0].code, "198.51.100.9") == "code_guessing_limited"
    assert outcome(shares[0], shares[0].code, "203.0.113.9") == "ok"


@override_settings(PAN_CODE_CLIENT_LIMIT=100, PAN_CODE_CLIENT_ALL_LIMIT=100, PAN_CODE_NETWORK_LIMIT=6)
@pytest.mark.parametrize(
    ("inside", "outside"),
    [
        ([f"198.51.100.{n}" for n in range(1, 8)], "198.51.101.1"),
        ([f"2001:db8:aa:{n:x}::1" for n in range(1, 8)], "2001:db8:ab::1"),
    ],
    ids=["IPv4 /24", "IPv6 /48"],
)
def test_one_network_is_limited_across_all_shares_and_addresses(make_share, inside, outside):
    shares = [make_share() for _ in range(7)]
    results = [outcome(share, wrong(share), client) for share, client in zip(shares, inside, strict=True)]
    assert results == ["code_rejected"] * 6 + ["code_guessing_limited"]
    assert outcome(shares[0], shares[0].code, outside) == "ok"


@override_settings(PAN_CODE_CLIENT_LIMIT=3)
def test_ipv6_clients_are_one_client_per_64(make_share):
    share = make_share()
    results = [outcome(share, wrong(share), f"2001:db8:1:2::{n:x}") for n in range(1, 5)]
    assert results == ["code_rejected"] * 3 + ["code_guessing_limited"]
    assert outcome(share, share.code, "2001:db8:1:3::1") == "ok"


@override_settings(PAN_CODE_SHARE_LIMIT=20)
def test_a_share_under_attack_locks_for_everyone_until_its_owner_regenerates(make_share, api_as, dana, api):
    share = make_share()
    other = make_share()
    results = [outcome(share, wrong(share), f"203.0.{n}.1") for n in range(21)]
    assert results == ["code_rejected"] * 20 + ["file_locked"]
    assert outcome(share, share.code, "192.0.2.1") == "file_locked"
    assert outcome(other, other.code, "192.0.2.1") == "ok"
    seen = api_as(dana).get(f"/api/shares/{share.unique_name}").json()
    assert seen["code_locked_seconds"] > 0
    response = api.get(f"/api/shares/{share.unique_name}/zip", HTTP_X_SHARE_CODE=share.code)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    new = api_as(dana).post(f"/api/shares/{share.unique_name}/code").json()
    assert new["code_locked_seconds"] == 0
    share.refresh_from_db()
    assert outcome(share, share.code, "192.0.2.1") == "ok"


def test_a_missing_code_is_refused_without_counting_as_a_guess(make_share, settings, api):
    share = make_share()
    for _attempt in range(settings.PAN_CODE_CLIENT_LIMIT * 2):
        assert outcome(share, "", "198.51.100.9") == "code_rejected"
        assert outcome(share, " - ", "198.51.100.9") == "code_rejected"
        assert api.get(f"/f/{share.unique_name}/zip").status_code == 403
    assert outcome(share, share.code, "198.51.100.9") == "ok"
    assert api.get(f"/api/shares/{share.unique_name}/zip", HTTP_X_SHARE_CODE=share.code).status_code == 200


def test_forty_simultaneous_right_codes_from_one_address_all_get_in(make_share):
    """People behind one NAT address: right codes hold a place only while checked."""
    share = make_share()
    barrier = threading.Barrier(40)
    outcomes = []

    def pick_up():
        barrier.wait(timeout=10)
        outcomes.append(outcome(share, share.code, "198.51.100.9"))

    threads = [threading.Thread(target=pick_up) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == ["ok"] * 40
