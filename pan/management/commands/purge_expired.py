from django.core.management.base import BaseCommand

from pan.services import shared_file_purge_expired


class Command(BaseCommand):
    help = "Remove expired, used-up and long-revoked shared files: rows and stored bytes."

    def handle(self, *args, **options):
        purged = shared_file_purge_expired()
        for item in purged:
            self.stdout.write(f"removed {item.unique_name} {item.file_name!r} of {item.owner} ({item.reason})")
        self.stdout.write(self.style.SUCCESS(f"{len(purged)} file(s) removed."))
