"""PostgreSQL frozen: every request answers 503 within a bound, and leaves nothing (SPEC §8, 3rd).

A frozen server accepts connections and never answers: a `FreezableProxy`
(project/testing.py) between a live server and PostgreSQL stops forwarding
while the server holds pooled connections that were working a moment ago.
libpq's own options do not end a query stuck on such a connection (the
peer's kernel keeps acknowledging); the client's bound does
(project/lib/bounded_pg.py). Before it, on the production server, login,
upload, download, the share page and the redirect got no answer within
70 s, some not within 290 s, and an upload whose client had given up was
completed once the database came back.

Both servers: uvicorn (production, `make serve`) and daphne (`make run`).
PostgreSQL only (the embedded SQLite is a file, it cannot freeze this way):
skipped without DATABASE_URL, as the other PostgreSQL-only live tests are;
with DATABASE_URL set and PostgreSQL down, the server cannot be set up and
the test errors.
"""

import os
import time

import httpx
import pytest

from conftest import PASSWORD
from project.testing import FreezableProxy, LiveServer

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="freezes PostgreSQL behind a proxy; the embedded SQLite is a local file",
    ),
]

POOL_TIMEOUT = 2.0
STATEMENT_TIMEOUT = 2.0
GRACE = 1.0  # the client's wait past the statement timeout (project/lib/bounded_pg.py)
MARGIN = 1.5  # a loaded machine
BOUND = POOL_TIMEOUT + STATEMENT_TIMEOUT + GRACE + MARGIN
STATUS_BOUND = 3.0 + 0.5  # SERVER_STATUS_PROBE_TIMEOUT's default, and the answer's own time
# The test's own patience: long enough to see what the server does past the bound.
PATIENCE = BOUND + 5
BOUNDARY = "----pan-frozen-db-7c2a"


def _pg_port() -> int:
    return httpx.URL(os.environ["DATABASE_URL"].replace("postgres://", "http://", 1)).port or 5432


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def frozen(request):
    """A live server reaching PostgreSQL through a proxy, with one share and one short link made."""
    env = {
        "DATABASE_POOL_TIMEOUT": str(POOL_TIMEOUT),
        "DATABASE_STATEMENT_TIMEOUT": str(STATEMENT_TIMEOUT),
        "DATABASE_CONNECT_TIMEOUT": "1",
    }
    with (
        FreezableProxy(_pg_port()) as proxy,
        LiveServer(extra_env=env, server=request.param, database_port=proxy.port) as live,
    ):
        live.register("frozen-admin", PASSWORD)
        with httpx.Client(base_url=live.url, timeout=30) as client:
            token = client.post("/api/login", json={"username": "frozen-admin", "password": PASSWORD}).json()["access"]
            owner = {"Authorization": f"Bearer {token}"}
            share = client.post("/api/shares", files=[("file", ("a.txt", b"before the freeze\n"))], headers=owner)
            assert share.status_code == 201, share.text
            short = client.post("/api/short", json={"url": "https://example.com/frozen"}, headers=owner)
            assert short.status_code == 201, short.text
            yield live, proxy, client, owner, share.json(), short.json()["key"]


def _multipart(name: str, data: bytes) -> tuple[bytes, dict]:
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def test_every_request_is_a_503_within_the_bound_and_an_upload_leaves_no_share(frozen):
    live, proxy, client, owner, share, key = frozen
    content = f"/api/shares/{share['id']}/items/{share['items'][0]['id']}/content"
    body, multipart = _multipart("during.txt", b"sent while the database is frozen\n")
    login = {"username": "frozen-admin", "password": PASSWORD}
    requests = {
        "login": ("POST", "/api/login", {"json": login}),
        "upload": ("POST", "/api/shares", {"content": body, "headers": {**owner, **multipart}}),
        "download": ("GET", content, {"headers": {"X-Share-Code": share["code"]}}),
        "share page": ("GET", f"/f/{share['id']}/", {}),
        "redirect": ("GET", f"/s/{key}", {}),
        "pickup": ("POST", "/api/pickup", {"json": {"code": share["code"]}}),
        "upload again": ("POST", "/api/shares", {"content": body, "headers": {**owner, **multipart}}),
    }
    proxy.freeze()
    answers = {}
    try:
        for name, (method, path, kwargs) in requests.items():
            started = time.monotonic()
            try:
                status = client.request(method, path, timeout=PATIENCE, **kwargs).status_code
            except httpx.TimeoutException:
                status = "no answer"  # the client gives up, as the measurement did
            answers[name] = (status, round(time.monotonic() - started, 2))
        started = time.monotonic()
        status = client.get("/server-status", params={"token": live.env["SERVER_STATUS_TOKEN"]}, timeout=PATIENCE)
        status_seconds = time.monotonic() - started
    finally:
        proxy.thaw()
    assert all(status == 503 and seconds <= BOUND for status, seconds in answers.values()), (answers, BOUND)
    body = status.json()
    assert status.status_code == 503 and body["database"] != "ok" and body["cache"] == "ok", body
    assert status_seconds < STATUS_BOUND, (status_seconds, body)

    # Back: the pool reconnects by itself (bounded polling), and the uploads that answered 503 made nothing.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        mine = client.get("/api/shares", headers=owner)
        if mine.status_code == 200:
            break
        time.sleep(0.5)
    assert mine.status_code == 200, mine.text
    assert [found["id"] for found in mine.json()["results"]] == [share["id"]]
    log = live.log()
    assert "database unavailable: OperationalError" in log
    assert "Traceback" not in log and " 500 " not in log, log


# A COMMIT of a new share that takes a second on the server: long enough to
# freeze the proxy while it runs, so the server applies it and its answer
# never reaches Pan.
SLOW_COMMIT = """
CREATE FUNCTION pan_test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER pan_test_slow_commit AFTER INSERT ON pan_share
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pan_test_slow_commit();
"""
FAST_COMMIT = "DROP TRIGGER pan_test_slow_commit ON pan_share; DROP FUNCTION pan_test_slow_commit();"
COMMIT_RUNNING = (
    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query = 'COMMIT'"
)


def test_an_upload_whose_commit_went_unanswered_leaves_no_share(frozen):
    import threading

    import psycopg

    live, proxy, client, owner, share, _key = frozen
    answer = {}

    def upload():
        started = time.monotonic()
        with httpx.Client(base_url=live.url, timeout=PATIENCE) as own:
            try:
                sent = own.post("/api/shares", files=[("file", ("doubt.txt", b"in doubt\n"))], headers=owner)
                answer["status"] = sent.status_code
            except httpx.TimeoutException:
                answer["status"] = "no answer"
        answer["seconds"] = time.monotonic() - started

    with psycopg.connect(live.database_url, autocommit=True) as direct:
        direct.execute(SLOW_COMMIT)
        uploading = threading.Thread(target=upload)
        try:
            uploading.start()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and direct.execute(COMMIT_RUNNING).fetchone() is None:
                time.sleep(0.02)
            proxy.freeze()
            uploading.join(PATIENCE + 1)
        finally:
            proxy.thaw()
            uploading.join(PATIENCE + 1)
            direct.execute(FAST_COMMIT)
    assert answer["status"] == 503 and answer["seconds"] <= BOUND, answer

    # The server applied that COMMIT once it could answer; Pan then removed the share nobody heard of.
    deadline = time.monotonic() + 20
    undone = "its COMMIT went unanswered; undone (it had been applied)"
    while time.monotonic() < deadline and undone not in live.log():
        time.sleep(0.5)
    assert undone in live.log(), live.log()
    mine = client.get("/api/shares", headers=owner)
    assert [found["id"] for found in mine.json()["results"]] == [share["id"]]


def test_a_query_on_a_frozen_server_ends_at_the_clients_bound_and_closes_its_connection():
    import psycopg

    from project.lib.bounded_pg import bounded_connection_class

    bounded = bounded_connection_class(1.0)  # the server's 1 s, plus the client's grace
    url = httpx.URL(os.environ["DATABASE_URL"].replace("postgres://", "http://", 1))
    with FreezableProxy(_pg_port()) as proxy:
        # With TCP keepalives and tcp_user_timeout at their shortest: they do not end this wait.
        connection = bounded.connect(
            host="127.0.0.1",
            port=proxy.port,
            user=url.username or "postgres",
            dbname="postgres",
            autocommit=True,
            keepalives=1,
            keepalives_idle=1,
            keepalives_interval=1,
            keepalives_count=1,
            tcp_user_timeout=500,
        )
        assert connection.execute("SELECT 1").fetchone() == (1,)
        proxy.freeze()
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError, match="did not answer within 2s"):
            connection.execute("SELECT 1")
        assert 2.0 <= time.monotonic() - started < 2.0 + MARGIN
        assert connection.closed
