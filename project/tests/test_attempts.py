"""The attempt limiter (project/lib/attempts.py) through the configured cache."""

import logging
import threading
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import override_settings

from project.lib.attempts import Layer, attempts_give_back, attempts_locked_for, attempts_reset, attempts_take
from project.lib.errors import TooManyRequests
from project.testing import refusing_port

START = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)


class CodeLocked(TooManyRequests):
    code = "code_locked"


class FileLocked(TooManyRequests):
    code = "file_locked"


def layer(key="guess:alpha", limit=3, window=600, error=CodeLocked) -> Layer:
    return Layer(key=key, limit=limit, window=window, error=error)


def passes(layers, now=None) -> bool:
    try:
        attempts_take(layers, now=now)
    except TooManyRequests:
        return False
    return True


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_a_window_lets_the_limit_through_then_refuses_until_it_ends(clock):
    codes = layer(limit=3, window=600)
    assert [passes([codes]) for _ in range(4)] == [True, True, True, False]
    with pytest.raises(CodeLocked) as refused:
        attempts_take([codes])
    assert refused.value.retry_after == 600
    assert refused.value.headers["Retry-After"] == "600"

    clock.shift(300)
    with pytest.raises(CodeLocked) as refused:
        attempts_take([codes])
    # Refused attempts were given back: asking again did not push the end out.
    assert refused.value.retry_after == 300

    clock.shift(299)
    assert not passes([codes])
    clock.shift(1)
    assert [passes([codes]) for _ in range(4)] == [True, True, True, False]


def test_the_window_ends_by_its_stored_start_even_while_the_cache_still_holds_it():
    # An explicit `now` past the window, with the entries still alive in the
    # cache (Redis under time_machine, or an app server whose clock runs ahead).
    codes = layer(limit=2, window=600)
    start = 1_800_000_000.0
    attempts_take([codes], now=start)
    attempts_take([codes], now=start)
    with pytest.raises(CodeLocked):
        attempts_take([codes], now=start + 599)
    attempts_take([codes], now=start + 600)
    attempts_take([codes], now=start + 601)
    with pytest.raises(CodeLocked) as refused:
        attempts_take([codes], now=start + 602)
    assert refused.value.retry_after == 598  # the new window opened at start + 600
    assert attempts_locked_for(codes, now=start + 602) == 598


def test_the_first_layer_over_its_limit_decides_and_every_layer_gets_the_attempt_back(clock):
    per_client = layer("guess:alpha:client-1", limit=5, error=CodeLocked)
    per_file = layer("guess:alpha", limit=1, error=FileLocked)
    assert passes([per_client, per_file])
    for _ in range(10):
        with pytest.raises(FileLocked):
            attempts_take([per_client, per_file])
    # Only the one attempt that passed still counts in the client layer.
    assert [passes([per_client]) for _ in range(5)] == [True, True, True, True, False]
    with pytest.raises(CodeLocked):  # both are over now: the first one listed answers
        attempts_take([per_client, per_file])


def test_a_given_back_attempt_does_not_count(clock):
    codes = layer(limit=2)
    attempts_take([codes])
    attempts_give_back([codes])
    assert [passes([codes]) for _ in range(3)] == [True, True, False]


def test_giving_back_more_than_was_taken_never_goes_below_zero(clock):
    codes = layer(limit=2)
    attempts_give_back([codes])  # no window yet: nothing to give back, and nothing is created
    assert attempts_locked_for(codes) == 0
    attempts_take([codes])
    attempts_give_back([codes])
    attempts_give_back([codes])
    attempts_give_back([codes])
    assert [passes([codes]) for _ in range(3)] == [True, True, False]


def test_giving_back_after_the_window_ended_does_not_touch_the_next_one(clock):
    codes = layer(limit=2, window=60)
    attempts_take([codes])
    attempts_take([codes])
    clock.shift(61)
    attempts_give_back([codes])
    attempts_give_back([codes])
    assert [passes([codes]) for _ in range(3)] == [True, True, False]
    with pytest.raises(CodeLocked) as refused:
        attempts_take([codes])
    assert refused.value.retry_after == 60


def test_reset_forgets_the_window(clock):
    codes = layer(limit=2)
    attempts_take([codes])
    attempts_take([codes])
    assert attempts_locked_for(codes) == 600
    clock.shift(100)
    attempts_reset([codes])
    assert attempts_locked_for(codes) == 0
    assert [passes([codes]) for _ in range(3)] == [True, True, False]
    with pytest.raises(CodeLocked) as refused:
        attempts_take([codes])
    assert refused.value.retry_after == 600  # a fresh window, opened after the reset


def test_locked_for_reads_without_counting(clock):
    codes = layer(limit=2, window=600)
    assert attempts_locked_for(codes) == 0
    attempts_take([codes])
    for _ in range(5):
        assert attempts_locked_for(codes) == 0
    attempts_take([codes])
    assert attempts_locked_for(codes) == 600
    clock.shift(450)
    assert attempts_locked_for(codes) == 150
    clock.shift(150)
    assert attempts_locked_for(codes) == 0
    assert passes([codes])


def test_a_layer_with_limit_zero_is_off(clock):
    off = layer("guess:off", limit=0)
    on = layer("guess:on", limit=2)
    assert all(passes([off]) for _ in range(50))
    assert attempts_locked_for(off) == 0
    assert [passes([off, on]) for _ in range(3)] == [True, True, False]


def _unreachable_cache():
    broken = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{refusing_port()}/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
    return {"default": broken, "limits": {**broken, "KEY_PREFIX": "limits"}}


def test_an_unreachable_cache_lets_attempts_through_and_warns_once(caplog):
    from project.ratelimit import warn_cache_unreachable

    caplog.set_level(logging.WARNING, logger="pan.ratelimit")
    warn_cache_unreachable._last = float("-inf")  # a fresh interval for this test
    codes = layer(limit=1)
    with override_settings(CACHES=_unreachable_cache()):
        for _ in range(3):
            attempts_take([codes])
        attempts_give_back([codes])
        attempts_reset([codes])
        assert attempts_locked_for(codes) == 0
    warnings = [r for r in caplog.records if r.name == "pan.ratelimit"]
    assert len(warnings) == 1
    assert "cache is unreachable" in warnings[0].getMessage()


def run_at_once(count: int, action) -> list:
    """Run `action(index)` in `count` threads released together; return what each returned."""
    barrier = threading.Barrier(count, timeout=30)
    results: list = [None] * count

    def worker(index):
        barrier.wait()
        results[index] = action(index)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.fixture
def frequent_thread_switches():
    """Switch threads every microsecond, so a read-then-write race shows up on
    the in-memory cache too (against Redis every call already waits on I/O)."""
    import sys

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


# One round can miss a race by luck; ten rounds of 40 threads catch a
# read-then-write limiter every time (checked against one while writing this).
ROUNDS = 10


def test_simultaneous_attempts_get_exactly_the_limit(frequent_thread_switches):
    for round_number in range(ROUNDS):
        codes = layer(f"guess:round-{round_number}", limit=5)
        results = run_at_once(40, lambda _index, codes=codes: passes([codes]))
        assert results.count(True) == 5
        assert attempts_locked_for(codes) > 0


def test_simultaneous_attempts_after_a_window_ended_open_one_new_window(frequent_thread_switches):
    start = 1_800_000_000.0
    for round_number in range(ROUNDS):
        codes = layer(f"guess:round-{round_number}", limit=5, window=600)
        for _ in range(5):
            attempts_take([codes], now=start)
        # Every thread finds the old window's entry still there but over, each
        # at its own moment (so each would open a window of its own).
        results = run_at_once(40, lambda index, codes=codes: passes([codes], now=start + 700 + index / 1000))
        assert results.count(True) == 5
