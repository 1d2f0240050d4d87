"""PostgreSQL connections whose every wait for the server is bounded (SPEC §8).

A server that accepts connections and never answers (stopped with SIGSTOP,
swapping, deadlocked, behind a stalled proxy) leaves libpq waiting for an
answer forever on a connection already open. None of libpq's own options
end that wait, measured against such a server (project/testing.py
`FreezableProxy`): `statement_timeout` is enforced by the server, which is
not running; TCP keepalives and `tcp_user_timeout` watch the peer's kernel,
which keeps acknowledging. They stay set (project/settings.py) for what
they do catch: a slow statement on a live server, a host that vanished.

So the client bounds the wait itself. psycopg routes every exchange on an
open connection (queries, fetches, COMMIT, ROLLBACK, autocommit changes,
the pool's check and reset) through `Connection.wait`, which takes a
`timeout` since psycopg 3.2. `BoundedConnection` passes one: the server's
`statement_timeout` plus `GRACE`, so a live server cancels a slow
statement itself first (a clean error, the connection kept), and only a
server that does not answer at all meets the client's bound. Then the
connection is in an unknown state: it is closed (the pool discards it)
and `psycopg.OperationalError` is raised, which Django wraps in its own
`OperationalError`: a 503 `database_unavailable` (project/lib/errors.py).

A COMMIT that was sent but not answered is the one ambiguous case: the
server may still apply it when it resumes (nothing on the client can stop
a stopped server from reading what it was sent). Share creation undoes it
once the server has settled it (project/lib/in_doubt.py).

A clever layer: `APPLIES` says whether this psycopg offers the timeout;
when it does not, `BoundedConnection` is a plain connection and a warning
naming this module is logged once (project/tests/test_bounds_db.py asserts
it applies under the pinned version).
"""

import inspect
import logging

import psycopg
from psycopg import errors

logger = logging.getLogger(__name__)

# Seconds the client waits past the server's statement_timeout.
GRACE = 1.0

_WaitTimeout = getattr(errors, "_WaitTimeout", None)
APPLIES = _WaitTimeout is not None and "timeout" in inspect.signature(psycopg.Connection.wait).parameters
if not APPLIES:  # pragma: no cover - the pinned psycopg has both
    logger.warning(
        "project.lib.bounded_pg does not apply to psycopg %s: a frozen database can hold a request without bound",
        psycopg.__version__,
    )


class BoundedConnection(psycopg.Connection):
    """A psycopg connection that gives up on a server silent for `answer_timeout` seconds."""

    answer_timeout: float | None = None

    if APPLIES:

        def wait(self, gen, interval=0.1, timeout=None):
            if timeout is not None or self.answer_timeout is None:
                # A caller's own timeout (waiting for notifications) is its business.
                return super().wait(gen, interval=interval, timeout=timeout)
            bound = self.answer_timeout
            try:
                return super().wait(gen, interval=interval, timeout=bound)
            except _WaitTimeout:
                # Half an exchange is on the wire: nothing else may use this connection.
                self.pgconn.finish()
                raise psycopg.OperationalError(
                    f"the database did not answer within {bound:g}s; the connection was closed"
                ) from None


def bounded_connection_class(statement_timeout: float) -> type[BoundedConnection]:
    """The connection class for a server whose statement_timeout is `statement_timeout` seconds (0 = none)."""
    if statement_timeout <= 0:
        return BoundedConnection
    return type("BoundedConnection", (BoundedConnection,), {"answer_timeout": statement_timeout + GRACE})
