"""The OpenAPI schema tells the truth about the API (SPEC §7; issue 11, item 17).

schemathesis runs over the whole schema against a real daphne, signed in as
the admin, with every check (`-c all`): each answer's status, content type,
headers and body must be what the schema declares, schema-valid requests
must be accepted and schema-violating ones refused, and nothing may answer
5xx. Before this test the same run found 17 kinds of failure (undocumented
400/404/410/416/429, byte endpoints with undeclared content types, rules the
schema did not state, `GET /api/short`'s page shape, `?page=` garbage
accepted).

It runs the schemathesis command line, the way docs/architecture.md ("The
OpenAPI schema") tells a developer to run it locally: one run does all four phases (examples,
coverage, fuzzing, stateful) and the checks that look at a whole run.
Bounded: `MAX_EXAMPLES` cases per operation and phase, a fixed seed, and a
wall-clock guard on the process.

Some rules cannot be written in OpenAPI: a password that is common or too
like the username, look-alike names, target URLs pointing at private
addresses or at Pan itself, an expiry in the past, a share with neither a
file nor a text. The schema states them in words, and the operations that
check them may refuse a schema-valid request with 400 (`RULES_IN_WORDS`).
"""

import json
import logging
import re
import subprocess
import sys
import time

import httpx
import pytest

from project.testing import LiveServer

pytestmark = pytest.mark.live
logger = logging.getLogger(__name__)

PASSWORD = "Lantern-Field-71"
MAX_EXAMPLES = 30
SEED = 20261130
# The whole run takes about a minute on a 2-core machine; past this it is stopped and fails.
WALL_CLOCK_GUARD = 240

# Answers that accept nothing yet are right for a schema-valid request: the
# object is gone (410), or the request broke a rule only stated in words (400).
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "410", "429", "5xx"]
RULES_IN_WORDS = [
    ("/api/register", "POST"),  # common or username-like passwords, look-alike names
    ("/api/short", "POST"),  # target URL rules, an expiry in the future, reserved slugs
    ("/api/short/{key}", "PATCH"),
    ("/api/shares", "POST"),  # a file or a text; a text not blank, its format known
    ("/api/shares/{unique_name}", "PATCH"),  # a complete share cannot be reopened
    ("/api/short/{key}/stats", "GET"),  # the first day not after the last
    ("/api/short/{key}/stats.csv", "GET"),
]
# Answers that depend on the state the run itself made: a drop-off request
# that schemathesis created taking 1 byte is full after its first drop (413).
RULES_OF_STATE = [
    ("/api/requests/{code}/drops", "POST", ["400", "413"]),
]


def _toml_list(values) -> str:
    return "[" + ", ".join(json.dumps(value) for value in values) + "]"


def schemathesis_config(seeds: dict) -> str:
    lines = [
        # The run never needs anything but this server.
        "[checks.positive_data_acceptance]",
        f"expected-statuses = {_toml_list(POSITIVE_STATUSES)}",
        "",
        "[parameters]",
        f'"path.unique_name" = {json.dumps(seeds["share"])}',
        f'"path.item_id" = {seeds["item"]}',
        f'"path.key" = {json.dumps(seeds["key"])}',
        f'"path.code" = {json.dumps(seeds["request_code"])}',
        # Downloads get the right code, so their bytes (and ranges) are checked too.
        f'"header.X-Share-Code" = {json.dumps(seeds["code"])}',
        "",
        # Deletions get objects of their own, so the others stay reachable.
        "[[operations]]",
        'include-method = "DELETE"',
        f'parameters = {{ "path.unique_name" = {json.dumps(seeds["spare_share"])}, '
        f'"path.key" = {json.dumps(seeds["spare_key"])} }}',
    ]
    for path, method in RULES_IN_WORDS:
        lines += [
            "",
            "[[operations]]",
            f"include-path = {json.dumps(path)}",
            f"include-method = {json.dumps(method)}",
            f"checks.positive_data_acceptance.expected-statuses = {_toml_list([*POSITIVE_STATUSES, '400'])}",
        ]
    for path, method, statuses in RULES_OF_STATE:
        lines += [
            "",
            "[[operations]]",
            f"include-path = {json.dumps(path)}",
            f"include-method = {json.dumps(method)}",
            f"checks.positive_data_acceptance.expected-statuses = {_toml_list([*POSITIVE_STATUSES, *statuses])}",
        ]
    return "\n".join(lines) + "\n"


def _upload(server: LiveServer, auth: dict, name: str) -> dict:
    files = {"file": (name, b"seeded for schemathesis\n", "text/plain")}
    response = httpx.post(f"{server.url}/api/shares", headers=auth, files=files, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def _shorten(server: LiveServer, auth: dict, url: str) -> str:
    response = httpx.post(f"{server.url}/api/short", headers=auth, json={"url": url}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["key"]


def _request(server: LiveServer, auth: dict) -> str:
    """A drop-off request that takes plenty, for the senders' operations."""
    body = {"title": "seeded", "max_files": 10_000, "max_bytes": 10**9}
    response = httpx.post(f"{server.url}/api/requests", headers=auth, json=body, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["code"].replace("-", "")


@pytest.fixture(scope="module")
def seeded():
    """A live server with an admin, a share and a short link for path parameters to hit.

    Rate limits stay on in production and are declared (429); here they are
    off so that they do not turn most of the run into 429s.
    """
    env = {
        "RATE_LIMIT_ENABLED": "false",
        "LOGIN_FAILURE_LIMIT": "0",
        "LOGIN_CLIENT_FAILURE_LIMIT": "0",
        "JWT_ACCESS_SECONDS": "3600",
        "PAN_DROP_CLIENT_LIMIT": "100000",
        "PAN_DROP_NETWORK_LIMIT": "100000",
    }
    with LiveServer(extra_env=env) as server:
        server.register("boss", PASSWORD)  # the first account is the admin
        login = httpx.post(f"{server.url}/api/login", json={"username": "boss", "password": PASSWORD}, timeout=30)
        auth = {"Authorization": f"Bearer {login.json()['access']}"}
        share = _upload(server, auth, "kept.txt")
        seeds = {
            "token": login.json()["access"],
            "share": share["id"],
            "item": share["items"][0]["id"],
            "code": share["code"],
            "key": _shorten(server, auth, "https://example.com/kept"),
            "spare_share": _upload(server, auth, "spare.txt")["id"],
            "spare_key": _shorten(server, auth, "https://example.com/spare"),
            "request_code": _request(server, auth),
        }
        yield server, seeds


def run_schemathesis(server: LiveServer, seeds: dict, tmp_path, *args: str, schema: str | None = None):
    config = tmp_path / "schemathesis.toml"
    config.write_text(schemathesis_config(seeds))
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "--no-color",
        "run",
        schema or f"{server.url}/api/schema/",
        "--url",
        server.url,
        "--header",
        f"Authorization: Bearer {seeds['token']}",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        *args,
    ]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=WALL_CLOCK_GUARD, cwd=tmp_path)  # noqa: S603
    return result, time.monotonic() - started


def test_every_answer_is_what_the_schema_declares(seeded, tmp_path):
    server, seeds = seeded
    result, seconds = run_schemathesis(server, seeds, tmp_path)
    output = result.stdout + result.stderr
    summary = re.search(r"(\d+) generated", output)
    logger.info("schemathesis: %s test cases in %.0fs", summary.group(1) if summary else "?", seconds)
    assert result.returncode == 0, f"schemathesis failed after {seconds:.0f}s:\n{output[-12000:]}"
    operations = re.search(r"Operations:\s+(\d+) selected / (\d+) total", output)
    assert operations and operations.group(1) == operations.group(2), output[-3000:]
    assert summary and int(summary.group(1)) > 1000, output[-3000:]
    assert "Server error" not in output


def test_a_schema_that_leaves_out_a_status_fails(seeded, tmp_path):
    # The run above can fail: the same check over a schema without one
    # declared status (404 for an unknown short link) finds the lie.
    server, seeds = seeded
    schema = httpx.get(f"{server.url}/api/schema/?format=json", timeout=30).json()
    del schema["paths"]["/api/short/{key}"]["get"]["responses"]["404"]
    lying = tmp_path / "lying.json"
    lying.write_text(json.dumps(schema))
    unknown = {**seeds, "key": "no-such-link"}
    result, _seconds = run_schemathesis(
        server,
        unknown,
        tmp_path,
        "--include-path",
        "/api/short/{key}",
        "--include-method",
        "GET",
        "--phases",
        "examples,coverage",
        schema=str(lying),
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "Undocumented status code" in output
