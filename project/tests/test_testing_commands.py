"""The tests' command runner answers as `manage.py` does (project/testing_commands.py).

Live tests grant roles and read rows through `LiveServer.manage`, which
hands those commands to one long-lived Django process. A runner that
reported success for a failed grant, or lost a command's output, would turn
their set-up into silent no-ops; so each answer here is compared with a
real `manage.py` process on the same database.
"""

import subprocess

import pytest

from project.testing import LiveServer, _manage

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def site():
    """A live server's database and settings, no server process needed."""
    live = LiveServer()
    try:
        yield live
    finally:
        live.stop()


@pytest.mark.parametrize(
    "args",
    [
        ("grant_role", "nobody", "uploaders"),  # CommandError: status 1, its message on stderr
        ("grant_role", "nobody"),  # a usage error from the parser: status 2
        ("shell", "-v", "0", "-c", "from accounts.models import User; print(User.objects.count(), 'users')"),
        ("shell", "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"),
        ("shell", "-c", "raise ValueError('broken script')"),
    ],
)
def test_each_answer_is_the_one_manage_py_gives(site, args):
    runner = site.manage(*args, check=False)
    process = _manage(site.env, *args, check=False)
    assert site.commands is not None, "the command did not go to the runner"
    assert (runner.returncode, runner.stdout) == (process.returncode, process.stdout)
    if "ValueError" in process.stderr:  # a traceback: the same error, other frames
        assert runner.stderr.strip().splitlines()[-1] == process.stderr.strip().splitlines()[-1]
    else:
        assert runner.stderr == process.stderr


def test_a_grant_is_written_and_seen_by_the_next_command_and_by_another_process(site):
    create = "from accounts.models import User; User.objects.create_user('erin', password='Lantern-Field-71')"
    _manage(site.env, "shell", "-c", create)  # another process writes meanwhile
    site.manage("grant_role", "erin", "uploaders")
    roles = (
        "from accounts.models import User; "
        "print(*User.objects.get(username='erin').groups.values_list('name', flat=True))"
    )
    assert site.manage("shell", "-v", "0", "-c", roles).stdout.split() == ["uploaders"]
    assert _manage(site.env, "shell", "-v", "0", "-c", roles).stdout.split() == ["uploaders"]
    with pytest.raises(RuntimeError, match="No such user"):
        site.manage("grant_role", "nobody", "uploaders")


def test_another_environment_gets_a_process_of_its_own(site):
    # `env=` changes settings that a process set up once cannot change: a new manage.py sees them.
    flush = "from django.conf import settings; print(settings.SHORT_LINK_STATS_FLUSH_SECONDS)"
    seven = site.manage("shell", "-v", "0", "-c", flush, env={"SHORT_LINK_STATS_FLUSH_SECONDS": "7"})
    assert seven.stdout.strip() == "7.0"
    assert site.manage("shell", "-v", "0", "-c", flush).stdout.strip() == "2.0"


def test_a_runner_that_dies_is_reported_and_replaced(site):
    site.manage("shell", "-v", "0", "-c", "print(1)")
    with pytest.raises(RuntimeError, match="command runner died"):
        site.manage("shell", "-v", "0", "-c", "import os; os._exit(9)")
    assert site.manage("shell", "-v", "0", "-c", "print(2)").stdout.strip() == "2"


def test_a_command_past_its_time_is_stopped(site):
    with pytest.raises(subprocess.TimeoutExpired):
        site.commands.run("shell", "-v", "0", "-c", "import time; time.sleep(30)", timeout=1)
    assert site.manage("shell", "-v", "0", "-c", "print(3)").stdout.strip() == "3"
