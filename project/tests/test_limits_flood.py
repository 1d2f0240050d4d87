"""SPEC §8: attempt limits live where no request can evict them.

A flood of distinct keys between bursts of wrong share codes, wrong
pickups, wrong passwords and rate-limited requests leaves every layer
exact: the share stays locked, the client's limits (on one share, on all
shares), the network's limit and the login limit still refuse, the rate
limiter still refuses, each after exactly its number of attempts. Whichever store is configured (the embedded default,
or Redis with `REDIS_URL`) is the one exercised.

Each flood puts 10 000 distinct short-link keys into the default cache the
way `GET /s/<random>` does (the shortener's own negative-lookup entry) and
sends a few hundred real requests through the stack: `/s/<random>` and
rate-limited requests from distinct clients (each opens a window of its
own). 10 000 real requests take about 65 s through the test client here
(6.5 ms each), three floods over three minutes: too slow for every run.
"""

import secrets
from io import BytesIO

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from conftest import PASSWORD
from pan.services import IncomingFile, share_create
from shortener import services as shortener_services

pytestmark = pytest.mark.django_db

FLOOD_KEYS = 10_000
REAL_SHORT_LINK_VISITS = 300
REAL_RATE_LIMITED_CLIENTS = 200
ATTACKER = "198.51.100.7"
LOGIN_CLIENT = "192.0.2.50"
RATE_CLIENT = "192.0.2.77"


def flood(client: Client) -> None:
    """Fill the default cache with distinct keys, as unknown short links do, then real requests."""
    default = caches["default"]
    for start in range(0, FLOOD_KEYS, 1000):
        entries = {
            shortener_services._cache_key(secrets.token_hex(6)): shortener_services._MISSING
            for _ in range(start, start + 1000)
        }
        default.set_many(entries, shortener_services._MISSING_SECONDS)
    for _ in range(REAL_SHORT_LINK_VISITS):
        assert client.get(f"/s/{secrets.token_hex(6)}").status_code == 404
    for n in range(REAL_RATE_LIMITED_CLIENTS):
        # Distinct clients under a rate limit: each opens a window where the limits live.
        client.get("/api/me", REMOTE_ADDR=f"10.{n // 250}.{n % 250}.9")


def wrong_code(code: str) -> str:
    return "22222222" if code != "22222222" else "33333333"


def random_code() -> str:
    return "".join(secrets.choice("23456789ABCDEFGHJKMNPQRSTUVWXYZ") for _ in range(8))


@override_settings(RATE_LIMITS={"/api/me": (3, 3600)})
def test_a_flood_of_distinct_keys_never_resets_a_counter_or_a_lock(dana, bob, settings):
    share = share_create(owner=dana, files=[IncomingFile(BytesIO(b"x"), "x.txt")])
    zip_path = f"/api/shares/{share.unique_name}/zip"
    client = Client()
    per_client, share_limit = settings.PAN_CODE_CLIENT_LIMIT, settings.PAN_CODE_SHARE_LIMIT
    guessers = [f"203.0.{n}.1" for n in range(share_limit // per_client)]
    assert len(guessers) * per_client == share_limit
    half = len(guessers) // 2
    pickups, logins = settings.PAN_CODE_CLIENT_ALL_LIMIT, settings.LOGIN_FAILURE_LIMIT

    def guess_share(addresses) -> list[int]:
        return [
            client.get(zip_path, HTTP_X_SHARE_CODE=wrong_code(share.code), REMOTE_ADDR=address).status_code
            for address in addresses
            for _ in range(per_client)
        ]

    def pick_up(count: int, address: str = ATTACKER) -> list[int]:
        return [
            client.post(
                "/api/pickup", {"code": random_code()}, content_type="application/json", REMOTE_ADDR=address
            ).status_code
            for _ in range(count)
        ]

    # The attacker's neighbours in its /24 fill the network layer to its limit.
    network_left = settings.PAN_CODE_NETWORK_LIMIT - pickups
    neighbours = [f"198.51.100.{8 + n}" for n in range(-(-network_left // pickups))]
    network_share = [min(pickups, network_left - n * pickups) for n in range(len(neighbours))]

    def log_in(count: int, password: str = "wrong-Password-1") -> list[int]:  # noqa: S107 - a wrong one
        return [
            client.post(
                "/api/login",
                {"username": "bob", "password": password},
                content_type="application/json",
                REMOTE_ADDR=LOGIN_CLIENT,
            ).status_code
            for _ in range(count)
        ]

    def rate_limited(count: int) -> list[int]:
        return [client.get("/api/me", REMOTE_ADDR=RATE_CLIENT).status_code for _ in range(count)]

    # First halves of every budget, a flood, the second halves, a flood.
    assert guess_share(guessers[:half]) == [403] * (half * per_client)
    assert set(pick_up(pickups // 2)) <= {403, 404}
    assert log_in(logins // 2) == [401] * (logins // 2)
    assert rate_limited(1) == [401]
    assert set(pick_up(network_share[0], neighbours[0])) <= {403, 404}
    flood(client)
    assert guess_share(guessers[half:]) == [403] * ((len(guessers) - half) * per_client)
    assert set(pick_up(pickups - pickups // 2)) <= {403, 404}
    assert log_in(logins - logins // 2) == [401] * (logins - logins // 2)
    assert rate_limited(2) == [401, 401]
    for neighbour, count in zip(neighbours[1:], network_share[1:], strict=True):
        assert set(pick_up(count, neighbour)) <= {403, 404}
    flood(client)

    # Every layer is exactly full: the next attempt is refused, even a right one.
    locked = client.get(zip_path, HTTP_X_SHARE_CODE=share.code, REMOTE_ADDR="192.0.2.200")
    assert locked.status_code == 429, "the share opened again"
    assert locked.json()["error"]["code"] == "file_locked"
    refused = client.post("/api/pickup", {"code": share.code}, content_type="application/json", REMOTE_ADDR=ATTACKER)
    assert refused.status_code == 429, refused.content
    assert refused.json()["error"]["code"] == "code_guessing_limited"
    assert log_in(1, password=PASSWORD) == [429]
    assert rate_limited(1) == [429]
    fresh_neighbour = client.post(
        "/api/pickup", {"code": share.code}, content_type="application/json", REMOTE_ADDR="198.51.100.250"
    )
    assert fresh_neighbour.status_code == 429, fresh_neighbour.content  # its network has had its 100
    again = client.get(zip_path, HTTP_X_SHARE_CODE=wrong_code(share.code), REMOTE_ADDR=guessers[0])
    assert again.json()["error"]["code"] == "code_guessing_limited"  # its own 5 on this share came first

    # One more flood takes none of it away.
    flood(client)
    assert client.get(zip_path, HTTP_X_SHARE_CODE=share.code, REMOTE_ADDR="192.0.2.201").status_code == 429
    assert pick_up(1) == [429]
    assert log_in(1, password=PASSWORD) == [429]
    assert rate_limited(1) == [429]
