"""Coarse client descriptions (project/lib/clients.py): browser and OS family,
bot flag, and a country from a configured MaxMind-format database."""

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from project.lib import clients
from project.lib.clients import client_summary

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.fixture
def country_database(tmp_path, settings):
    """A GeoLite2-Country-shaped database: 203.0.113.0/24 in Germany, 198.51.100.0/24 in Japan."""
    writer = MMDBWriter(4, "GeoLite2-Country", languages=["en"], description="test")
    writer.insert_network(IPSet(["203.0.113.0/24"]), {"country": {"iso_code": "DE"}})
    writer.insert_network(IPSet(["198.51.100.0/24"]), {"country": {"iso_code": "JP"}})
    path = tmp_path / "country.mmdb"
    writer.to_db_file(str(path))
    settings.GEOIP_DATABASE = str(path)
    clients._reader.cache_clear()
    yield path
    clients._reader.cache_clear()


@pytest.mark.parametrize(
    "agent, browser, os_family, bot",
    [
        (FIREFOX, "Firefox", "Linux", False),
        (IPHONE, "Mobile Safari", "iOS", False),
        (GOOGLEBOT, "Googlebot", "Other", True),
        ("curl/8.5.0", "curl", "Other", True),
        ("", "Other", "Other", True),
    ],
)
def test_browser_os_and_bots(agent, browser, os_family, bot):
    summary = client_summary(agent, "192.0.2.1")
    assert (summary.browser, summary.os, summary.bot) == (browser, os_family, bot)


def test_no_country_without_a_database(settings):
    settings.GEOIP_DATABASE = ""
    assert client_summary(FIREFOX, "203.0.113.9").country is None


def test_the_country_comes_from_the_configured_database(country_database):
    assert client_summary(FIREFOX, "203.0.113.9").country == "DE"
    assert client_summary(FIREFOX, "198.51.100.200").country == "JP"
    assert client_summary(FIREFOX, "192.0.2.1").country is None  # not in the database
    assert client_summary(FIREFOX, "not an address").country is None


def test_a_hostile_user_agent_is_cut_and_described_not_kept():
    hostile = "<script>alert(1)</script>" + "A" * 100_000
    summary = client_summary(hostile, "192.0.2.1")
    assert "<script>" not in summary.browser and len(summary.browser) <= 64
