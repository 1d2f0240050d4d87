"""Deeply nested and malformed JSON is a 400 in the API error shape, in the
caller's language, and changes nothing (SPEC §8)."""

import json

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from project.lib.json_parser import MAX_DEPTH, json_depth
from shortener.models import ShortLink

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
NESTED = "[" * 1000 + "]" * 1000  # 2 KB: RecursionError in json.loads, a 500 before


def nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.fixture
def clients(bob, api_as):
    return {"/api/login": APIClient(), "/api/register": APIClient(), "/api/short": api_as(bob)}


@pytest.mark.parametrize("path", ["/api/login", "/api/register", "/api/short"])
@pytest.mark.parametrize(
    "body", [NESTED, nested_object(1000), nested_object(MAX_DEPTH + 1)], ids=["arrays", "objects", "just-over"]
)
def test_deep_json_is_a_400_in_both_languages_and_changes_nothing(clients, path, body):
    users, links = User.objects.count(), ShortLink.objects.count()
    english = clients[path].post(path, body, content_type="application/json", **EN)
    chinese = clients[path].post(path, body, content_type="application/json", **ZH)
    assert english.status_code == chinese.status_code == 400
    too_deep = "The JSON in the request is nested too deeply (more than 32 levels)."
    assert english.json() == {"error": {"code": "parse_error", "message": too_deep}}
    assert chinese.json()["error"]["code"] == "parse_error"
    assert "32" in chinese.json()["error"]["message"] and "嵌套" in chinese.json()["error"]["message"]
    assert (User.objects.count(), ShortLink.objects.count()) == (users, links)


def test_json_at_the_depth_limit_still_parses(bob, api_as):
    # Depth 32 reaches the serializer, which refuses it as a value, not as JSON.
    body = json.dumps({"url": json.loads(nested_object(MAX_DEPTH - 1))})
    response = api_as(bob).post("/api/short", body, content_type="application/json", **EN)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize(
    "body,where",
    [('{"url": ', "line 1, column 9"), ('{"url": "x"}\n}', "line 2, column 1"), ("[NaN]", None), ("\xff", None)],
    ids=["truncated", "trailing", "nan", "latin-1"],
)
def test_malformed_json_is_a_400_in_the_callers_language(bob, api_as, body, where):
    client = api_as(bob)
    english = client.post("/api/short", body.encode("latin-1"), content_type="application/json", **EN).json()
    chinese = client.post("/api/short", body.encode("latin-1"), content_type="application/json", **ZH).json()
    assert english["error"]["code"] == chinese["error"]["code"] == "parse_error"
    assert english["error"]["message"].startswith("The request body is not valid JSON")
    assert "JSON" in chinese["error"]["message"] and english["error"]["message"] != chinese["error"]["message"]
    if where:
        assert where in english["error"]["message"]


def test_a_good_request_still_works(bob, api_as):
    body = json.dumps({"url": "https://example.com/ok", "slug": "ok-brackets", "note": '[[[ {{{ "quoted" ]]]'})
    response = api_as(bob).post("/api/short", body, content_type="application/json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "text,depth",
    [
        ("1", 0),
        ("[]", 1),
        ('[[1, {"a": [2]}]]', 4),
        ('"[[["', 0),
        ('["\\"[["]', 1),
        ('{"a": "}}}"}', 1),
        (NESTED, 1000),
        ('"unterminated [[[', 0),
        ('["\\', 1),
    ],
)
def test_depth_counts_brackets_outside_strings(text, depth):
    assert json_depth(text) == depth


@pytest.mark.parametrize(
    "text",
    ['"' + '\\"' * 1_000_000, "[" * 2_000_000, "[]" * 1_000_000],
    ids=["escaped-quotes", "open-brackets", "flat-brackets"],
)
def test_depth_takes_linear_time_on_hostile_input(text):
    import time

    started = time.perf_counter()
    json_depth(text)
    assert time.perf_counter() - started < 2


def test_deep_json_to_the_shares_api_is_a_400(bob, make_user, api_as):
    uploader = make_user("uma", roles=["users", "uploaders"])
    response = api_as(uploader).post("/api/shares", NESTED, content_type="application/json")
    assert response.status_code == 400
