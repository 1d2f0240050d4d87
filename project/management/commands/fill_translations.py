"""Fill the Chinese catalog from `locale/zh_Hans/*.json` and compile it.

Each app keeps its translations in its own JSON file (msgid -> msgstr, or a
list of forms for plurals), so work on different apps never edits the same
lines. `make messages` runs `makemessages` then this command; the `.po` and
`.mo` it writes are committed, so a fresh machine needs no gettext.
"""

import json
from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Fill locale/zh_Hans/LC_MESSAGES/django.po from locale/zh_Hans/*.json and compile django.mo."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Fail if any message has no translation.")

    def handle(self, *args, check=False, **options):
        locale_dir = Path(settings.BASE_DIR) / "locale" / "zh_Hans"
        translations: dict[str, str | list[str]] = {}
        for source in sorted(locale_dir.glob("*.json")):
            translations.update(json.loads(source.read_text(encoding="utf-8")))

        po_path = locale_dir / "LC_MESSAGES" / "django.po"
        catalog = polib.pofile(str(po_path))
        catalog.metadata.update(
            {
                "Language": "zh_Hans",
                "Content-Type": "text/plain; charset=UTF-8",
                "Plural-Forms": "nplurals=1; plural=0;",
            }
        )
        missing = []
        for entry in catalog:
            if entry.obsolete:
                continue
            value = translations.get(entry.msgid)
            if value is None:
                missing.append(entry.msgid)
                continue
            if entry.msgid_plural:
                forms = value if isinstance(value, list) else [value]
                entry.msgstr_plural = dict(enumerate(forms))
            else:
                entry.msgstr = value
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
        catalog.save(str(po_path))
        catalog.save_as_mofile(str(po_path.with_suffix(".mo")))
        for msgid in missing:
            self.stderr.write(f"untranslated: {msgid!r}")
        if check and missing:
            raise CommandError(f"{len(missing)} message(s) without a Chinese translation")
        self.stdout.write(f"{len(catalog) - len(missing)} translated, {len(missing)} missing")
