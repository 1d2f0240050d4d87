from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from project.lib.errors import ApplicationError
from shortener import services


class Command(BaseCommand):
    help = "Shorten a URL and print the short link (SHORT_LINK_BASE_URL, else PUBLIC_BASE_URL)."

    def add_arguments(self, parser):
        parser.add_argument("url")
        parser.add_argument("--slug", help="a custom name (3-64 of A-Z a-z 0-9 _ -)")
        parser.add_argument("--user", help="the owner's username (default: nobody)")
        parser.add_argument("--expires-at", help="ISO 8601 date and time, in the future")
        parser.add_argument("--max-visits", type=int, help="visits allowed before the link answers 410")

    def handle(self, *args, url, slug=None, user=None, expires_at=None, max_visits=None, **options):
        owner = None
        if user:
            owner = get_user_model().objects.filter(username=user).first()
            if owner is None:
                raise CommandError(f"No such user: {user}")
        expiry = None
        if expires_at:
            expiry = parse_datetime(expires_at)
            if expiry is None:
                raise CommandError("--expires-at must be an ISO 8601 date and time")
            if timezone.is_naive(expiry):
                expiry = timezone.make_aware(expiry)
        try:
            link, _created = services.short_link_create(
                url=url, slug=slug, owner=owner, expires_at=expiry, max_visits=max_visits
            )
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(services.short_link_url(key=link.key))
