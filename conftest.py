"""Suite-wide fixtures: users with roles, API clients, service checks."""

import os

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

PASSWORD = "Correct-Horse-42"


def pytest_configure(config):
    # A configured service that is down fails the run at once, loudly:
    # the suite never passes by skipping what it was asked to test.
    if os.environ.get("REDIS_URL"):
        import redis

        try:
            redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=3).ping()
        except redis.RedisError as exc:
            raise pytest.UsageError(f"REDIS_URL is set but Redis is unreachable: {exc}") from exc


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A browser test fails on any Content-Security-Policy violation in a
    context it watched (`project.testing.csp_guard`), with what was blocked."""
    from project.testing import check_csp_guards, forget_csp_violations

    try:
        result = yield
    except BaseException:
        forget_csp_violations()
        raise
    check_csp_guards()
    return result


@pytest.fixture(scope="session", autouse=True)
def _roles_survive_flushes():
    """The roles the migrations seed, seeded again whenever a transactional
    test's flush empties the tables: Django sends post_migrate after a
    flush, as after migrate. Without it every test after a transactional one
    in the same process would find no roles (the order of tests differs per
    process when `make test` runs several)."""
    from django.apps import apps
    from django.db.models.signals import post_migrate

    from project.testing import roles_seed

    accounts = apps.get_app_config("accounts")

    def reseed(sender, **kwargs):
        roles_seed()

    post_migrate.connect(reseed, sender=accounts, dispatch_uid="tests-roles-after-flush")
    yield
    post_migrate.disconnect(sender=accounts, dispatch_uid="tests-roles-after-flush")


@pytest.fixture(autouse=True)
def _clean_cache():
    from project.lib.limit_store import limits_cache
    from project.lib.redis_breaker import breaker
    from shortener import stats

    breaker.reset()  # a Redis failure in one test does not skip Redis in the next
    cache.clear()
    limits_cache().clear()
    yield
    cache.clear()
    limits_cache().clear()
    # Visits a test recorded and did not flush go with it, not into a later test's database.
    stats._buffer.clear()


@pytest.fixture(scope="session")
def collected_static(django_db_blocker):
    """STATIC_ROOT filled by `collectstatic`, for tests that fetch static
    files from the in-process app, so plain `pytest` needs no `make test`
    before it. Unchanged files are skipped, so after `make test` it costs a
    directory walk.

    WhiteNoise indexes STATIC_ROOT when its middleware is built, and
    project.asgi builds its app at import (during collection, before any
    fixture): the files are added to every WhiteNoise built so far. Test
    clients made later build their own, which find them.
    """
    import gc

    from django.conf import settings
    from django.core.management import call_command
    from whitenoise.middleware import WhiteNoiseMiddleware

    from project.testing import static_collection_lock

    with django_db_blocker.unblock(), static_collection_lock():
        call_command("collectstatic", interactive=False, verbosity=0)
    # project.asgi freezes what it built out of the collector's way, and
    # gc.get_objects() leaves frozen objects out: thaw them to look, then
    # freeze again (whatever else is frozen with them lives on anyway).
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    try:
        for middleware in [obj for obj in gc.get_objects() if _is_whitenoise(obj, WhiteNoiseMiddleware)]:
            middleware.add_files(str(settings.STATIC_ROOT), prefix=middleware.static_prefix)
    finally:
        if frozen:
            gc.freeze()
    return settings.STATIC_ROOT


def _is_whitenoise(obj, kind) -> bool:
    # type(), not isinstance(): isinstance asks the object's __class__, which a
    # lazy object (django-csp's nonce) would compute and a dead weak proxy refuse.
    return issubclass(type(obj), kind)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def make_user(db):
    """make_user("alice", roles=["users"]) -> a saved user with those roles."""
    from django.contrib.auth.models import Group

    from accounts.models import User
    from accounts.signals import user_sync_admin_flags

    def make(username: str, *, roles=("users",), password: str = PASSWORD):
        user = User.objects.create_user(username=username, password=password)
        user.groups.add(*Group.objects.filter(name__in=roles))
        user_sync_admin_flags(user)
        return user

    return make


@pytest.fixture
def alice(make_user):
    """An admin (admin + users roles)."""
    return make_user("alice", roles=["admin", "users"])


@pytest.fixture
def bob(make_user):
    """An ordinary member (users role)."""
    return make_user("bob")


@pytest.fixture
def charlie(make_user):
    """A signed-in stranger with no roles at all."""
    return make_user("charlie", roles=[])


@pytest.fixture
def dana(make_user):
    """An owner who is not a manager: only the `uploaders` role."""
    return make_user("dana", roles=["uploaders"])


@pytest.fixture
def token_for():
    from accounts.services import tokens_for_user

    def issue(user) -> str:
        return tokens_for_user(user=user)["access"]

    return issue


@pytest.fixture
def api_as(token_for):
    def client(user) -> APIClient:
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
        return c

    return client


# --- A real server and a real browser -------------------------------------


@pytest.fixture(scope="session")
def daphne_server():
    """daphne serving project.asgi on 127.0.0.1, with its own database."""
    from project.testing import LiveServer

    with LiveServer() as server:
        yield server


@pytest.fixture(scope="module")
def chromium(request):
    """Debian's Chromium driven by Playwright (project/testing_browser.py),
    one for a module of browser tests.

    Per module, not per session: while Playwright's sync API lives, its event
    loop runs in the main thread, and a sync test after it would fail with
    SynchronousOnlyOperation or AsyncToSync errors. So a module that holds
    other tests as well gets a Chromium per test instead.
    """
    from project.testing_browser import chromium_launched

    if _only_browser_tests(request):
        with chromium_launched() as browser:
            yield browser
    else:
        yield _BrowserPerTest()


class _BrowserPerTest:
    """Stands for a Chromium in a module with other tests: `browser_context`
    launches one for its test and closes it after."""


def _only_browser_tests(request) -> bool:
    module = request.node.path
    return all(item.get_closest_marker("browser") for item in request.session.items if item.path == module)


@pytest.fixture
def browser_context(chromium):
    """A fresh browser profile (no cookies shared), watched for
    Content-Security-Policy violations: one fails the test."""
    from project.testing_browser import chromium_launched, guarded_context

    if isinstance(chromium, _BrowserPerTest):
        with chromium_launched() as browser:
            context = guarded_context(browser, locale="en-US")
            yield context
            context.close()
        return
    context = guarded_context(chromium, locale="en-US")
    yield context
    context.close()


@pytest.fixture(scope="session")
def s3_server():
    """A local S3-compatible server (moto in server mode) on 127.0.0.1."""
    from project.testing import S3Server

    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def seaweedfs():
    """SeaweedFS (`weed mini`), a real object store, with its S3 gateway on 127.0.0.1."""
    from project.testing import SeaweedFS

    server = SeaweedFS().start()
    yield server
    server.stop()


@pytest.fixture(params=["moto", "seaweedfs"])
def object_store(request):
    """Each S3 server in turn: a test of S3 behaviour runs against moto and SeaweedFS.

    Fault injection (a stopped or frozen server) stays on `s3_server` (moto).
    """
    return request.getfixturevalue({"moto": "s3_server", "seaweedfs": "seaweedfs"}[request.param])


@pytest.fixture(scope="session")
def uvicorn_server():
    """The same app under uvicorn (uvloop, httptools): the documented alternative server."""
    from project.testing import LiveServer

    with LiveServer(server="uvicorn") as server:
        yield server


@pytest.fixture
def mailbox():
    """A real SMTP server (aiosmtpd) on a free port: (its `Mailbox`, the port)."""
    from aiosmtpd.controller import Controller

    from project.testing import Mailbox, free_port

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    box.release.set()
    controller.stop()
