from django.core.management.base import BaseCommand

from pan.services import share_purge_expired


class Command(BaseCommand):
    help = (
        "Remove expired, used-up, long-revoked and abandoned shares (rows and stored bytes, whatever leases "
        "their downloads left), stale download grants, and upload leftovers of killed processes."
    )

    def handle(self, *args, **options):
        purged, leftovers = share_purge_expired()
        for share in purged:
            self.stdout.write(f"removed {share.unique_name} {share.title!r} of {share.owner} ({share.reason})")
        for line in leftovers:
            self.stdout.write(f"removed leftover {line}")
        self.stdout.write(self.style.SUCCESS(f"{len(purged)} share(s) and {len(leftovers)} leftover(s) removed."))
