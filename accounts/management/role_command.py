from django.core.management.base import BaseCommand, CommandError

from project.lib.errors import ApplicationError


class RoleCommand(BaseCommand):
    """`manage.py grant_role|revoke_role USER ROLE`: one service call each."""

    service = None  # accounts.services.role_grant or role_revoke

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role")

    def handle(self, *args, username, role, **options):
        try:
            user = type(self).service(username=username, role=role)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(f"{user.username}: {', '.join(user.role_names()) or '(no roles)'}")
