"""Which targets may be shortened (SPEC §5): refused kinds get a clear 400."""

import pytest
from django.test import override_settings

from shortener.models import ShortLink

from .conftest import ZH, shorten

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url,message",
    [
        ("javascript:alert(1)", "Only http and https links can be shortened."),
        ("JavaScript:alert(document.cookie)", "Only http and https links can be shortened."),
        ("data:text/html,<script>alert(1)</script>", "Only http and https links can be shortened."),
        ("file:///etc/passwd", "Only http and https links can be shortened."),
        ("mailto:someone@example.com", "Only http and https links can be shortened."),
        ("ftp://example.com/file", "Only http and https links can be shortened."),
        ("vbscript:msgbox(1)", "Only http and https links can be shortened."),
        ("https://user:secret@example.com/", "Links with a user name or password are not allowed."),
        ("https://user@example.com/", "Links with a user name or password are not allowed."),
        ("https://example.com/" + "a" * 2040, "The URL is longer than 2048 characters."),
        ("https://example.com/a b", "The URL must not contain spaces or control characters."),
        (" https://example.com/", "The URL must not contain spaces or control characters."),
        ("https://example.com/\tx", "The URL must not contain spaces or control characters."),
        ("https://example.com/\nLocation: evil", "The URL must not contain spaces or control characters."),
        ("https://example.com/\x7f", "The URL must not contain spaces or control characters."),
        ("https://example.com/\x1b[31m", "The URL must not contain spaces or control characters."),
        ("https://example.com/\u200bx", "The URL must not contain spaces or control characters."),
        ("https://example.com/\u202ex", "The URL must not contain spaces or control characters."),
        ("https:///path-only", "The URL must name a host."),
        ("https:example.com", "The URL must name a host."),
        ("https://exa_mple..com/", "The host name is not valid."),
        ("https://-bad-.com/", "The host name is not valid."),
        ("https://example.com\\@evil.com/", "The host name is not valid."),
        ("https://example.com:99999/", "The port is not valid."),
        ("https://example.com:abc/", "The port is not valid."),
    ],
)
def test_refused_targets_get_a_clear_400_and_nothing_is_stored(api, url, message):
    response = shorten(api, url)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_url"
    assert error["message"] == message
    assert error["fields"]["url"] == [message]
    assert ShortLink.objects.count() == 0


@pytest.mark.parametrize(
    "url,message",
    [("", "This field may not be blank."), ("https://example.com/\x00", "Null characters are not allowed.")],
)
def test_empty_urls_and_nul_characters_are_refused_by_the_input_checks(api, url, message):
    response = shorten(api, url)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["url"] == [message]
    assert ShortLink.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.8.9.10:8080/x",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/router",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata, link-local
        "http://100.64.0.1/",  # shared address space (CGNAT)
        "http://0.0.0.0/",
        "http://224.0.0.1/",  # multicast
        "http://240.0.0.1/",  # reserved
        "http://255.255.255.255/",
        "http://[::1]/",
        "http://[::]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[ff02::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "http://[::ffff:10.0.0.1]/",
        "http://[2002:7f00:1::]/",  # 6to4 wrapping 127.0.0.1
        "http://[64:ff9b::a00:1]/",  # NAT64 wrapping 10.0.0.1
        "http://2130706433/",  # 127.0.0.1 as one decimal number
        "http://0x7f000001/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",  # octal
        "http://127.1/",
        "http://017700000001/",
        "http://localhost/",
        "http://LOCALHOST:8000/x",
        "http://app.localhost/",
        "http://intranet/",  # a single-label name only resolves on a local network
    ],
)
def test_private_loopback_and_local_targets_are_refused(api, url):
    response = shorten(api, url)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "Links to private, loopback or local network addresses are not allowed."
    )
    assert ShortLink.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://1.2.3.256/",
        "http://1.2.3.08/",
        "http://1.2.3.4.5/",
        "http://1.-1.0.1/",
        "http://4294967296/",
        "http://[1::2::3]/",
        "http://[::1/",
    ],
)
def test_malformed_ip_hosts_are_refused(api, url):
    response = shorten(api, url)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The host name is not valid."


@pytest.mark.parametrize(
    "url",
    [
        "http://testserver/s/abcdefgh",
        "https://testserver/short/abcdefgh",
        "https://TESTSERVER/S/abcdefgh",
        "https://testserver//s/abcdefgh",
        "https://testserver/%73/abcdefgh",  # /s/ percent-encoded
        "testserver/s/abcdefgh",
        "https://pan.example.org/s/x1y2z3",  # an ALLOWED_HOSTS entry
        "https://files.pan.example.org/short/x1y2z3",  # a subdomain of a ".host" entry
        "https://short.example.net/s/x1y2z3",  # SHORT_LINK_BASE_URL
    ],
)
def test_links_to_our_own_short_paths_are_refused(api, url):
    with override_settings(
        ALLOWED_HOSTS=["testserver", "pan.example.org", ".pan.example.org"],
        SHORT_LINK_BASE_URL="https://short.example.net",
    ):
        response = shorten(api, url)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Links to this service's own short links are not allowed."
    assert ShortLink.objects.count() == 0


def test_other_pages_of_our_own_site_may_be_shortened(api):
    with override_settings(ALLOWED_HOSTS=["testserver", "pan.example.org"]):
        response = shorten(api, "https://pan.example.org/f/abc123/?code=XYZ")
    assert response.status_code == 201
    assert response.json()["url"] == "https://pan.example.org/f/abc123/?code=XYZ"


@pytest.mark.parametrize(
    "given,stored",
    [
        ("example.com/path", "https://example.com/path"),
        ("example.com", "https://example.com/"),
        ("example.com:8443/x?y=1", "https://example.com:8443/x?y=1"),
        ("//example.com/x", "https://example.com/x"),
        ("HTTPS://EXAMPLE.COM/Path", "https://example.com/Path"),
        ("http://example.com", "http://example.com/"),
        ("https://bücher.example/straße", "https://xn--bcher-kva.example/stra%C3%9Fe"),
        ("https://例子.测试/路径?q=值", "https://xn--fsqu00a.xn--0zwm56d/%E8%B7%AF%E5%BE%84?q=%E5%80%BC"),
        ("https://ＥＸＡＭＰＬＥ．com/", "https://example.com/"),  # full-width letters and dot (UTS 46)
        ("https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"),
        ("http://134744072/", "http://8.8.8.8/"),  # a public address written as a number
        ("http://[2606:4700:4700:0::1111]/", "http://[2606:4700:4700::1111]/"),
        ("https://example.com/a?b=c#frag", "https://example.com/a?b=c#frag"),
    ],
)
def test_targets_are_normalised_idn_to_ascii_and_bare_hosts_to_https(api, given, stored):
    response = shorten(api, given)
    assert response.status_code == 201, response.content
    assert response.json()["url"] == stored
    assert ShortLink.objects.get().target_url == stored


def test_private_targets_can_be_allowed_for_an_intranet_installation(api):
    with override_settings(SHORT_LINK_ALLOW_PRIVATE_TARGETS=True):
        assert shorten(api, "http://192.168.1.10/wiki").status_code == 201
        assert shorten(api, "http://intranet/").status_code == 201
        # ... but never a loop back into our own short links.
        assert shorten(api, "http://testserver/s/abcdefgh").status_code == 400


def test_refusals_come_in_chinese_too(api):
    response = api.post("/api/short", {"url": "javascript:alert(1)"}, format="json", **ZH)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "只能缩短 http 和 https 链接。"
