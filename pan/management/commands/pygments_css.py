from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pan.texts import PYGMENTS_CSS_PATH, pygments_css


class Command(BaseCommand):
    help = (
        f"Write {PYGMENTS_CSS_PATH} (the colours of code on share pages, light and dark) from Pygments; "
        "run it after upgrading Pygments or changing the styles in pan/texts.py."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Fail if the file differs from what would be written.")

    def handle(self, *args, check=False, **options):
        path = Path(settings.BASE_DIR) / PYGMENTS_CSS_PATH
        css = pygments_css()
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != css:
                raise CommandError(f"{PYGMENTS_CSS_PATH} is out of date: run `python manage.py pygments_css`.")
            self.stdout.write(f"{PYGMENTS_CSS_PATH} is up to date.")
            return
        path.write_text(css, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote {PYGMENTS_CSS_PATH} ({len(css)} bytes)."))
