"""The Content-Security-Policy header (docs/security.md), through the
real middleware stack; the templates and browser tests that keep it true.
The browser's side is project/tests/test_browser_csp.py."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import path as route

from project.lib.secrets import password_hash
from shortener.models import ShortLink

BASE_DIR = Path(settings.BASE_DIR)

SITE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "media-src": ["'self'", "blob:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def policy_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";"))}


def without_nonce(policy: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: [value for value in values if not value.startswith("'nonce-")] for name, values in policy.items()}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/login/", "/register/", "/short/", "/no-such-page/"])
def test_every_page_carries_the_strict_policy(path):
    response = Client().get(path)
    assert response["Content-Type"].startswith("text/html")
    assert without_nonce(policy_of(response)) == SITE_POLICY
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


def boom(request):
    raise RuntimeError("a view that fails")


urlpatterns = [route("boom/", boom)]
handler500 = "project.views.server_error"


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_the_500_page_carries_it():
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500 and b"Something went wrong" in response.content
    assert without_nonce(policy_of(response)) == SITE_POLICY


@pytest.mark.django_db
def test_api_answers_carry_it_too():
    assert without_nonce(policy_of(Client().get("/api/schema/"))) == SITE_POLICY


@pytest.mark.django_db
def test_a_page_that_uses_the_nonce_names_it_in_its_header_and_it_is_new_each_time(alice):
    client = Client()
    client.force_login(alice)
    nonces = []
    for _ in range(2):
        response = client.get("/admin/dashboard/")
        assert response.status_code == 200
        used = set(re.findall(r'<style nonce="([^"]+)">', response.content.decode()))
        policy = policy_of(response)
        assert len(used) == 1
        nonce = used.pop()
        assert f"'nonce-{nonce}'" in policy["style-src"] and f"'nonce-{nonce}'" in policy["script-src"]
        assert len(nonce) >= 22  # 128 random bits
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


@pytest.mark.django_db
def test_redoc_alone_widens_its_policy_and_swagger_ui_uses_the_nonce():
    redoc = Client().get("/api/redoc/")
    policy = policy_of(redoc)
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]  # ReDoc's styled-components
    assert policy["worker-src"] == ["'self'", "blob:"] and policy["font-src"] == ["'self'", "data:"]
    assert without_nonce(policy)["script-src"] == ["'self'"]
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", redoc.content.decode())
    assert all(f'nonce="{nonce[7:-1]}"' in tag for tag in inline for nonce in policy["script-src"][1:]), inline
    assert 'http-equiv="Content-Security-Policy"' not in redoc.content.decode()  # one policy, in the header

    swagger = Client().get("/api/docs/")
    body = swagger.content.decode()
    nonces = set(re.findall(r'<(?:script|style) nonce="([^"]+)">', body))
    assert len(nonces) == 1 and body.count(f'nonce="{nonces.pop()}"') == 2  # its inline style and script
    assert without_nonce(policy_of(swagger)) == SITE_POLICY


@pytest.mark.django_db
def test_the_link_password_page_lets_its_answer_redirect_to_the_target():
    ShortLink.objects.create(key="CspPass1", target_url="https://example.com/", password=password_hash("Lantern-71"))
    response = Client().get("/s/CspPass1")
    assert response.status_code == 401
    policy = policy_of(response)
    assert policy["form-action"] == ["'self'", "https:", "http:"]
    assert {name: values for name, values in without_nonce(policy).items() if name != "form-action"} == {
        name: values for name, values in SITE_POLICY.items() if name != "form-action"
    }


# --- What keeps it true ------------------------------------------------------

TEMPLATES = sorted((BASE_DIR / "templates").rglob("*.html"))
# <script> without src, <style>, without the response's nonce; style and
# event-handler attributes; javascript: URLs. The policy refuses them all.
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)[^>]*>", re.IGNORECASE), "inline <script> without the nonce"),
    (re.compile(r"<style(?![^>]*\bnonce=)[^>]*>", re.IGNORECASE), "<style> without the nonce"),
    (re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE), "style attribute"),
    (re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE), "inline event handler"),
    (re.compile(r"javascript:", re.IGNORECASE), "javascript: URL"),
]
# ReDoc's page allows 'unsafe-inline' styles (project/urls.py): its one <style> needs no nonce.
ALLOWED = {("drf_spectacular/redoc.html", "<style> without the nonce")}


def test_no_template_has_inline_code_the_policy_would_refuse():
    assert TEMPLATES
    found = []
    for path in TEMPLATES:
        name = path.relative_to(BASE_DIR / "templates").as_posix()
        text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}", "", path.read_text(), flags=re.DOTALL)
        for pattern, what in INLINE:
            if pattern.search(text) and (name, what) not in ALLOWED:
                found.append(f"{name}: {what}")
    assert found == []


def test_every_browser_test_watches_its_contexts_for_violations():
    """Contexts come from project.testing.guarded_context (conftest's
    browser_context too): a bare new_context() would not fail its test on a
    violation. Nor does a test add inline script tags (project.testing.inject_script),
    or wait on a predicate the policy would refuse to compile."""
    found = []
    for path in sorted(BASE_DIR.glob("*/tests/*.py")) + [BASE_DIR / "conftest.py"]:
        text = path.read_text()
        for call in ("new_context(", "add_script_tag(", "add_style_tag(", "bypass_csp"):
            if call in text and path != Path(__file__):
                found.append(f"{path.relative_to(BASE_DIR)}: {call}")
        # A predicate given as an expression is compiled in the page with
        # `new Function`, which the policy refuses ('unsafe-eval'); as a
        # function ("() => …") it is not.
        for match in EXPRESSION_PREDICATE.finditer(text):
            found.append(f"{path.relative_to(BASE_DIR)}: {match.group(0)}")
    assert found == []


EXPRESSION_PREDICATE = re.compile(
    r"""wait_for_function\(\s*f?["'](?!\s*(?:\(\)|\w+|\([\w, ]*\))\s*=>|async|function)"""
)
