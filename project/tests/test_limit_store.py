"""The limits' store (project/lib/limit_store.py): it drops a window only when
the window has ended, and when it has no room the limiters refuse rather
than forget or let anything through uncounted."""

import logging
from datetime import UTC, datetime

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from redis.exceptions import OutOfMemoryError

from project.lib import attempts
from project.lib.attempts import Layer, attempts_locked_for, attempts_take
from project.lib.errors import TooManyRequests
from project.lib.limit_store import LimitStoreFull, limit_store_is_full, limits_cache

START = datetime(2026, 3, 1, 9, 0, 30, tzinfo=UTC)


class Locked(TooManyRequests):
    code = "locked"


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def small_store():
    """An in-process limit store with room for four entries, whatever the suite's configuration."""
    store = {"BACKEND": "project.lib.limit_store.LimitStore", "LOCATION": "pan-limits-small"}
    with override_settings(CACHES={**settings.CACHES, "limits": {**store, "OPTIONS": {"MAX_ENTRIES": 4}}}):
        limits_cache().clear()
        yield limits_cache()
        limits_cache().clear()


def test_a_full_store_drops_only_ended_windows_and_refuses_the_rest(clock, small_store):
    for n in range(4):
        assert small_store.add(f"window-{n}", 0, 60 + 10 * n)
    with pytest.raises(LimitStoreFull) as full:
        small_store.add("one-more", 0, 60)
    assert full.value.retry_after == 60  # the soonest window ends then
    # Every live window is intact and still counts.
    assert [small_store.incr(f"window-{n}") for n in range(4)] == [1, 1, 1, 1]
    small_store.set("window-0", 5, 60)  # rewriting a window needs no room
    assert small_store.get("window-0") == 5
    clock.shift(61)
    assert small_store.add("one-more", 0, 60)  # window-0 ended: its room is free
    assert small_store.get("window-0") is None
    assert [small_store.get(f"window-{n}") for n in range(1, 4)] == [1, 1, 1]
    with pytest.raises(LimitStoreFull):
        small_store.add("and-another", 0, 60)


def test_a_full_store_refuses_attempts_in_new_windows_and_counts_the_open_ones_exactly(clock, small_store):
    # Two layers of two entries each (start, count) fill the store.
    open_layers = [Layer(f"guess:open-{n}", 3, 600, Locked) for n in range(2)]
    for layer in open_layers:
        attempts_take([layer])
    new = Layer("guess:new", 3, 600, Locked)
    for _ in range(5):
        with pytest.raises(Locked) as refused:
            attempts_take([open_layers[0], new])
        assert refused.value.retry_after == 600
    # The refusals were given back: the open layer still has exactly two attempts left.
    attempts_take([open_layers[0]])
    attempts_take([open_layers[0]])
    with pytest.raises(Locked):
        attempts_take([open_layers[0]])
    assert attempts_locked_for(open_layers[0]) == 600


@override_settings(RATE_LIMITS={"default": (100, 60)})
def test_a_full_store_refuses_requests_in_new_windows_and_says_so_once(clock, small_store, caplog, db):
    from project.lib.limit_store import warn_limit_store_full

    caplog.set_level(logging.WARNING, logger="pan.ratelimit")
    warn_limit_store_full._last = float("-inf")
    for n in range(4):
        small_store.add(f"someone-else-{n}", 0, 600)
    answers = [Client().get("/ws-echo/", REMOTE_ADDR="192.0.2.10") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [429] * 3
    assert answers[0]["Retry-After"] == "60"
    warnings = [r.getMessage() for r in caplog.records if r.name == "pan.ratelimit"]
    assert warnings == [
        "The limit store is full: new limit windows are refused (LimitStoreFull: the limit store is full; room in 600s)"
    ]


def test_redis_out_of_memory_refuses_attempts_instead_of_failing_open(monkeypatch):
    class FullRedis:
        def eval(self, *args):
            raise OutOfMemoryError("command not allowed when used memory > 'maxmemory'.")

    monkeypatch.setattr(attempts, "_redis", lambda: FullRedis())
    with pytest.raises(Locked) as refused:
        attempts_take([Layer("guess:oom", 3, 600, Locked)])
    assert refused.value.retry_after == 60


def test_what_counts_as_no_room():
    from django_redis.exceptions import ConnectionInterrupted

    oom = OutOfMemoryError("OOM command not allowed")
    try:
        raise ConnectionInterrupted(connection=None) from oom  # how django-redis re-raises it
    except ConnectionInterrupted as wrapped:
        assert limit_store_is_full(wrapped) == 60
    assert limit_store_is_full(oom) == 60
    assert limit_store_is_full(LimitStoreFull(0.2)) == 1
    assert limit_store_is_full(ConnectionError("refused")) is None  # unreachable: fail open, as before
