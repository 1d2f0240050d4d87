"""`manage.py import_links` (shortener/importing.py): Shlink and YOURLS
exports; good rows kept, bad rows reported with their line numbers."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from shortener.models import ShortLink

pytestmark = pytest.mark.django_db


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)


def run(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_links", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_thousand_row_shlink_export_with_ten_bad_rows_keeps_990(tmp_path, bob):
    rows = [
        [
            "2026-01-01T00:00:00+00:00",
            f"https://s.example/imp{n:04d}",
            f"imp{n:04d}",
            f"https://example.com/page/{n}",
            "",
            "",
            "3",
        ]
        for n in range(1000)
    ]
    bad = {
        5: "javascript:alert(1)",  # not http(s)
        77: "http://127.0.0.1/admin",  # loopback
        150: "",  # no target
        222: "ftp://example.com/x",
        300: "https://exa mple.com/",
    }
    for index, target in bad.items():
        rows[index][3] = target
    rows[400][2] = "ab"  # a key too short
    rows[500][2] = "imp0001"  # a key taken by an earlier row
    rows[600][2] = "admin"  # reserved
    rows[700].append("")  # harmless extra cell
    rows[800][2] = "bad key!"
    rows[900][2] = "imp0999"  # taken later: row 999 is the bad one then
    header = ["createdAt", "shortUrl", "shortCode", "longUrl", "title", "tags", "visits"]
    write_csv(tmp_path / "shlink.csv", header, rows)
    out, err = run(tmp_path / "shlink.csv", "--user", "bob")
    assert "990 link(s) imported, 10 row(s) refused." in out
    lines = sorted(int(line.split(":")[0].removeprefix("line ")) for line in err.strip().splitlines())
    assert lines == sorted(index + 2 for index in [*bad, 400, 500, 600, 800, 999])
    assert ShortLink.objects.filter(owner=bob).count() == 990
    assert ShortLink.objects.get(key="imp0042").target_url == "https://example.com/page/42"


def test_a_yourls_export_reads_its_keyword_and_url_columns(tmp_path):
    header = ["keyword", "url", "title", "timestamp", "ip", "clicks"]
    write_csv(
        tmp_path / "yourls.csv",
        header,
        [["docs1", "https://example.org/docs", "Docs", "2020-01-01 10:00:00", "1.2.3.4", "12"]],
    )
    out, _err = run(tmp_path / "yourls.csv")
    assert "1 link(s) imported, 0 row(s) refused." in out
    link = ShortLink.objects.get(key="docs1")
    assert (link.target_url, link.owner, link.visit_count) == ("https://example.org/docs", None, 0)


def test_expiry_and_visit_limit_columns(tmp_path):
    header = ["shortCode", "longUrl", "validUntil", "maxVisits"]
    write_csv(
        tmp_path / "limits.csv",
        header,
        [
            ["limit1", "https://example.org/1", "2099-01-01T00:00:00Z", "5"],
            ["limit2", "https://example.org/2", "2001-01-01T00:00:00Z", ""],
            ["limit3", "https://example.org/3", "", "many"],
        ],
    )
    out, err = run(tmp_path / "limits.csv")
    assert "1 link(s) imported, 2 row(s) refused." in out
    assert "line 3" in err and "line 4" in err
    assert ShortLink.objects.get(key="limit1").max_visits == 5


def test_a_file_without_a_target_column_or_unreadable_is_refused(tmp_path):
    write_csv(tmp_path / "odd.csv", ["a", "b"], [["1", "2"]])
    with pytest.raises(CommandError, match="nothing was imported"):
        run(tmp_path / "odd.csv")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CommandError):
        run(tmp_path / "binary.csv")
    with pytest.raises(CommandError, match="No such user"):
        run(tmp_path / "odd.csv", "--user", "nobody-such")
    assert not ShortLink.objects.exists()
