"""What Pan may say about a client: coarse, never the address or the full User-Agent.

`client_summary(user_agent, address)` → browser family, OS family, whether it
is a bot (ua-parser's device family "Spider", or a tool such as curl), and the
country (ISO code) when `GEOIP_DATABASE` names a MaxMind-format country or city
database (GeoLite2 or another .mmdb; maxminddb reads it), else None. Used by live
download events (events/) and short-link statistics.
"""

import functools
import logging
from dataclasses import asdict, dataclass

from django.conf import settings

logger = logging.getLogger(__name__)

# User agents of tools and libraries, not people: counted as bots in statistics.
_TOOLS = {"curl", "wget", "python requests", "python-urllib", "go-http-client", "httpx", "aiohttp", "okhttp"}
_UA_LIMIT = 512  # longer strings are cut before parsing: parsing time grows with length


@dataclass(frozen=True)
class ClientSummary:
    browser: str
    os: str
    bot: bool
    country: str | None

    def as_dict(self) -> dict:
        return asdict(self)


@functools.lru_cache(maxsize=2048)
def _parse(user_agent: str) -> tuple[str, str, bool]:
    from ua_parser import parse

    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else "Other"
    os_family = result.os.family if result.os else "Other"
    device = result.device.family if result.device else ""
    bot = device == "Spider" or browser.casefold() in _TOOLS or not user_agent
    return browser[:64], os_family[:64], bot


@functools.lru_cache(maxsize=1)
def _reader(path: str):
    import maxminddb

    return maxminddb.open_database(path)


def client_country(address: str) -> str | None:
    """The ISO country code of an address in GEOIP_DATABASE (country and city databases alike), or None."""
    path = settings.GEOIP_DATABASE
    if not path or not address:
        return None
    try:
        record = _reader(str(path)).get(address) or {}
        code = (record.get("country") or {}).get("iso_code")
    except Exception:  # noqa: BLE001 - an address that is not one, or a bad file: no country
        return None
    return code if isinstance(code, str) and len(code) == 2 else None


def client_summary(user_agent: str | None, address: str | None) -> ClientSummary:
    browser, os_family, bot = _parse((user_agent or "")[:_UA_LIMIT])
    return ClientSummary(browser=browser, os=os_family, bot=bot, country=client_country(address or ""))
