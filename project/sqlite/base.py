"""Django's SQLite backend, with its connections kept for the next request.

Under ASGI every request runs its sync part in a new thread with its own
database connection, closed when the request ends: `CONN_MAX_AGE` cannot
keep it. Opening one costs more than the page's query (sqlite3.connect,
Django's SQL functions registered one by one, three PRAGMAs): on the share
page it was a fifth of the server's time. Here a closed connection goes
back to a small per-database pool instead, and the next request's
connection comes from there (PostgreSQL has Django's own pool, see
project/settings.py).

A connection goes back only in autocommit with no transaction open; any
other is really closed. In-memory databases are never pooled (Django never
closes them). Settings: `OPTIONS["pool_size"]` (default 32, as many as requests in flight), the most kept
per database; connections beyond it are closed as usual.

`connections_in_use()` counts the connections taken and not yet given back
(or closed), as psycopg's pool stats do for PostgreSQL: `/metrics` shows it,
and it is 0 whenever no request is running (issue 20, R5).
"""

import queue
import threading

from django.db.backends.sqlite3 import base

_pools: dict[tuple, queue.SimpleQueue] = {}
_pools_lock = threading.Lock()
_in_use = 0
_in_use_lock = threading.Lock()


def connections_in_use() -> int:
    return _in_use


def _count(change: int) -> None:
    global _in_use
    with _in_use_lock:
        _in_use += change


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        self.pool_size = params.pop("pool_size", 32)
        return params

    def _pool(self, conn_params) -> queue.SimpleQueue | None:
        if self.is_in_memory_db() or not self.pool_size:
            return None
        key = (str(conn_params["database"]), tuple(self.init_commands))
        with _pools_lock:
            return _pools.setdefault(key, queue.SimpleQueue())

    def get_new_connection(self, conn_params):
        pool = self._pool(conn_params)
        self._pooled_in = pool
        connection = None
        if pool is not None:
            try:
                connection = pool.get_nowait()
            except queue.Empty:
                pass
        connection = connection or super().get_new_connection(conn_params)
        _count(+1)
        return connection

    def _close(self):
        _count(-1)
        pool = getattr(self, "_pooled_in", None)
        connection = self.connection
        if pool is None or connection is None or connection.in_transaction or pool.qsize() >= self.pool_size:
            return super()._close()
        pool.put(connection)
        return None
