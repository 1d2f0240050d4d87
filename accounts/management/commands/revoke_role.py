from django.core.management.base import BaseCommand, CommandError

from accounts import services
from project.lib.errors import ApplicationError


class Command(BaseCommand):
    help = "Revoke a role (admin, users, or any other group) from a user."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role")

    def handle(self, *args, username, role, **options):
        try:
            user = services.role_revoke(username=username, role=role)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(f"{user.username}: {', '.join(user.role_names()) or '(no roles)'}")
