"""CSV that is safe to open in a spreadsheet (audit export, link statistics, share export).

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is run
as a formula by Excel and LibreOffice (OWASP: CSV injection); such a cell
gets a leading `'`, which spreadsheets show as text.
"""

import csv
from collections.abc import Iterable

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_write(stream, rows: Iterable[Iterable]) -> int:
    """Write rows (the header first) to a text stream; return how many rows followed the header."""
    writer = csv.writer(stream)
    written = 0
    for written, row in enumerate(rows):  # noqa: B007 - the count is the result
        writer.writerow([safe_cell(cell) for cell in row])
    return written
