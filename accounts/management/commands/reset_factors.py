from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.factors import user_factors_reset


class Command(BaseCommand):
    help = (
        "Take away every second factor (authenticator app, passkeys, recovery codes) of a user "
        "who lost them; they sign in with their password again and set up a new one. Audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        removed = user_factors_reset(user=user, by=None)
        self.stdout.write(
            f"{user.username}: removed {removed['totp']} authenticator app(s), {removed['passkeys']} passkey(s), "
            f"{removed['recovery_codes']} recovery code(s)"
        )
