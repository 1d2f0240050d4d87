from django.core.management.base import BaseCommand

from audit.services import audit_addresses_hash
from pan.services import share_purge_expired


class Command(BaseCommand):
    help = (
        "Remove expired, used-up, long-revoked and abandoned shares (rows and stored bytes, whatever leases "
        "their downloads left), stale download grants, and upload leftovers of killed processes; replace "
        "client addresses in the audit log older than AUDIT_ADDRESS_RETENTION days by a keyed hash."
    )

    def handle(self, *args, **options):
        purged, leftovers = share_purge_expired()
        for share in purged:
            self.stdout.write(f"removed {share.unique_name} {share.title!r} of {share.owner} ({share.reason})")
        for line in leftovers:
            self.stdout.write(f"removed leftover {line}")
        hashed = audit_addresses_hash()
        self.stdout.write(self.style.SUCCESS(f"{len(purged)} share(s) and {len(leftovers)} leftover(s) removed."))
        self.stdout.write(f"{hashed} audit client address(es) replaced by their keyed hash.")
