from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from shortener.importing import links_import


class Command(BaseCommand):
    help = (
        "Import short links from a CSV export of Shlink or YOURLS (columns by name; see shortener/importing.py). "
        "Good rows are kept; bad rows are reported with their line numbers."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file (UTF-8)")
        parser.add_argument("--user", help="the owner of the imported links (default: nobody)")

    def handle(self, *args, file, user=None, **options):
        owner = None
        if user:
            owner = get_user_model().objects.filter(username=user).first()
            if owner is None:
                raise CommandError(f"No such user: {user}")
        try:
            with open(file, encoding="utf-8-sig", newline="") as stream:
                result = links_import(stream=stream, owner=owner)
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {file}: {exc}") from exc
        for line, reason in result.errors:
            self.stderr.write(f"line {line}: {reason}")
        self.stdout.write(f"{result.created} link(s) imported, {len(result.errors)} row(s) refused.")
        if result.created == 0 and result.errors:
            raise CommandError("nothing was imported")
