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
"""

import queue
import threading

from django.db.backends.sqlite3 import base

_pools: dict[tuple, queue.SimpleQueue] = {}
_pools_lock = threading.Lock()


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
        if pool is not None:
            try:
                return pool.get_nowait()
            except queue.Empty:
                pass
        return super().get_new_connection(conn_params)

    def _close(self):
        pool = getattr(self, "_pooled_in", None)
        connection = self.connection
        if pool is None or connection is None or connection.in_transaction or pool.qsize() >= self.pool_size:
            return super()._close()
        pool.put(connection)
        return None
