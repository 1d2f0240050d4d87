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
The tus endpoints (`/api/uploads/`, uploads/openapi.py) refuse in tus's own
words too: 412 for a missing or other `Tus-Resumable`, 460 for a body that
does not match its `Upload-Checksum` (`TUS_REFUSALS`, `RULES_OF_STATE`).
"""

import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

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
# How schemathesis sends a tus body (bytes, like application/octet-stream).
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")

# Answers that accept nothing yet are right for a schema-valid request: the
# object is gone (410), or the request broke a rule only stated in words (400).
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "410", "429", "5xx"]
RULES_IN_WORDS = [
    ("/api/register", "POST"),  # common or username-like passwords, look-alike names
    ("/api/short", "POST"),  # target URL rules, an expiry in the future, reserved slugs
    ("/api/short/{key}", "PATCH"),
    ("/api/webhooks", "POST"),  # the target rules (a public host that resolves), WEBHOOKS_PER_USER
    ("/api/shares", "POST"),  # a file or a text; a text not blank, its format known
    ("/api/shares/{unique_name}", "PATCH"),  # a complete share cannot be reopened
    ("/api/short/{key}/stats", "GET"),  # the first day not after the last
    ("/api/short/{key}/stats.csv", "GET"),
    # Tolerated by accident until an `[[operations]]` entry named its operation
    # (`include-path` and `include-method` select either, not both): a code's
    # shape in free text; a title without control characters and the limits
    # from settings (`PAN_REQUEST_MAX_*`, not stated); the fields a user may
    # change; a file unless the share is only being completed.
    ("/api/pickup", "POST"),
    ("/api/requests", "POST"),
    ("/api/me", "PATCH"),
    ("/api/shares/{unique_name}/items", "POST"),
    # Upload-Length or Upload-Defer-Length, the metadata's keys and base64 values, names
    ("/api/uploads/", "POST"),
    ("/api/uploads/{token}", "PATCH"),  # Upload-Length only to declare a deferred length
    # curl -T: a name without "/", "..", control characters; the options' bounds and lengths once decoded
    ("/api/put/{name}", "PUT"),
]
# Answers that depend on the state the run itself made: a drop-off request
# that schemathesis created taking 1 byte is full after its first drop (413);
# a tus body longer than the upload lacks (413) or that does not match its
# Upload-Checksum (460), which no schema can tie to the body.
RULES_OF_STATE = [
    ("/api/requests/{code}/drops", "POST", ["400", "413"]),
    ("/api/uploads/", "POST", ["413", "460"]),
    ("/api/uploads/{token}", "PATCH", ["413", "460"]),
]
# schemathesis's own lists of the answers that refuse a request.
NEGATIVE_STATUSES = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]
MISSING_HEADER_STATUSES = ["400", "401", "403", "406", "415", "422"]
# tus refuses in its own words (docs/uploads.md): a missing or other
# `Tus-Resumable` is 412, an `Upload-Length` over `Tus-Max-Size` 413, a body
# that does not match its `Upload-Checksum` 460.
TUS_REFUSALS = [
    ("/api/uploads/", "POST", ["412", "413", "460"]),
    ("/api/uploads/{token}", "HEAD", ["412"]),
    ("/api/uploads/{token}", "PATCH", ["412", "413", "460"]),
    ("/api/uploads/{token}", "DELETE", ["412"]),
]


def _toml_list(values) -> str:
    return "[" + ", ".join(json.dumps(value) for value in values) + "]"


def _expected_statuses() -> dict:
    """Per operation, per check: the statuses it expects (one `[[operations]]` entry per operation)."""
    expected: dict = {}

    def add(path, method, check, defaults, statuses):
        checks = expected.setdefault((path, method), {})
        checks[check] = [*checks.get(check, defaults), *statuses]

    for path, method in RULES_IN_WORDS:
        add(path, method, "positive_data_acceptance", POSITIVE_STATUSES, ["400"])
    for path, method, statuses in RULES_OF_STATE:
        add(path, method, "positive_data_acceptance", POSITIVE_STATUSES, statuses)
    for path, method, statuses in TUS_REFUSALS:
        add(path, method, "negative_data_rejection", NEGATIVE_STATUSES, statuses)
        add(path, method, "missing_required_header", MISSING_HEADER_STATUSES, ["412"])
    return expected


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
        f'"path.token" = {json.dumps(seeds["upload"])}',
        # Downloads get the right code, so their bytes (and ranges) are checked too.
        f'"header.X-Share-Code" = {json.dumps(seeds["code"])}',
        "",
        # Deletions get objects of their own, so the others stay reachable.
        "[[operations]]",
        'include-method = "DELETE"',
        f'parameters = {{ "path.unique_name" = {json.dumps(seeds["spare_share"])}, '
        f'"path.key" = {json.dumps(seeds["spare_key"])}, "path.token" = {json.dumps(seeds["spare_upload"])} }}',
    ]
    for (path, method), checks in _expected_statuses().items():
        lines += ["", "[[operations]]", f"include-name = {json.dumps(f'{method} {path}')}"]
        lines += [f"checks.{check}.expected-statuses = {_toml_list(statuses)}" for check, statuses in checks.items()]
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


def _resumable(server: LiveServer, auth: dict) -> str:
    """A tus upload with room for all the bytes the run sends; the token of its URL."""
    headers = {**auth, "Tus-Resumable": "1.0.0", "Upload-Length": str(10**9)}
    response = httpx.post(f"{server.url}/api/uploads/", headers=headers, timeout=30)
    assert response.status_code == 201, response.text
    return response.headers["Location"].rsplit("/", 1)[-1]


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
            "upload": _resumable(server, auth),
            "spare_upload": _resumable(server, auth),
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
        # Path parameters are pinned (schemathesis_config), so a stateful link's
        # value never reaches the request: "DELETE what POST /api/files just
        # created" deletes the pinned spare, gone after its first deletion (404).
        # That is not a created resource missing, which this check (ST302) reports.
        "--exclude-checks",
        "ensure_resource_availability",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        *args,
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)}
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=WALL_CLOCK_GUARD, cwd=tmp_path, env=env
    )
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
    # The run reached the tus upload's core, not only its refusals: a PATCH stored bytes.
    state = httpx.head(f"{server.url}/api/uploads/{seeds['upload']}", headers={"Tus-Resumable": "1.0.0"}, timeout=30)
    assert int(state.headers["Upload-Offset"]) > 0, output[-3000:]


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
