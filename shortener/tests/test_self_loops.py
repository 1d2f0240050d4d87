"""SPEC §5: no link to this service's own short or redirecting paths, in any spelling.

Browsers resolve `.` and `..` segments (`%2e` included) before they send a
request, servers decode the rest, and a proxy in front may merge slashes:
each of these spellings reaches `/s/<key>` or the language switch, and a
short link to it would redirect to itself.
"""

import pytest
from django.test import override_settings

from shortener.models import ShortLink

from .conftest import EN, ZH

pytestmark = pytest.mark.django_db

OWN = "pan.example.org"
LOOP = "Links to this service's own short links are not allowed."
REDIRECTING = "Links to pages of this service that redirect, such as the language switch, are not allowed."


def shorten_on(api, url, host=OWN, **headers):
    """POST /api/short as a client of Pan running at `host`."""
    return api.post("/api/short", {"url": url}, format="json", HTTP_HOST=host, **{**EN, **headers})


@pytest.fixture(autouse=True)
def _public_host(settings):
    settings.ALLOWED_HOSTS = [OWN, "testserver"]


@pytest.mark.parametrize(
    "url",
    [
        f"https://{OWN}/./s/abcdefgh",
        f"https://{OWN}/x/../s/abcdefgh",
        f"https://{OWN}/x/y/../../s/abcdefgh",
        f"https://{OWN}/../s/abcdefgh",  # above the root is the root
        f"https://{OWN}/%2e/s/abcdefgh",
        f"https://{OWN}/%2E/s/abcdefgh",
        f"https://{OWN}/x/%2E%2E/s/abcdefgh",
        f"https://{OWN}/%2E%2E/s/abcdefgh",
        f"https://{OWN}/x/.%2e/short/abcdefgh",
        f"https://{OWN}/.//s/abcdefgh",
        f"https://{OWN}//./s/abcdefgh",
        f"https://{OWN}///short/abcdefgh",
        f"https://{OWN}/s%2Fabcdefgh",  # the server decodes %2F, Django routes /s/abcdefgh
        f"https://{OWN}/x/..%2Fs/abcdefgh",  # decoded by the server, then resolved by a proxy
        f"https://{OWN.upper()}:443/./s/abcdefgh",  # host case and the default port
        f"http://{OWN}:80/x/../s/abcdefgh",
        f"https://{OWN}./%2e/s/abcdefgh",  # the root label's dot
        f"{OWN}/./s/abcdefgh",  # no scheme: https
        f"//{OWN}/./s/abcdefgh",
        f"https://{OWN}/./S/abcdefgh",
    ],
)
def test_dot_segments_and_encodings_of_our_short_paths_are_refused(api, url):
    response = shorten_on(api, url)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_url"
    assert response.json()["error"]["message"] == LOOP
    assert ShortLink.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        f"https://{OWN}/i18n/setlang/?next=/s/abcdefgh",
        f"https://{OWN}/i18n/setlang/?language=zh-hans&next=%2Fs%2Fabcdefgh",
        f"https://{OWN}/i18n/setlang/?next=https://{OWN}/s/abcdefgh",
        f"https://{OWN}/i18n/setlang?next=/s/abcdefgh",  # APPEND_SLASH redirects to the switch first
        f"https://{OWN}/i18n/./setlang/?next=/s/abcdefgh",
        f"https://{OWN}/x/../i18n/setlang/?next=/x/../s/abcdefgh",
        f"https://{OWN}/%69%31%38%6e/setlang/?next=/s/abcdefgh",
        f"https://{OWN}/i18n/setlang/",  # with no `next` it redirects to the Referer
        f"https://{OWN}/i18n/setlang/?next=/login/",
    ],
)
def test_the_language_switch_is_refused_whatever_its_next(api, url):
    response = shorten_on(api, url)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"] == REDIRECTING
    assert ShortLink.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        f"https://{OWN}/login/?next=/./s/abcdefgh",  # signing in goes on to the short link
        f"https://{OWN}/login/?next=%2F%2E%2Fs%2Fabcdefgh",
        f"https://{OWN}/register/?next=https://{OWN}/x/../short/abcdefgh",
        f"https://{OWN}/admin/login/?next=/login/%3Fnext%3D/s/abcdefgh",
    ],
)
def test_a_next_that_leads_to_our_short_links_is_refused(api, url):
    response = shorten_on(api, url)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"] == LOOP


def test_refusals_name_the_reason_in_chinese_too(api):
    response = shorten_on(api, f"https://{OWN}/x/../s/abcdefgh", **ZH)
    assert response.json()["error"]["message"] == "不允许指向本服务自身短链接的链接。"
    response = shorten_on(api, f"https://{OWN}/i18n/setlang/?next=/s/abcdefgh", **ZH)
    assert response.json()["error"]["message"] == "不允许指向本服务会跳转的页面（例如语言切换）的链接。"


@pytest.mark.parametrize(
    "settings_override,url",
    [
        # Behind a proxy that checks hosts itself, PUBLIC_BASE_URL names the site.
        ({"ALLOWED_HOSTS": ["*"], "PUBLIC_BASE_URL": "https://files.example.com"}, "https://files.example.com/s/k"),
        ({"PUBLIC_BASE_URL": "https://files.example.com"}, "https://FILES.example.com/./s/k"),
        # A base with a path: the proxy strips /go before Pan sees /s/<key>.
        ({"SHORT_LINK_BASE_URL": "https://example.net/go"}, "https://example.net/go/./s/k"),
        ({"SHORT_LINK_BASE_URL": "https://example.net/go/"}, "https://example.net/go/x/../s/k"),
        ({"PUBLIC_BASE_URL": "https://example.com/pan"}, "https://example.com/pan/i18n/setlang/?next=/s/k"),
        ({"PUBLIC_BASE_URL": "https://bücher.example"}, "https://xn--bcher-kva.example/./s/k"),
    ],
)
def test_the_public_base_urls_name_our_own_site_too(api, settings, settings_override, url):
    for name, value in settings_override.items():
        setattr(settings, name, value)
    response = api.post("/api/short", {"url": url}, format="json", **EN)
    assert response.status_code == 400, response.content


@pytest.mark.parametrize(
    "url,stored",
    [
        ("https://example.com/./s/abcdefgh", "https://example.com/./s/abcdefgh"),  # another host's /s/
        ("https://example.com/i18n/setlang/?next=/s/abcdefgh", "https://example.com/i18n/setlang/?next=/s/abcdefgh"),
        (f"https://{OWN}/./f/abc123/", f"https://{OWN}/./f/abc123/"),  # our share page: no redirect
        (f"https://{OWN}/short/", f"https://{OWN}/short/"),  # the page that makes short links
        (f"https://{OWN}/login/?next=/f/abc123/", f"https://{OWN}/login/?next=/f/abc123/"),
        (f"https://{OWN}/sx/abcdefgh", f"https://{OWN}/sx/abcdefgh"),
        (f"https://{OWN}/f/s/abcdefgh", f"https://{OWN}/f/s/abcdefgh"),
        (f"https://{OWN}/?next=/f/abc123/", f"https://{OWN}/?next=/f/abc123/"),
        (f"https://{OWN}/post/1/", f"https://{OWN}/post/1/"),
    ],
)
def test_other_hosts_and_our_pages_that_do_not_redirect_are_accepted(api, url, stored):
    response = shorten_on(api, url)
    assert response.status_code == 201, response.content
    assert response.json()["url"] == stored


def test_pages_of_our_site_on_another_port_count_as_ours(api):
    # Ports are not compared: the same host on another port is most likely
    # Pan behind another listener.
    assert shorten_on(api, f"https://{OWN}:8443/./s/abcdefgh").status_code == 400


def test_the_shorten_page_refuses_a_self_loop_too(client):
    with override_settings(ALLOWED_HOSTS=[OWN]):
        response = client.post("/short/", {"url": f"https://{OWN}/x/../s/abcdefgh"}, HTTP_HOST=OWN, **EN)
    assert response.status_code == 400
    assert LOOP in response.content.decode().replace("&#x27;", "'")
    assert ShortLink.objects.count() == 0
