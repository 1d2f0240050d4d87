"""SPEC §3: the login limits hold when the attempts arrive all at once."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

import accounts.services
from conftest import PASSWORD

# The threads read Bob through their own database connections.
pytestmark = pytest.mark.django_db(transaction=True)

ATTEMPTS = 60


class SlowPasswordChecks:
    """`authenticate` as `user_login` calls it, counted, and as slow as can be.

    Each check is held until every attempt of the burst has either reached a
    check or been answered: the worst case of a slow hash (Argon2 takes tens
    of milliseconds). A limiter that decides before it counts lets the whole
    burst in here; one that counts first lets in exactly the limit.
    """

    def __init__(self, real_authenticate, attempts: int):
        self.real_authenticate = real_authenticate
        self.attempts = attempts
        self.checks: list[str] = []
        self._settled: set[int] = set()  # threads inside a check or answered
        self._changed = threading.Condition()

    def _settle(self) -> None:
        self._settled.add(threading.get_ident())
        self._changed.notify_all()

    def authenticate(self, **credentials):
        with self._changed:
            self.checks.append(credentials["username"])
            self._settle()
            self._changed.wait_for(lambda: len(self._settled) >= self.attempts, timeout=30)
        return self.real_authenticate(**credentials)

    def answered(self) -> None:
        with self._changed:
            self._settle()


@pytest.fixture
def password_checks(monkeypatch):
    checks = SlowPasswordChecks(accounts.services.authenticate, ATTEMPTS)
    monkeypatch.setattr(accounts.services, "authenticate", checks.authenticate)
    return checks


@pytest.fixture
def only_the_login_limits(settings):
    # The request rate limiter would refuse most of the burst before the
    # service sees it; these tests are about the service's own limits.
    settings.RATE_LIMIT_ENABLED = False


def post_logins_at_once(requests: list[tuple[str, str]], password_checks: SlowPasswordChecks) -> list[int]:
    """POST /api/login for each (username, client address), all released at once; the statuses."""
    barrier = threading.Barrier(len(requests), timeout=30)
    statuses: list[int | None] = [None] * len(requests)

    def attempt(index: int, username: str, address: str) -> None:
        client = APIClient(REMOTE_ADDR=address)  # one client per thread: nothing shared
        body = {"username": username, "password": "not-the-password"}
        try:
            barrier.wait()
            statuses[index] = client.post("/api/login", body, format="json").status_code
        finally:
            password_checks.answered()
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i, *request)) for i, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return statuses


def test_simultaneous_wrong_passwords_for_one_username_get_the_limit_of_checks(
    bob, password_checks, only_the_login_limits, settings
):
    settings.LOGIN_FAILURE_LIMIT = 5
    # Each from its own address: only the username's limit stands in the way.
    statuses = post_logins_at_once([("bob", f"198.51.100.{n}") for n in range(ATTEMPTS)], password_checks)
    # Counted before checked: the first five numbers go to five checks, every
    # later number is over the limit, so "at most five" is exactly five here.
    assert len(password_checks.checks) == 5
    assert sorted(statuses) == [401] * 5 + [429] * (ATTEMPTS - 5)


def test_simultaneous_guesses_from_one_client_get_the_client_limit_of_checks(
    bob, password_checks, only_the_login_limits, settings
):
    settings.LOGIN_FAILURE_LIMIT = 100
    settings.LOGIN_CLIENT_FAILURE_LIMIT = 7
    statuses = post_logins_at_once([(f"guess{n}", "203.0.113.9") for n in range(ATTEMPTS)], password_checks)
    assert len(password_checks.checks) == 7
    assert sorted(statuses) == [401] * 7 + [429] * (ATTEMPTS - 7)
    # Bob, from that client, waits too; from elsewhere he gets in.
    right = {"username": "bob", "password": PASSWORD}
    assert APIClient(REMOTE_ADDR="203.0.113.9").post("/api/login", right, format="json").status_code == 429
    assert APIClient(REMOTE_ADDR="192.0.2.1").post("/api/login", right, format="json").status_code == 200
