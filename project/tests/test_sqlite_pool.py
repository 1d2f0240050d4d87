"""The embedded default's SQLite backend keeps closed connections for reuse
(project/sqlite/base.py): real database files, Django's own connection
wrapper, one thread after another as ASGI requests use them."""

import threading

import pytest
from django.db.utils import load_backend

Backend = load_backend("project.sqlite").DatabaseWrapper


@pytest.fixture(autouse=True)
def _databases_of_our_own(django_db_blocker):
    """These wrappers open files of their own, not the test database."""
    with django_db_blocker.unblock():
        yield


def wrapper(path, alias="pooltest", **options):
    settings = {
        "ENGINE": "project.sqlite",
        "NAME": str(path),
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", **options},
        "ATOMIC_REQUESTS": False,
        "AUTOCOMMIT": True,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "TIME_ZONE": None,
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "TEST": {},
    }
    return Backend(settings, alias)


def in_thread(function):
    """Run `function` in a thread of its own, as each ASGI request does."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function()))
    thread.start()
    thread.join(timeout=30)
    return result["value"]


def used_connection(path, **options):
    """Open a wrapper in a new thread, run a query, close it; the sqlite3 connection used."""

    def work():
        db = wrapper(path, **options)
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
        raw = db.connection
        db.close()
        return raw

    return in_thread(work)


def with_table(path):
    """A wrapper on `path`, connected, with an empty table `t`."""
    db = wrapper(path)
    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE t (x INTEGER)")
    return db


def test_a_closed_connection_serves_the_next_request(tmp_path):
    first = used_connection(tmp_path / "a.sqlite3")
    second = used_connection(tmp_path / "a.sqlite3")
    assert second is first
    # Still a working connection, with the init command applied once.
    assert first.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_each_database_file_has_its_own_connections(tmp_path):
    first = used_connection(tmp_path / "a.sqlite3")
    other = used_connection(tmp_path / "b.sqlite3")
    assert other is not first
    assert other.execute("PRAGMA database_list").fetchone()[2].endswith("b.sqlite3")


def test_a_connection_closed_inside_a_transaction_is_not_kept(tmp_path):
    path = tmp_path / "tx.sqlite3"

    def work():
        db = with_table(path)
        db.set_autocommit(False)
        with db.cursor() as cursor:
            cursor.execute("INSERT INTO t VALUES (1)")
        raw = db.connection
        assert raw.in_transaction
        db._close()  # as close() does, here with the transaction still open
        db.connection = None
        return raw

    abandoned = in_thread(work)
    with pytest.raises(Exception, match="closed"):
        abandoned.execute("SELECT 1")
    assert used_connection(path) is not abandoned
    # The uncommitted row never reached the file.
    assert used_connection(path).execute("SELECT count(*) FROM t").fetchone()[0] == 0


def test_the_pool_keeps_at_most_its_size(tmp_path):
    path = tmp_path / "size.sqlite3"
    used_connection(path, pool_size=2)  # the file exists and is in WAL mode before three open it at once
    barrier = threading.Barrier(3)

    def work():
        db = wrapper(path, pool_size=2)
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
        barrier.wait(timeout=30)  # three connections open at once
        raw = db.connection
        db.close()
        return raw

    threads, results = [], []
    for _ in range(3):
        thread = threading.Thread(target=lambda: results.append(work()))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=30)
    closed = 0
    for raw in results:
        try:
            raw.execute("SELECT 1")
        except Exception:  # noqa: BLE001 - sqlite3.ProgrammingError: closed
            closed += 1
    assert closed == 1


def test_an_atomic_block_then_reuse_sees_committed_rows(tmp_path):
    path = tmp_path / "atomic.sqlite3"

    def write():
        db = with_table(path)
        with db_atomic(db):
            with db.cursor() as cursor:
                cursor.execute("INSERT INTO t VALUES (7)")
        db.close()

    in_thread(write)

    def read():
        db = wrapper(path)
        with db.cursor() as cursor:
            cursor.execute("SELECT x FROM t")
            value = cursor.fetchone()[0]
        db.close()
        return value

    assert in_thread(read) == 7


class db_atomic:  # noqa: N801 - a tiny atomic block on a wrapper outside django.db.connections
    def __init__(self, db):
        self.db = db

    def __enter__(self):
        self.db.set_autocommit(False)

    def __exit__(self, *exc):
        self.db.commit()
        self.db.set_autocommit(True)


def test_in_memory_databases_are_never_pooled():
    db = wrapper(":memory:")
    with db.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert db._pool(db.get_connection_params()) is None
