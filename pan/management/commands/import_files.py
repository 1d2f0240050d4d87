from contextlib import ExitStack
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pan.services import IncomingFile, share_create
from project.lib.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Share files from disk for a user as one share (a folder keeps its relative paths), through the same "
        "service as uploads; prints the link and code."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="the owner's username")
        parser.add_argument("paths", nargs="+", metavar="PATH", help="files, or folders (their files, recursively)")
        parser.add_argument("--title", default="")
        parser.add_argument("--expires-in", type=int, default=None, help="seconds (0 = never; default from settings)")
        parser.add_argument("--max-downloads", type=int, default=None)
        parser.add_argument("--base-url", default=settings.PUBLIC_BASE_URL, help="start of the printed links")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        entries = self._entries([Path(p) for p in options["paths"]])
        total = sum(path.stat().st_size for path, _name in entries)
        base = options["base_url"].rstrip("/")
        with ExitStack() as stack:
            bar = stack.enter_context(
                tqdm(total=total, unit="B", unit_scale=True, desc="import", file=self.stderr, leave=False, disable=None)
            )
            files = [
                IncomingFile(stack.enter_context(path.open("rb")), name, progress=bar.update) for path, name in entries
            ]
            try:
                share = share_create(
                    owner=user,
                    files=files,
                    title=options["title"],
                    expires_in=options["expires_in"],
                    max_downloads=options["max_downloads"],
                )
            except ApplicationError as exc:
                raise CommandError(f"{exc.message} {exc.fields or ''}".strip()) from exc
        for item in share.items.all():
            self.stdout.write(f"{item.path}\t{item.size}\tsha256 {item.sha256}")
        self.stdout.write(f"{base}{share.share_path()}\tcode {share.code_display}")

    def _entries(self, paths: list[Path]) -> list[tuple[Path, str]]:
        """(file, name in the share): a folder's files keep their path below the folder's parent."""
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise CommandError(f"not a file or folder: {', '.join(missing)}")
        entries = []
        for path in paths:
            if path.is_dir():
                entries += [(f, f.relative_to(path.parent).as_posix()) for f in sorted(path.rglob("*")) if f.is_file()]
            else:
                entries.append((path, path.name))
        if not entries:
            raise CommandError("no files to import")
        return entries
