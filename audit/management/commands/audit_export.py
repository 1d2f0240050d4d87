import sys
from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.services import audit_rows
from project.lib.csvfile import csv_write


def _moment(value: str, option: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"{option} {value!r}: not a date (2026-11-01) or a date and time (2026-11-01T08:00)")
        moment = datetime.combine(day, time.min)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = "Write the audit log from --since (and up to --until) as CSV, oldest first, to stdout or --output."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="a date (2026-11-01) or date and time, in TIME_ZONE")
        parser.add_argument("--until", help="up to (not including) this date or date and time")
        parser.add_argument("--output", help="a file to write instead of stdout")

    def handle(self, *args, since, until, output, **options):
        rows = audit_rows(since=_moment(since, "--since"), until=_moment(until, "--until") if until else None)
        if output:
            with open(output, "w", newline="", encoding="utf-8") as stream:
                written = csv_write(stream, rows)
        else:
            written = csv_write(self.stdout, rows)
        sys.stderr.write(f"{written} event(s) written.\n")
