"""Work whose COMMIT went unanswered is undone once the database answers again (SPEC §8).

When PostgreSQL freezes after a COMMIT was sent, the client's bound
(project/lib/bounded_pg.py) ends the wait and the request answers 503, but
the server may still apply that COMMIT when it resumes: it reads what it
was sent. Nobody heard of that work, so it must not stay.

`commit_doubt()`, called inside the transaction just before it ends,
notes which server session (backend pid) will carry the COMMIT.
`undo_when_settled(doubt, undo)` then waits, in a thread of its own, until
that session is gone from `pg_stat_activity` — from then on the COMMIT can
no longer happen if it has not — and calls `undo()`, which removes what
was committed, if anything was, and whatever the work left outside the
database. It retries every `RETRY_SECONDS` for up to `GIVE_UP_AFTER`
seconds, then logs an error naming the work. A process killed meanwhile
forgets it: the work then stays, whole (one transaction), the one case
left where a 503 did not mean "nothing happened".

SQLite has no such doubt (a local file: a COMMIT that raises did not
happen); `commit_doubt()` returns None there.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection

from project.lib.errors import DATABASE_UNAVAILABLE_ERRORS

logger = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
GIVE_UP_AFTER = 3600.0


@dataclass(frozen=True)
class CommitDoubt:
    backend_pid: int
    what: str  # for the log: "share <unique name>"


def commit_doubt(what: str) -> CommitDoubt | None:
    """The session that will carry this transaction's COMMIT (PostgreSQL, outermost transaction only)."""
    if connection.vendor != "postgresql" or connection.connection is None:
        return None
    return CommitDoubt(backend_pid=connection.connection.info.backend_pid, what=what)


def _settled(doubt: CommitDoubt) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [doubt.backend_pid])
        return cursor.fetchone() is None


def undo_when_settled(doubt: CommitDoubt, undo: Callable[[], bool]) -> threading.Thread:
    """Call `undo()` in a thread once the COMMIT in doubt can no longer happen.

    `undo()` answers whether the work had been committed (for the log).
    """

    def run() -> None:
        deadline = time.monotonic() + GIVE_UP_AFTER
        while True:
            try:
                if _settled(doubt):
                    committed = undo()
                    logger.warning(
                        "%s: its COMMIT went unanswered; undone (%s)",
                        doubt.what,
                        "it had been applied" if committed else "it had not been applied",
                    )
                    return
            except DATABASE_UNAVAILABLE_ERRORS:
                pass  # still unreachable: try again
            except Exception:
                logger.exception("%s: its COMMIT went unanswered and undoing it failed", doubt.what)
                return
            finally:
                connection.close()  # this thread's connection goes back to the pool between tries
            if time.monotonic() > deadline:
                logger.error("%s: its COMMIT went unanswered and the database did not settle it", doubt.what)
                return
            time.sleep(RETRY_SECONDS)

    thread = threading.Thread(target=run, name=f"undo {doubt.what}", daemon=True)
    thread.start()
    return thread
