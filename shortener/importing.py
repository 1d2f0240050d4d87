"""Importing short links from another shortener's CSV export (SPEC §5).

Columns are found by name in the header row (case and `_`/space/`-` ignored),
so the exports of Shlink and YOURLS both read as they are:

- target (required): `longUrl` (Shlink), `url` (YOURLS), `long url`,
  `original url`, `target`;
- key (optional): `shortCode` (Shlink), `keyword` (YOURLS), `key`, `slug`,
  or the last path segment of `shortUrl`;
- expiry (optional): `validUntil` (Shlink), `expiresAt`, `expires` (ISO 8601);
- visit limit (optional): `maxVisits` (Shlink).

Other columns (title, tags, visits, dates, ip…) are ignored. Each row goes
through `short_link_create`, with the validation `POST /api/short` applies;
a row that fails is reported with its line number and why, and the good rows
are kept (each in its own transaction). A key that exists already is a bad
row: links are never overwritten. An expiry already past is a bad row too.
"""

import csv
import io
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from project.lib.errors import ApplicationError

from . import services

_TARGET = {"longurl", "url", "originalurl", "target", "targeturl"}
_KEY = {"shortcode", "keyword", "key", "slug"}
_SHORT_URL = {"shorturl"}
_EXPIRY = {"validuntil", "expiresat", "expires", "expiry"}
_MAX_VISITS = {"maxvisits"}


def _normal(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name or "").casefold()


@dataclass
class ImportResult:
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _column(header: list[str], names: set[str]) -> int | None:
    return next((index for index, name in enumerate(header) if _normal(name) in names), None)


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def links_import(*, stream, owner=None) -> ImportResult:
    """Read a CSV export from a text stream and create its links for `owner`."""
    reader = csv.reader(stream)
    result = ImportResult()
    try:
        header = next(reader)
    except StopIteration:
        result.errors.append((1, "the file is empty"))
        return result
    except csv.Error as exc:
        result.errors.append((1, f"not CSV: {exc}"))
        return result
    columns = {
        "target": _column(header, _TARGET),
        "key": _column(header, _KEY),
        "short_url": _column(header, _SHORT_URL),
        "expiry": _column(header, _EXPIRY),
        "max_visits": _column(header, _MAX_VISITS),
    }
    if columns["target"] is None:
        result.errors.append((1, "no target column (longUrl or url) in the header"))
        return result
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.errors.append((reader.line_num, f"not CSV: {exc}"))
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        try:
            _import_row(row, columns, owner)
        except (ApplicationError, ValueError) as exc:
            result.errors.append((line, str(getattr(exc, "message", exc))))
            continue
        result.created += 1
    return result


def _import_row(row: list[str], columns: dict, owner) -> None:
    target = _cell(row, columns["target"])
    if not target:
        raise ValueError("no target URL")
    key = _cell(row, columns["key"])
    if not key and columns["short_url"] is not None:
        key = _cell(row, columns["short_url"]).rstrip("/").rsplit("/", 1)[-1]
    expiry = None
    if raw := _cell(row, columns["expiry"]):
        expiry = parse_datetime(raw)
        if expiry is None:
            raise ValueError(f"expiry {raw[:40]!r} is not an ISO 8601 date and time")
        if timezone.is_naive(expiry):
            expiry = timezone.make_aware(expiry)
    max_visits = None
    if raw := _cell(row, columns["max_visits"]):
        if not raw.isdigit():
            raise ValueError(f"visit limit {raw[:20]!r} is not a whole number")
        max_visits = int(raw)
    with transaction.atomic():
        link, created = services.short_link_create(
            url=target, owner=owner, slug=key or None, expires_at=expiry, max_visits=max_visits
        )
    if key and not created:
        raise ValueError(f"the key {key!r} exists already")


def links_import_text(text: str, *, owner=None) -> ImportResult:
    return links_import(stream=io.StringIO(text), owner=owner)
