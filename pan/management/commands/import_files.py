from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pan.services import shared_file_create
from project.lib.errors import ApplicationError


class Command(BaseCommand):
    help = "Share files from disk for a user, through the same service as uploads; prints each link and code."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="the owner's username")
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--expires-in", type=int, default=None, help="seconds (0 = never; default from settings)")
        parser.add_argument("--max-downloads", type=int, default=None)
        parser.add_argument("--base-url", default=settings.PUBLIC_BASE_URL, help="start of the printed links")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        paths = [Path(p) for p in options["paths"]]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise CommandError(f"not a file: {', '.join(missing)}")
        base = options["base_url"].rstrip("/")
        failures = 0
        for path in paths:
            with (
                path.open("rb") as source,
                tqdm(
                    total=path.stat().st_size,
                    unit="B",
                    unit_scale=True,
                    desc=path.name,
                    file=self.stderr,
                    leave=False,
                    disable=None,
                ) as bar,
            ):
                try:
                    shared_file = shared_file_create(
                        owner=user,
                        content=source,
                        file_name=path.name,
                        expires_in=options["expires_in"],
                        max_downloads=options["max_downloads"],
                        progress=bar.update,
                    )
                except ApplicationError as exc:
                    failures += 1
                    self.stderr.write(f"{path}: {exc.message} {exc.fields or ''}")
                    continue
            self.stdout.write(
                f"{path}\t{base}{shared_file.share_path()}\tcode {shared_file.share_code}\tsha256 {shared_file.sha256}"
            )
        if failures:
            raise CommandError(f"{failures} file(s) were not imported")
