"""Render the app icons (static/apple-touch-icon.png, icon-192.png, icon-512.png)
from static/favicon.svg with Debian's Chromium. A development tool: run it
after changing the favicon (needs the dev requirements' Playwright)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

ICONS = ((180, "apple-touch-icon.png"), (192, "icon-192.png"), (512, "icon-512.png"))


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def handle(self, *args, **options):
        from playwright.sync_api import sync_playwright

        from project.testing import CHROMIUM, CHROMIUM_ARGS

        static = Path(settings.BASE_DIR) / "static"
        svg = (static / "favicon.svg").read_text(encoding="utf-8")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for size, name in ICONS:
                page = browser.new_page(viewport={"width": size, "height": size})
                # Only the root element's size: the shapes inside keep their viewBox units.
                sized = svg.replace('width="32" height="32"', f'width="{size}" height="{size}"', 1)
                page.set_content(f"<style>html,body{{margin:0}}svg{{display:block}}</style>{sized}")
                page.locator("svg").screenshot(path=str(static / name), omit_background=True)
                self.stdout.write(f"wrote static/{name}")
            browser.close()
