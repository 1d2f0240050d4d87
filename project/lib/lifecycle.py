"""States of things that expire: shares, drop-off requests, short links.

A model's states are written once, as a `Lifecycle`: stages in order, each
a query (a `Q`, given the time) and its Python twin (a test of one row);
the first stage that holds is the row's state, and `otherwise` is the state
of a row no stage holds. From that one list:

- `ExpiringQuerySet.in_state(state, now)`: the rows in a state (that
  stage's query and none of the earlier ones), `expired(now)` and
  `live(now)` (past every stage up to expiry: neither ended by hand nor
  expired);
- `HasLifecycle.state(now)`: one row's state.

Expiry itself is `expired_q` / `has_expired`, one rule: `expires_at`
at or before now; no `expires_at` never expires. A test
(project/tests/test_lifecycle.py) checks, for every state of every model,
that the query and the Python twin agree.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

EXPIRED = "expired"


def expired_q(now: datetime) -> Q:
    return Q(expires_at__lte=now)


def has_expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now


def expiry_from(expires_in: int | None, now: datetime, *, default: int) -> datetime | None:
    """When something given `expires_in` seconds (None: `default`, 0: never) expires."""
    seconds = default if expires_in is None else expires_in
    return now + timedelta(seconds=seconds) if seconds else None


@dataclass(frozen=True)
class Stage:
    state: str
    query: Callable[[datetime], Q]
    holds: Callable[[object, datetime], bool]


def expiry_stage() -> Stage:
    """The stage every lifecycle has: `expires_at` passed."""
    return Stage(EXPIRED, expired_q, lambda row, now: has_expired(row.expires_at, now))


class Lifecycle:
    def __init__(self, *stages: Stage, otherwise: str):
        states = [stage.state for stage in stages]
        if EXPIRED not in states or otherwise in states:
            raise ValueError("a lifecycle has an expiry stage and an `otherwise` state of its own")
        self.stages = stages
        self.otherwise = otherwise

    def state(self, row, now: datetime) -> str:
        return next((stage.state for stage in self.stages if stage.holds(row, now)), self.otherwise)

    def _none_before(self, index: int, now: datetime) -> Q:
        query = Q()
        for stage in self.stages[:index]:
            query &= ~stage.query(now)
        return query

    def query(self, state: str, now: datetime) -> Q:
        """The rows in `state`: its stage holds and no earlier one does."""
        if state == self.otherwise:
            return self._none_before(len(self.stages), now)
        index = next(i for i, stage in enumerate(self.stages) if stage.state == state)
        return self._none_before(index, now) & self.stages[index].query(now)

    def live(self, now: datetime) -> Q:
        """Rows past every stage up to and including expiry."""
        index = next(i for i, stage in enumerate(self.stages) if stage.state == EXPIRED)
        return self._none_before(index + 1, now)


class ExpiringQuerySet(models.QuerySet):
    """The querysets of a model's states; subclasses set `lifecycle`."""

    lifecycle: Lifecycle

    def in_state(self, state: str, now: datetime | None = None):
        return self.filter(self.lifecycle.query(state, now or timezone.now()))

    def expired(self, now: datetime | None = None):
        return self.in_state(EXPIRED, now)

    def live(self, now: datetime | None = None):
        """Neither ended by hand (revoked, closed, paused) nor expired."""
        return self.filter(self.lifecycle.live(now or timezone.now()))


class HasLifecycle:
    """A model's `state()`: the Python twin of its `ExpiringQuerySet`."""

    lifecycle: Lifecycle

    def state(self, now: datetime | None = None) -> str:
        return self.lifecycle.state(self, now or timezone.now())
